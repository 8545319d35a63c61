"""Decline over gRPC: the reason, the evidence, signature.declined, and what it closes."""
import threading

import grpc

from quoteflow.v1 import signature_pb2
from tests.integration.signature.support import AUTH, error_of, outbox, sign_request, violations


def decline_request(sent, **kw) -> signature_pb2.DeclineRequest:
    p = sent.payload()
    values = dict(tenant_id=sent.tenant, quote_id=p.quote_id, version=p.version,
                  reason="Le budget est reporté à l'an prochain — merci œuvre & « délai »",
                  signer_name="Zoë Lœwy", signer_email="zoe@client.fr", ip="198.51.100.23", user_agent="Safari/17")
    values.update(kw)
    return signature_pb2.DeclineRequest(**values)


def test_decline_records_the_reason_and_emits_signature_declined_with_every_field(app, grpc_stub, send, tenant):
    sent = send()
    p = sent.payload()
    response = grpc_stub.Decline(decline_request(sent), metadata=AUTH)
    assert response.request_id and response.declined_at

    [event] = outbox(app, "signature.declined")
    assert event.tenant == tenant and event.subject == f"quote/{p.quote_id}"
    d = event.payload()
    assert (d.request_id, d.quote_id, d.number, d.version) == (response.request_id, p.quote_id, "DV-2026-00042", 1)
    assert (d.signer_name, d.signer_email, d.ip) == ("Zoë Lœwy", "zoe@client.fr", "198.51.100.23")
    assert d.reason == "Le budget est reporté à l'an prochain — merci œuvre & « délai »"
    assert d.declined_at == response.declined_at
    assert (d.assignee.id, d.assignee.email, d.assignee.phone) == ("user-3", "helene@vendeur.fr", "+33612345678")

    got = grpc_stub.GetRequest(signature_pb2.GetRequestRequest(tenant_id=tenant, quote_id=p.quote_id),
                               metadata=AUTH)
    assert got.status == "declined" and got.declined_at == d.declined_at and got.decline_reason == d.reason
    assert [e.step for e in got.evidence] == ["sent", "declined"]
    assert got.evidence[-1].sha256 == d.evidence_sha256 == got.evidence_sha256
    assert got.evidence[-1].ip == "198.51.100.23" and got.evidence[-1].user_agent == "Safari/17"


def test_a_repeat_decline_returns_the_first(app, grpc_stub, send):
    sent = send()
    first = grpc_stub.Decline(decline_request(sent), metadata=AUTH)
    again = grpc_stub.Decline(decline_request(sent, reason="Autre raison", ip="192.0.2.1"), metadata=AUTH)
    assert again == first
    assert len(outbox(app, "signature.declined")) == 1


def test_a_declined_quote_cannot_be_signed_and_a_signed_one_cannot_be_declined(app, grpc_stub, send):
    declined = send()
    grpc_stub.Decline(decline_request(declined), metadata=AUTH)
    error = error_of(lambda: grpc_stub.Sign(sign_request(declined), metadata=AUTH))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION and "declined" in error.details()

    signed = send()
    grpc_stub.Sign(sign_request(signed), metadata=AUTH)
    error = error_of(lambda: grpc_stub.Decline(decline_request(signed), metadata=AUTH))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION and "already signed" in error.details()
    assert len(outbox(app, "signature.declined")) == 1 and len(outbox(app, "signature.completed")) == 1


def test_bad_reasons_are_invalid_arguments_on_the_reason_field(app, grpc_stub, send):
    sent = send()
    for reason, why in (("", "required"), ("  \n\t ", "required"), ("Non\x07", "control characters"),
                        ("x" * 2001, "at most 2000"), ("Non 中", "U+4E2D '中' cannot be printed in the PDF")):
        error = error_of(lambda: grpc_stub.Decline(decline_request(sent, reason=reason), metadata=AUTH))
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert why in violations(error)["reason"]
    error = error_of(lambda: grpc_stub.Decline(decline_request(sent, signer_name="A\x00B"), metadata=AUTH))
    assert "signer_name" in violations(error)
    assert outbox(app, "signature.declined") == []


def test_declines_are_scoped_to_the_tenant_and_need_the_current_version(grpc_stub, send):
    v1 = send()
    error = error_of(lambda: grpc_stub.Decline(decline_request(v1, tenant_id="someone-else"), metadata=AUTH))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    send(v1.payload().quote_id, version=2)
    error = error_of(lambda: grpc_stub.Decline(decline_request(v1), metadata=AUTH))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION and "newer version" in error.details()


def test_a_decline_racing_a_signature_leaves_exactly_one_outcome(app, grpc_stub, send):
    sent = send()
    start = threading.Barrier(2)
    outcomes = []

    def run(call):
        start.wait()
        try:
            call()
            outcomes.append("ok")
        except grpc.RpcError as exc:
            outcomes.append(exc.code())

    threads = [threading.Thread(target=run, args=(lambda: grpc_stub.Sign(sign_request(sent), metadata=AUTH),)),
               threading.Thread(target=run, args=(lambda: grpc_stub.Decline(decline_request(sent),
                                                                            metadata=AUTH),))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    finished = len(outbox(app, "signature.completed")) + len(outbox(app, "signature.declined"))
    assert finished == 1, outcomes
    assert outcomes.count("ok") >= 1
    assert all(o in ("ok", grpc.StatusCode.FAILED_PRECONDITION) for o in outcomes), outcomes
