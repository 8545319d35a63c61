"""quote.sent carries its portal link sealed (quoteflow/sealing.py): the notifier opens it to write it in the
email, and only there; a link sealed for another send (quote, version, tenant) or with another key sends no
email: the delivery log and the quote's history (notification.failed) say why. Events published before links
were sealed carry the link in clear and still send."""
import hashlib
import uuid

from sqlalchemy import select

from quoteflow import sealing
from quoteflow.envelope import Envelope
from services.notifier.adapters import orm
from services.notifier.adapters.mail import read_maildir
from services.notifier.domain.model import FAILED, QUEUED, SENT
from tests.unit.notifier.test_link_secrecy import everything_stored

KEY = sealing.seal_key("", "test-service-key")  # what make_config() gives the notifier


def sealed_send(quote_sent, tenant, *, key=KEY, sealed_for: dict | None = None, **fields) -> tuple[Envelope, str]:
    """(a quote.sent as quotes publishes it now, its link): no link in clear, the link sealed."""
    token = uuid.uuid4().hex + "Ab_-" + uuid.uuid4().hex[:8]
    link = f"https://devis.example/d/{token}"
    token_sha256 = hashlib.sha256(token.encode()).hexdigest()
    envelope = quote_sent(link_url="", link_token_sha256=token_sha256, **fields)
    event = envelope.payload()
    where = {"tenant": tenant, "quote_id": event.quote_id, "version": event.version, "token_sha256": token_sha256,
             **(sealed_for or {})}
    event.sealed_link_url = sealing.seal_link(key, link, **where)
    return Envelope.wrap(event, source="quoteflow/quotes", subject=f"quote/{event.quote_id}", tenant=tenant), link


def events(app) -> list[Envelope]:
    with app.engine.connect() as conn:
        return [Envelope.from_json(body) for body in
                conn.execute(select(orm.outbox.c.body).order_by(orm.outbox.c.id)).scalars()]


def test_the_sealed_link_is_opened_into_the_email_and_kept_nowhere_else(app, tenant, quote_sent, caplog):
    envelope, link = sealed_send(quote_sent, tenant)
    token = link.rsplit("/", 1)[1]
    assert token not in envelope.to_json()
    app.handle_event(envelope)
    [delivery] = app.list_deliveries(tenant, envelope.payload().quote_id)
    assert delivery.status == QUEUED
    with app.uow() as uow:
        draft = bytes(uow.deliveries.get(delivery.id).payload).decode()
    assert token in draft  # the queued email, and nothing else: not the read model, the log, the inbox
    assert everything_stored(app).count(token) == draft.count(token)
    app.dispatch_due()
    [message] = read_maildir(app.cfg.mail_sink_dir)
    assert f"Accéder au document : {link}" in message.get_body(("plain",)).get_content()
    assert f'href="{link}"' in message.get_body(("html",)).get_content()
    [delivery] = app.list_deliveries(tenant, envelope.payload().quote_id)
    assert delivery.status == SENT
    assert token not in everything_stored(app) and token not in caplog.text


def test_an_event_published_before_links_were_sealed_still_sends_its_clear_link(app, tenant, quote_sent):
    envelope = quote_sent()
    link = envelope.payload().link_url
    assert link and not envelope.payload().sealed_link_url
    app.handle_event(envelope)
    app.dispatch_due()
    [message] = read_maildir(app.cfg.mail_sink_dir)
    assert f"Accéder au document : {link}" in message.get_body(("plain",)).get_content()


def refused(app, tenant, envelope) -> None:
    """No email, one failed delivery that says why, and the quote's history hears of it."""
    app.handle_event(envelope)
    [delivery] = app.list_deliveries(tenant, envelope.payload().quote_id)
    assert (delivery.status, delivery.recipient, delivery.template) == (FAILED, "zoe@client.example", "quote_send")
    assert delivery.error.startswith("le lien du devis reçu du service quotes ne peut pas être ouvert")
    assert "CODE_SEAL_KEY" in delivery.error
    [failed] = events(app)
    assert failed.type == "notification.failed" and failed.payload().error == delivery.error
    assert failed.payload().cause_event_id == envelope.id
    app.dispatch_due()
    assert read_maildir(app.cfg.mail_sink_dir) == []
    with app.uow() as uow:  # the quote is still known: later notices of it find its variables
        assert uow.sent_quotes.variables(tenant, envelope.payload().quote_id)["quote_number"] == "DV-2026-0042"


def test_a_sealed_link_moved_onto_another_quotes_event_sends_nothing_and_says_why(app, tenant, quote_sent, caplog):
    envelope, link = sealed_send(quote_sent, tenant, sealed_for={"quote_id": "q-other"})
    refused(app, tenant, envelope)
    assert link.rsplit("/", 1)[1] not in everything_stored(app) + caplog.text
    assert "cannot be opened" in caplog.text


def test_a_link_sealed_for_another_version_tenant_or_send_or_with_another_key_is_refused(
        app, tenant, quote_sent):
    for wrong in ({"sealed_for": {"version": 2}}, {"sealed_for": {"tenant": "tenant-other"}},
                  {"sealed_for": {"token_sha256": "0" * 64}}, {"key": sealing.seal_key("another", "")}):
        envelope, _ = sealed_send(quote_sent, tenant, **wrong)
        app.handle_event(envelope)
        [delivery] = app.list_deliveries(tenant, envelope.payload().quote_id)
        assert delivery.status == FAILED and "CODE_SEAL_KEY" in delivery.error


def test_an_event_with_no_link_at_all_sends_nothing_and_says_why(app, tenant, quote_sent):
    refused(app, tenant, quote_sent(link_url=""))
