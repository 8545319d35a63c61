import threading
import time

from sqlalchemy import func, select

from quoteflow.bus import EventConsumer, Publisher
from quoteflow.envelope import Envelope
from quoteflow.v1 import common_pb2, events_pb2
from services.signature.adapters import orm
from services.signature.domain import evidence, model
from services.signature.entrypoints.consumer import make_handler


def outbox(app, type_=None) -> list[Envelope]:
    with app.engine.connect() as conn:
        rows = conn.execute(select(orm.outbox.c.body).order_by(orm.outbox.c.id)).scalars().all()
    found = [Envelope.from_json(body) for body in rows]
    return [e for e in found if type_ is None or e.type == type_]


def latest(app, tenant, quote_id):
    with app.uow() as uow:
        return uow.requests.latest(tenant, quote_id)


def test_quote_sent_opens_a_request_and_emits_signature_requested(app, send, tenant):
    sent = send()
    p = sent.payload()
    request = latest(app, tenant, p.quote_id)
    assert request.status == model.OPEN and request.version == 1 and request.number == "DV-2026-00042"
    assert request.document_sha256 == p.pdf_sha256
    assert request.signer == model.Party(id="contact-7", name="Zoë Lœwy", email="zoe@client.fr")
    assert request.assignee.phone == "+33612345678"
    assert request.consent_text == (
        "En signant, j'accepte le devis n° DV-2026-00042 d'un montant de 1\u202f234,56\xa0€ TTC.")
    assert [e.step for e in request.evidence] == ["sent"]
    evidence.verify_chain(request.evidence)
    [requested] = outbox(app, "signature.requested")
    assert requested.tenant == tenant and requested.subject == f"quote/{p.quote_id}"
    assert requested.correlation_id == sent.id
    r = requested.payload()
    assert (r.request_id, r.quote_id, r.version, r.signer_email, r.document_sha256) == (
        request.id, p.quote_id, 1, "zoe@client.fr", p.pdf_sha256)


def test_redelivery_changes_nothing(app, send, consume, tenant):
    sent = send()
    consume(sent)
    consume(sent)
    with app.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(orm.requests)).scalar() == 1
        assert conn.execute(select(func.count()).select_from(orm.evidence)).scalar() == 1
    assert len(outbox(app, "signature.requested")) == 1


def test_without_signature_requested_no_request_is_opened(app, send, tenant):
    sent = send(signature_requested=False)
    assert latest(app, tenant, sent.payload().quote_id) is None
    assert outbox(app) == []


def test_a_newer_version_supersedes_the_open_request(app, send, tenant):
    first = send(version=1)
    quote_id = first.payload().quote_id
    send(quote_id, version=2)
    with app.uow() as uow:
        v1, = [r for r in uow.requests.for_quote(tenant, quote_id) if r.version == 1]
        v2 = uow.requests.latest(tenant, quote_id)
    assert v1.status == model.SUPERSEDED and [e.step for e in v1.evidence] == ["sent", "superseded"]
    evidence.verify_chain(v1.evidence)
    assert v2.version == 2 and v2.status == model.OPEN


def test_a_late_older_version_is_born_superseded(app, send, tenant):
    newer = send(version=3)
    quote_id = newer.payload().quote_id
    send(quote_id, version=2)
    with app.uow() as uow:
        statuses = {r.version: r.status for r in uow.requests.for_quote(tenant, quote_id)}
    assert statuses == {3: model.OPEN, 2: model.SUPERSEDED}
    assert len(outbox(app, "signature.requested")) == 1


def test_other_tenants_do_not_see_the_request(app, send, tenant):
    sent = send()
    assert latest(app, "someone-else", sent.payload().quote_id) is None


def test_through_the_broker_the_consumer_opens_the_request_and_the_relay_publishes(app, blobs, tenant, cfg):
    url = cfg.common.broker_url
    consumer = EventConsumer(url, "signature", make_handler(app), max_attempts=2, backoff=0.01)
    worker = threading.Thread(target=consumer.run, daemon=True)
    worker.start()
    pdf_sha = blobs.put(b"%PDF-1.4 not really")
    payload = events_pb2.QuoteSent(quote_id="q-bus", number="DV-9", version=1, signature_requested=True,
                                   pdf_sha256=pdf_sha, recipient=common_pb2.Party(email="a@b.fr"),
                                   snapshot=common_pb2.QuoteSnapshot(totals=common_pb2.Totals(total_ttc="10")))
    publisher = Publisher(url)
    envelope = Envelope.wrap(payload, source="quoteflow/quotes", subject="quote/q-bus", tenant=tenant)
    publisher.publish(envelope.type, envelope.to_json(), envelope.id)
    try:
        deadline = time.monotonic() + 10
        while latest(app, tenant, "q-bus") is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert latest(app, tenant, "q-bus").status == model.OPEN
    finally:
        consumer.stop()
        worker.join(5)
        publisher.close()
    assert app.relay.publish_pending() == 1
    assert app.relay.status()[0] == 0
