"""The first view at once, the next ones in one digest when the window closes, on a hand-driven clock."""
import threading
import time
from dataclasses import replace
from datetime import datetime, timezone

import pytest

from services.notifier.adapters.clock import ManualClock
from services.notifier.adapters.mail import read_maildir
from services.notifier.bootstrap import bootstrap
from services.notifier.domain.model import Preferences

START = datetime(2026, 4, 3, 12, 5, tzinfo=timezone.utc)
IPHONE_SAFARI = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                 "Version/17.4 Mobile/15E148 Safari/604.1")


def wait_for(check, seconds: float = 20.0):  # returns as soon as it holds: patient costs nothing
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.02)
    return check()


@pytest.fixture
def running(cfg):
    """The notifier with a manual clock and its dispatcher loop running (sweeps far away)."""
    clock = ManualClock(START)
    app = bootstrap(replace(cfg, digest_window_seconds=15 * 60, sweep_seconds=3600), clock=clock)
    thread = threading.Thread(target=app.dispatcher.run, daemon=True)
    thread.start()
    yield app, clock
    app.dispatcher.stop()
    thread.join(5)
    assert not thread.is_alive()
    app.engine.dispose()


def subjects(app) -> list[str]:
    return sorted(m["Subject"] for m in read_maildir(app.cfg.mail_sink_dir))


def view_at(portal_event, clock, minutes_later: int, kind: str = "viewed", **fields):
    at = clock.advance(minutes=minutes_later)
    return portal_event(kind, at=at.isoformat().replace("+00:00", "Z"), **fields)


def test_views_in_the_window_become_one_digest_sent_when_it_closes(running, tenant, portal_event, party):
    app, clock = running
    assignee = party("Jérôme", "jerome@vendeur.example", "+33612345678")
    app.handle_event(view_at(portal_event, clock, 0, quote_id="q-1", assignee=assignee))
    assert wait_for(lambda: subjects(app)) == ["Devis DV-2026-0042 consulté par zoe@client.example"]
    app.handle_event(view_at(portal_event, clock, 4, quote_id="q-1", assignee=assignee))
    app.handle_event(view_at(portal_event, clock, 6, quote_id="q-1", assignee=assignee,
                             recipient_email="paul@client.example"))
    time.sleep(0.3)
    assert len(subjects(app)) == 1  # gathered, not sent
    clock.advance(minutes=4, seconds=59)  # 14:59 after the first view: still open
    time.sleep(0.3)
    assert len(subjects(app)) == 1
    clock.advance(seconds=1)  # the window closes; nobody wakes the dispatcher but the clock
    digest = wait_for(lambda: [m for m in read_maildir(app.cfg.mail_sink_dir) if "2 fois" in m["Subject"]])
    assert [m["Subject"] for m in digest] == ["Devis DV-2026-0042 consulté 2 fois de plus"]
    text = digest[0].get_body(("plain",)).get_content()
    assert "- le 3 avril 2026 à 14:09 par zoe@client.example" in text  # 12:09 UTC in Paris
    assert "- le 3 avril 2026 à 14:15 par paul@client.example" in text
    [first, gathered] = [d for d in app.list_deliveries(tenant, "q-1")]
    assert (first.template, gathered.template) == ("quote_viewed", "quote_viewed_digest")
    assert gathered.event_id.startswith("digest:") and gathered.status == "sent"
    # After the window: the next view is told at once again.
    app.handle_event(view_at(portal_event, clock, 30, quote_id="q-1", assignee=assignee))
    assert wait_for(lambda: len(subjects(app)) == 3)


def test_the_digest_follows_the_preferences_and_goes_by_sms_too(running, tenant, portal_event, party):
    app, clock = running
    assignee = party("Jérôme", "jerome@vendeur.example", "+33612345678")
    app.set_preferences(tenant, Preferences(user_id=assignee.id, on_view_email=False, on_view_sms=True))
    for minutes in (0, 1, 2):
        app.handle_event(view_at(portal_event, clock, minutes, quote_id="q-2", assignee=assignee))
    clock.advance(minutes=15)
    lines = wait_for(lambda: app.sms.lines() if len(app.sms.lines()) == 2 else None)
    assert lines[1]["text"].startswith("Le devis DV-2026-0042 a de nouveau été consulté 2 fois")
    assert read_maildir(app.cfg.mail_sink_dir) == []


@pytest.mark.parametrize("outcome", ["completed", "declined"])
def test_views_gathered_before_a_signature_or_decline_are_still_reported(running, tenant, portal_event,
                                                                         signature_event, party, outcome):
    """The manual: notifications « peuvent être activées pour chaque nouvelle action ». Views gathered
    for the digest happened before the quote was signed (or declined): their digest goes at once, with
    the signature's news; a view after it is told nothing."""
    app, clock = running
    assignee = party("Jérôme", "jerome@vendeur.example")
    app.handle_event(view_at(portal_event, clock, 0, quote_id="q-3", assignee=assignee))
    app.handle_event(view_at(portal_event, clock, 1, quote_id="q-3", assignee=assignee))
    app.handle_event(view_at(portal_event, clock, 2, quote_id="q-3", assignee=assignee,
                             user_agent=IPHONE_SAFARI))
    app.handle_event(signature_event(outcome, "q-3", assignee=assignee))
    digest = wait_for(lambda: [m for m in read_maildir(app.cfg.mail_sink_dir) if "2 fois" in m["Subject"]])
    assert [m["Subject"] for m in digest] == ["Devis DV-2026-0042 consulté 2 fois de plus"]
    text = digest[0].get_body(("plain",)).get_content()
    assert "- le 3 avril 2026 à 14:06 par zoe@client.example, Firefox (adresse IP : 203.0.113.7)" in text
    assert "- le 3 avril 2026 à 14:08 par zoe@client.example, Safari sur iPhone" in text
    clock.advance(minutes=20)
    app.handle_event(view_at(portal_event, clock, 1, quote_id="q-3", assignee=assignee))
    time.sleep(0.3)
    deliveries = app.list_deliveries(tenant, "q-3")
    expected = ["signature_confirmation", "signed_copy"] if outcome == "completed" else ["signature_declined"]
    assert sorted(d.template for d in deliveries) == sorted(["quote_viewed", "quote_viewed_digest", *expected])


def test_a_window_of_zero_tells_every_view_at_once(cfg, tenant, portal_event):
    app = bootstrap(replace(cfg, digest_window_seconds=0), clock=ManualClock(START))
    for _ in range(3):
        app.handle_event(portal_event("viewed", quote_id="q-4"))
    assert [d.template for d in app.list_deliveries(tenant, "q-4")] == ["quote_viewed"] * 3


def test_a_thousand_downloads_give_one_alert_at_once_and_one_digest(running, tenant, portal_event, party):
    """Downloads follow the rule of views: 1,000 downloads in the window made 1,000 « téléchargé » emails."""
    app, clock = running
    assignee = party("Jérôme", "jerome@vendeur.example", "+33612345678")
    app.handle_event(view_at(portal_event, clock, 0, "downloaded", quote_id="q-9", assignee=assignee))
    assert wait_for(lambda: subjects(app)) == ["Devis DV-2026-0042 téléchargé par zoe@client.example"]
    for _ in range(999):  # all within the window: 14 min 59 s after the first
        app.handle_event(portal_event("downloaded", quote_id="q-9", assignee=assignee,
                                      at=clock.advance(seconds=0.9).isoformat().replace("+00:00", "Z")))
    clock.advance(seconds=15 * 60 - 999 * 0.9 - 1)  # 14:59 after the first: still open
    time.sleep(0.3)
    assert len(subjects(app)) == 1  # gathered, not sent
    clock.advance(seconds=1)  # the window closes
    digest = wait_for(lambda: [m for m in read_maildir(app.cfg.mail_sink_dir) if "999 fois" in m["Subject"]])
    assert [m["Subject"] for m in digest] == ["Devis DV-2026-0042 téléchargé 999 fois de plus"]
    text = digest[0].get_body(("plain",)).get_content()
    assert text.count("- le 3 avril 2026 à ") == 999 and "Ces téléchargements sont enregistrés" in text
    assert sorted(d.template for d in app.list_deliveries(tenant, "q-9")) == ["quote_downloaded",
                                                                               "quote_downloaded_digest"]
    # After the window: the next download is told at once again.
    app.handle_event(view_at(portal_event, clock, 30, "downloaded", quote_id="q-9", assignee=assignee))
    assert wait_for(lambda: len(subjects(app)) == 3)


def test_downloads_and_views_each_have_their_window_and_their_preferences(running, tenant, portal_event, party):
    app, clock = running
    assignee = party("Jérôme", "jerome@vendeur.example", "+33612345678")
    app.set_preferences(tenant, Preferences(user_id=assignee.id, on_view_email=True, on_download_email=False,
                                            on_download_sms=True))
    app.handle_event(view_at(portal_event, clock, 0, quote_id="q-10", assignee=assignee))
    for minutes in (1, 1, 1):
        app.handle_event(view_at(portal_event, clock, minutes, "downloaded", quote_id="q-10", assignee=assignee))
    app.handle_event(view_at(portal_event, clock, 1, quote_id="q-10", assignee=assignee))
    # The first view and the first download at once, each on its channels.
    assert wait_for(lambda: subjects(app)) == ["Devis DV-2026-0042 consulté par zoe@client.example"]
    assert wait_for(lambda: len(app.sms.lines()) == 1)
    clock.advance(minutes=15)
    lines = wait_for(lambda: app.sms.lines() if len(app.sms.lines()) == 2 else None)
    assert lines[1]["text"].startswith("Le devis DV-2026-0042 a de nouveau été téléchargé 2 fois")
    assert wait_for(lambda: subjects(app) == ["Devis DV-2026-0042 consulté 1 fois de plus",
                                              "Devis DV-2026-0042 consulté par zoe@client.example"])


@pytest.mark.parametrize("kind, template", [("viewed", "quote_viewed"), ("downloaded", "quote_downloaded")])
def test_what_a_closed_window_gathered_is_not_lost_when_the_next_action_comes_first(cfg, tenant, portal_event,
                                                                                   kind, template):
    """The dispatcher has not sent the digest yet (busy, restarting) when the next action opens a new window:
    the gathered ones go in their digest first, not into nothing."""
    clock = ManualClock(START)
    app = bootstrap(replace(cfg, digest_window_seconds=15 * 60), clock=clock)  # no dispatcher running
    for minutes in (0, 1, 2, 20):
        app.handle_event(view_at(portal_event, clock, minutes, kind, quote_id="q-11"))
    assert sorted(d.template for d in app.list_deliveries(tenant, "q-11")) == [template, template,
                                                                               f"{template}_digest"]
    app.dispatch_due()
    digest = [m for m in read_maildir(app.cfg.mail_sink_dir) if "2 fois de plus" in m["Subject"]]
    assert len(digest) == 1
