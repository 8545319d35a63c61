"""quote.withdrawn closes the quote's open request: it can no longer be signed, declined or asked a code."""
import grpc

from quoteflow.envelope import Envelope
from quoteflow.v1 import events_pb2, signature_pb2
from services.signature.domain import evidence, model
from tests.integration.signature.support import AUTH, error_of, outbox, reason_of, sign_request


def withdrawn(sent: Envelope, version: int | None = None) -> Envelope:
    p = sent.payload()
    return Envelope.wrap(events_pb2.QuoteWithdrawn(quote_id=p.quote_id, number=p.number,
                                                   version=p.version if version is None else version,
                                                   reason="Erreur de tarif", withdrawn_at="2026-12-08T09:00:00Z"),
                         source="quoteflow/quotes", subject=f"quote/{p.quote_id}", tenant=sent.tenant)


def test_a_withdrawn_quote_can_no_longer_be_signed_declined_or_sent_a_code(app, grpc_stub, send, consume, tenant):
    sent = send(signature_otp="email")
    event = withdrawn(sent)
    consume(event)
    consume(event)  # a redelivery changes nothing
    consume(Envelope.wrap(events_pb2.QuoteStatusChanged(quote_id=sent.payload().quote_id, status="Retiré"),
                          source="quoteflow/quotes", subject=event.subject, tenant=tenant))  # not ours: ignored

    for call in (lambda: grpc_stub.Sign(sign_request(sent), metadata=AUTH),
                 lambda: grpc_stub.Decline(signature_pb2.DeclineRequest(
                     tenant_id=tenant, quote_id=sent.payload().quote_id, version=1, reason="Trop cher"),
                     metadata=AUTH),
                 lambda: grpc_stub.RequestCode(signature_pb2.RequestCodeRequest(
                     tenant_id=tenant, quote_id=sent.payload().quote_id, version=1), metadata=AUTH)):
        error = error_of(call)
        assert error.code() == grpc.StatusCode.FAILED_PRECONDITION and "withdrew" in error.details()
        assert reason_of(error)[0] == "REQUEST_WITHDRAWN"
    assert outbox(app, "signature.completed") == outbox(app, "signature.declined") == []
    assert outbox(app, "signature.code_requested") == []

    got = grpc_stub.GetRequest(signature_pb2.GetRequestRequest(tenant_id=tenant, quote_id=sent.payload().quote_id),
                               metadata=AUTH)
    assert got.status == "withdrawn" and [e.step for e in got.evidence] == ["sent", "withdrawn"]
    with app.uow() as uow:
        evidence.verify_chain(uow.requests.latest(tenant, sent.payload().quote_id).evidence)


def test_a_signed_request_stays_signed_and_a_later_version_keeps_its_own(app, grpc_stub, send, consume, tenant):
    signed = send()
    grpc_stub.Sign(sign_request(signed), metadata=AUTH)
    consume(withdrawn(signed))
    with app.uow() as uow:
        assert uow.requests.latest(tenant, signed.payload().quote_id).status == model.SIGNED

    quote_id = send().payload().quote_id
    v2 = send(quote_id, version=2)  # sent after the edit that followed the withdrawal of version 1
    consume(withdrawn(v2, version=1))  # a late redelivery of the withdrawal of version 1
    grpc_stub.Sign(sign_request(v2), metadata=AUTH)
    with app.uow() as uow:
        statuses = {r.version: r.status for r in uow.requests.for_quote(tenant, quote_id)}
    assert statuses == {1: model.SUPERSEDED, 2: model.SIGNED}
