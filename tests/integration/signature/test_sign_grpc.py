import json
import threading
from datetime import datetime

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from sqlalchemy import func, select

from quoteflow.envelope import Envelope
from quoteflow.v1 import signature_pb2
from services.signature.adapters import orm
from services.signature.domain import evidence
from services.signature.domain.evidence import Entry
from tests.integration.signature.support import AUTH, error_of, outbox, sign_request


def completed(app) -> list[Envelope]:
    return outbox(app, "signature.completed")


def test_sign_seals_records_evidence_and_emits_signature_completed(app, grpc_stub, send, blobs, tenant):
    sent = send()
    p = sent.payload()
    response = grpc_stub.Sign(sign_request(sent), metadata=AUTH)

    assert response.signer_name == "Zoë Lœwy" and response.request_id
    assert datetime.fromisoformat(response.signed_at.replace("Z", "+00:00")).tzinfo is not None
    [event] = completed(app)
    assert event.tenant == tenant and event.subject == f"quote/{p.quote_id}"
    c = event.payload()
    assert c.request_id == response.request_id and c.quote_id == p.quote_id and c.number == "DV-2026-00042"
    assert c.version == 1 and c.signer_name == "Zoë Lœwy" and c.signer_email == "zoe@client.fr"
    assert c.signer_contact_id == "contact-7" and c.ip == "203.0.113.9" and c.signed_at == response.signed_at
    assert c.document_sha256 == p.pdf_sha256
    assert (c.assignee.id, c.assignee.name, c.assignee.email, c.assignee.phone) == (
        "user-3", "Hélène Vendeur", "helene@vendeur.fr", "+33612345678")
    assert c.evidence_sha256 == response.evidence_sha256
    assert c.signed_pdf_sha256 == response.signed_pdf_sha256 and blobs.exists(c.signed_pdf_sha256)
    assert c.proof_sha256 == response.proof_sha256 and blobs.exists(c.proof_sha256)

    got = grpc_stub.GetRequest(signature_pb2.GetRequestRequest(tenant_id=tenant, quote_id=p.quote_id),
                               metadata=AUTH)
    assert got.status == "signed" and got.signer_name == "Zoë Lœwy" and got.proof_sha256 == c.proof_sha256
    assert [e.step for e in got.evidence] == ["sent", "consented", "signed"]
    chain = [Entry(seq=e.seq, at=e.at, step=e.step, ip=e.ip, user_agent=e.user_agent, data=json.loads(e.data_json),
                   prev_sha256=e.prev_sha256, sha256=e.sha256) for e in got.evidence]
    assert evidence.verify_chain(chain, expected_head=c.evidence_sha256)
    consented = json.loads(got.evidence[1].data_json)
    assert consented["consent_text"].startswith("En signant, j'accepte le devis n° DV-2026-00042")
    assert consented["consent_sha256"] == evidence.sha256_text(consented["consent_text"])
    assert consented["document_sha256"] == p.pdf_sha256 and consented["signer_contact_id"] == "contact-7"
    assert got.evidence[2].ip == "203.0.113.9" and got.evidence[2].user_agent == "Mozilla/5.0 Firefox/133"

    assert got.proof_json_sha256 == response.proof_json_sha256 != c.proof_sha256
    proof = json.loads(blobs.get(response.proof_json_sha256))
    assert proof["evidence_sha256"] == c.evidence_sha256 and len(proof["evidence"]) == 3
    assert proof["document"]["signed_pdf_sha256"] == c.signed_pdf_sha256
    assert proof["signer"]["name"] == "Zoë Lœwy" and proof["verification"]
    proof_pdf = blobs.get(c.proof_sha256)
    assert proof_pdf.startswith(b"%PDF") and app.dependencies["sealer"].verify_pdf(proof_pdf).intact
    sealed = blobs.get(c.signed_pdf_sha256)
    assert sealed.startswith(blobs.get(p.pdf_sha256))
    assert app.dependencies["sealer"].verify_pdf(sealed).intact


def test_refusals_are_clear_errors(app, grpc_stub, send, tenant):
    sent = send()
    cases = [
        (sign_request(sent, signer_name="  "), grpc.StatusCode.INVALID_ARGUMENT, "signer_name"),
        (sign_request(sent, consent=False), grpc.StatusCode.INVALID_ARGUMENT, "consent"),
        (sign_request(sent, document_sha256="0" * 64), grpc.StatusCode.FAILED_PRECONDITION, "SHA-256"),
        (sign_request(sent, version=7), grpc.StatusCode.NOT_FOUND, "no signature request"),
        (sign_request(sent, quote_id="unknown"), grpc.StatusCode.NOT_FOUND, "no signature request"),
        (sign_request(sent, tenant_id="another-tenant"), grpc.StatusCode.NOT_FOUND, "no signature request"),
    ]
    for request, code, text in cases:
        error = error_of(lambda: grpc_stub.Sign(request, metadata=AUTH))
        assert error.code() == code, (request, error.details())
        assert text in error.details()
    bad = error_of(lambda: grpc_stub.Sign(sign_request(sent, consent=False), metadata=AUTH))
    [detail] = rpc_status.from_call(bad).details
    violations = error_details_pb2.BadRequest()
    detail.Unpack(violations)
    assert [v.field for v in violations.field_violations] == ["consent"]
    assert completed(app) == []


def test_a_superseded_version_cannot_be_signed(app, grpc_stub, send):
    v1 = send(version=1)
    send(v1.payload().quote_id, version=2)
    error = error_of(lambda: grpc_stub.Sign(sign_request(v1), metadata=AUTH))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "a newer version of this quote was sent" in error.details()


def test_signing_again_returns_the_first_signature(app, grpc_stub, send):
    sent = send()
    first = grpc_stub.Sign(sign_request(sent), metadata=AUTH)
    again = grpc_stub.Sign(sign_request(sent, signer_name="Quelqu'un d'autre", ip="198.51.100.1"), metadata=AUTH)
    assert again == first
    assert len(completed(app)) == 1


def test_two_simultaneous_signatures_make_exactly_one(app, grpc_stub, send):
    sent = send()
    start = threading.Barrier(4)
    results, errors = [], []

    def sign(name):
        start.wait()
        try:
            results.append(grpc_stub.Sign(sign_request(sent, signer_name=name), metadata=AUTH))
        except grpc.RpcError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=sign, args=(f"Signataire {i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert all(e.code() == grpc.StatusCode.ABORTED for e in errors)
    assert results and len({r.request_id + r.signed_at + r.signer_name for r in results}) == 1
    assert len(completed(app)) == 1
    with app.engine.connect() as conn:
        steps = conn.execute(select(orm.evidence.c.step, func.count()).group_by(orm.evidence.c.step)).all()
    assert dict(steps) == {"sent": 1, "consented": 1, "signed": 1}


def test_get_request_is_the_latest_and_scoped_to_the_tenant(grpc_stub, send, tenant):
    v1 = send(version=1)
    quote_id = v1.payload().quote_id
    send(quote_id, version=2)
    got = grpc_stub.GetRequest(signature_pb2.GetRequestRequest(tenant_id=tenant, quote_id=quote_id), metadata=AUTH)
    assert (got.version, got.status, got.signer_email) == (2, "open", "zoe@client.fr")
    assert [e.step for e in got.evidence] == ["sent"]
    missing = error_of(lambda: grpc_stub.GetRequest(
        signature_pb2.GetRequestRequest(tenant_id="other", quote_id=quote_id), metadata=AUTH))
    assert missing.code() == grpc.StatusCode.NOT_FOUND


def test_calls_without_a_key_are_refused(grpc_stub, send):
    sent = send()
    error = error_of(lambda: grpc_stub.Sign(sign_request(sent)))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
