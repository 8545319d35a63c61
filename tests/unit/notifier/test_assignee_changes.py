"""quote.assignee_changed: the notices of a quote go to the salesperson now in charge of it, whatever assignee
the portal's and the signature's events still carry (their copies of an older quote.sent)."""
import json
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from quoteflow.envelope import Envelope, rfc3339, utcnow
from quoteflow.errors import NotFound
from quoteflow.v1 import events_pb2
from services.notifier.adapters.clock import ManualClock
from services.notifier.adapters.mail import read_maildir
from services.notifier.bootstrap import bootstrap
from services.notifier.domain.model import Preferences


@pytest.fixture
def people(party):
    return (party("Jérôme Œuvre", "jerome@vendeur.example", "+33612345678", id_="u-jerome"),
            party("Béatrice Roux", "beatrice@vendeur.example", "+33698765432", id_="u-beatrice"))


def changed(tenant: str, quote_id: str, assignee, *, at: datetime | None = None, previous: str = "u-jerome"):
    event = events_pb2.QuoteAssigneeChanged(quote_id=quote_id, number="DV-2026-0042", previous_assignee_id=previous,
                                            changed_at=rfc3339(at or utcnow()))
    event.assignee.CopyFrom(assignee)
    return Envelope.wrap(event, source="quoteflow/quotes", subject=f"quote/{quote_id}", tenant=tenant)


def mails(app) -> list:
    return read_maildir(app.cfg.mail_sink_dir)


def text(message) -> str:
    return message.get_body(("plain",)).get_content()


def after_the_first_send(app) -> list:
    """The mails but the client's first one (sent before the change, it rightly names the first assignee)."""
    return [m for m in mails(app) if str(m["Subject"]) != "Votre devis DV-2026-0042 – Acme & Fils"]


def to(app, email: str) -> list[str]:
    return sorted(str(m["Subject"]) for m in mails(app) if email in str(m["To"]))


def sent_then_reassigned(app, tenant, quote_sent, people):
    jerome, beatrice = people
    sent = quote_sent(assignee=jerome)
    quote_id = sent.payload().quote_id
    app.handle_event(sent)
    app.handle_event(changed(tenant, quote_id, beatrice))
    app.dispatch_due()
    return quote_id


def test_view_and_download_alerts_go_to_the_new_assignee(app, tenant, quote_sent, portal_event, people):
    jerome, beatrice = people
    quote_id = sent_then_reassigned(app, tenant, quote_sent, people)
    for kind in ("viewed", "downloaded"):  # the portal had not heard of the change yet
        app.handle_event(portal_event(kind, quote_id=quote_id, assignee=jerome))
    app.dispatch_due()
    assert to(app, "beatrice@") == ["Devis DV-2026-0042 consulté par Zoé Lefèvre",
                                    "Devis DV-2026-0042 téléchargé par Zoé Lefèvre"]
    assert to(app, "jerome@") == []


def test_the_new_assignees_preferences_decide(app, tenant, quote_sent, portal_event, people):
    jerome, beatrice = people
    app.set_preferences(tenant, Preferences(user_id=beatrice.id, on_view_email=False, on_view_sms=True,
                                            on_download_email=False, on_download_sms=False))
    quote_id = sent_then_reassigned(app, tenant, quote_sent, people)
    app.handle_event(portal_event("viewed", quote_id=quote_id, assignee=jerome))
    app.handle_event(portal_event("downloaded", quote_id=quote_id, assignee=jerome))
    app.dispatch_due()
    sms = [json.loads(line) for line in app.cfg.sms_log.read_text(encoding="utf-8").splitlines()]
    assert [s["to"] for s in sms] == ["+33698765432"]
    assert [m for m in mails(app) if "Devis DV-2026-0042 consulté" in str(m["Subject"])] == []


def test_the_signature_confirmation_and_the_signers_copy_name_the_new_assignee(app, tenant, quote_sent,
                                                                                 signature_event, people):
    jerome, beatrice = people
    quote_id = sent_then_reassigned(app, tenant, quote_sent, people)
    app.handle_event(signature_event("completed", quote_id, assignee=jerome))  # signature's copy: Jérôme
    app.dispatch_due()
    [confirmation] = [m for m in mails(app) if "beatrice@" in str(m["To"])]
    assert "sign" in str(confirmation["Subject"]).lower()
    [copy] = [m for m in mails(app) if "zoe@client.example" in str(m["To"]) and m is not confirmation
              and "sign" in str(m["Subject"]).lower()]
    assert "beatrice@vendeur.example" in str(copy["Reply-To"])
    assert not [m for m in after_the_first_send(app) if "jerome@" in str(m["To"]) + str(m["Reply-To"] or "")]


def test_a_decline_and_the_signing_code_name_the_new_assignee(app, tenant, quote_sent, signature_event, people):
    jerome, _ = people
    quote_id = sent_then_reassigned(app, tenant, quote_sent, people)
    app.handle_event(signature_event("code_requested", quote_id, assignee=jerome))
    app.handle_event(signature_event("declined", quote_id, assignee=jerome))
    app.dispatch_due()
    [declined] = [m for m in mails(app) if "beatrice@" in str(m["To"])]
    assert "Trop cher" in text(declined)
    [code] = [m for m in mails(app) if "zoe@client.example" in str(m["To"]) and "482913" in text(m)]
    assert "beatrice@vendeur.example" in str(code["Reply-To"]) and "Béatrice" in text(code)
    assert not [m for m in after_the_first_send(app) if "jerome@" in str(m["To"]) + str(m["Reply-To"] or "")]


def test_an_older_change_or_a_retried_quote_sent_does_not_bring_the_previous_assignee_back(
        app, tenant, quote_sent, portal_event, people, party):
    jerome, beatrice = people
    first = quote_sent(assignee=jerome)
    quote_id = first.payload().quote_id
    app.handle_event(first)
    relance = quote_sent(quote_id=quote_id, assignee=jerome, kind="relance")  # published before the change
    later = utcnow() + timedelta(milliseconds=1)
    app.handle_event(changed(tenant, quote_id, beatrice, at=later))
    app.handle_event(changed(tenant, quote_id, party("Ancien", "ancien@vendeur.example"),
                             at=later - timedelta(minutes=5)))  # an older change, delivered late
    app.handle_event(relance)  # retried, it arrives after the change
    app.handle_event(portal_event("viewed", quote_id=quote_id, assignee=jerome))
    app.dispatch_due()
    [relance_mail] = [m for m in mails(app) if "zoe@client.example" in str(m["To"])
                      and "Relance" in str(m["Subject"])]
    assert "beatrice@vendeur.example" in str(relance_mail["Reply-To"])
    assert to(app, "beatrice@") == ["Devis DV-2026-0042 consulté par Zoé Lefèvre"]
    assert to(app, "ancien@") == [] and to(app, "jerome@") == []

    time.sleep(0.002)
    newer = quote_sent(quote_id=quote_id, assignee=jerome, kind="relance")  # a relance after it: its own word
    assert newer.time > rfc3339(later)
    app.handle_event(newer)
    app.handle_event(portal_event("downloaded", quote_id=quote_id, assignee=beatrice))
    app.dispatch_due()
    assert to(app, "jerome@") == ["Devis DV-2026-0042 téléchargé par Zoé Lefèvre"]


def test_a_change_heard_before_its_quote_sent_waits_for_it_and_a_redelivery_does_nothing(
        app, tenant, quote_sent, portal_event, people):
    jerome, beatrice = people
    sent = quote_sent(assignee=jerome)
    quote_id = sent.payload().quote_id
    change = changed(tenant, quote_id, beatrice)
    with pytest.raises(NotFound):
        app.handle_event(change)  # the consumer retries it
    app.handle_event(sent)
    app.handle_event(change)
    app.handle_event(change)
    app.handle_event(portal_event("viewed", quote_id=quote_id, assignee=jerome))
    app.dispatch_due()
    assert to(app, "beatrice@") == ["Devis DV-2026-0042 consulté par Zoé Lefèvre"]


def test_views_waiting_for_their_digest_go_to_the_new_assignee(cfg, tenant, quote_sent, portal_event, people):
    jerome, beatrice = people
    clock = ManualClock(datetime(2026, 4, 3, 12, 5, tzinfo=timezone.utc))
    app = bootstrap(replace(cfg, digest_window_seconds=15 * 60), clock=clock)
    try:
        sent = quote_sent(assignee=jerome)
        quote_id = sent.payload().quote_id
        app.handle_event(sent)
        app.handle_event(portal_event("viewed", quote_id=quote_id, assignee=jerome))  # told at once
        app.handle_event(portal_event("viewed", quote_id=quote_id, assignee=jerome, recipient_email="paul@x.fr"))
        app.handle_event(changed(tenant, quote_id, beatrice))
        clock.advance(minutes=16)
        app.dispatch_due()
        app.dispatch_due()
        assert to(app, "jerome@") == ["Devis DV-2026-0042 consulté par Zoé Lefèvre"]
        assert to(app, "beatrice@") == ["Devis DV-2026-0042 consulté 1 fois de plus"]
    finally:
        app.engine.dispose()
