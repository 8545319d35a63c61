"""The notifier's Prometheus counters of emails and SMS sent and failed, read from a real /metrics scrape."""
from __future__ import annotations

import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from quoteflow import observability
from services.notifier.adapters.mail import MailError
from services.notifier.bootstrap import bootstrap
from services.notifier.domain.model import Preferences


def _scrape(port: int) -> dict[tuple[str, str], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
        text = reply.read().decode()
    return {(sample.name, sample.labels.get("channel", "")): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples
            if sample.name in ("quoteflow_messages_sent_total", "quoteflow_messages_failed_total")}


def _delta(before: dict, after: dict) -> dict:
    return {key: after[key] - before.get(key, 0) for key in after if after[key] != before.get(key, 0)}


_PORT: list[int] = []


def _port() -> int:
    if not _PORT:  # one metrics server for the test process
        _PORT.append(observability.serve_metrics("127.0.0.1:0"))
    return _PORT[0]


def test_sent_and_failed_emails_and_sms_are_counted_once_each(app, tenant, quote_sent, portal_event, party):
    before = _scrape(_port())
    app.handle_event(quote_sent())                                            # one email, sent
    app.handle_event(quote_sent(recipient=party("Nobody", "not-an-address")))  # one email, failed at once
    viewer = party("Jérôme Œuvre", "jerome@vendeur.example", "")
    app.set_preferences(tenant, Preferences(user_id=viewer.id, on_download_email=False, on_download_sms=True))
    app.handle_event(portal_event("downloaded", assignee=viewer))               # an SMS without a phone: failed
    assert app.dispatch_due() >= 1
    assert app.dispatch_due() == 0  # nothing left: nothing counted twice
    assert _delta(before, _scrape(_port())) == {
        ("quoteflow_messages_sent_total", "email"): 1,
        ("quoteflow_messages_failed_total", "email"): 1,
        ("quoteflow_messages_failed_total", "sms"): 1,
    }


class _Down:
    def send(self, *args, **kwargs):
        raise MailError("relay refused", transient=False)


def test_an_email_the_relay_refuses_is_counted_failed_not_sent(cfg, tenant, quote_sent):
    app = bootstrap(cfg, mail=_Down())
    try:
        before = _scrape(_port())
        app.handle_event(quote_sent())
        app.dispatch_due()
        assert _delta(before, _scrape(_port())) == {("quoteflow_messages_failed_total", "email"): 1}
    finally:
        app.engine.dispose()
