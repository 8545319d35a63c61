"""Issue 18: a tenant's CRM key once signed a quote in a client's name. Only the portal's service key acts for a client.

Sign, Decline, RequestCode and RecordOpened declare the service key as their caller (signature.proto); a CRM key,
even of the quote's own tenant, is refused before anything runs, while it still reads and verifies.
"""
from __future__ import annotations

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from quoteflow.auth import KeyRing, hash_key, new_key
from quoteflow.grpcserver import build_server
from quoteflow.v1 import signature_pb2, signature_pb2_grpc
from services.signature.entrypoints.grpc_api import SignatureServicer
from tests.integration.signature.support import AUTH, SERVICE_KEY, error_of, outbox, sign_request


@pytest.fixture
def crm_key() -> str:
    return new_key()


@pytest.fixture
def stub(app, tenant, crm_key):
    """The signature service as deployed: the tenant's CRM key and the portal's service key both valid."""
    server, port, _ = build_server(
        "127.0.0.1:0", [lambda s: signature_pb2_grpc.add_SignatureServiceServicer_to_server(SignatureServicer(app), s)],
        ["quoteflow.v1.SignatureService"], KeyRing({hash_key(crm_key): tenant}, SERVICE_KEY))
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    yield signature_pb2_grpc.SignatureServiceStub(channel)
    channel.close()
    server.stop(0)


def _refusal_reason(error: grpc.RpcError) -> tuple[str, dict[str, str]]:
    for detail in rpc_status.from_call(error).details:
        info = error_details_pb2.ErrorInfo()
        if detail.Unpack(info):
            return info.reason, dict(info.metadata)
    return "", {}


def _blob_files(cfg) -> set[str]:
    return {str(p) for p in cfg.common.blob_dir.rglob("*") if p.is_file()}


def test_a_crm_key_cannot_sign_with_an_invented_signer_and_the_request_stays_open(app, cfg, send, stub, crm_key):
    sent = send()
    crm = (("authorization", f"Bearer {crm_key}"),)
    lookup = signature_pb2.GetRequestRequest(quote_id=sent.payload().quote_id)
    before, events_before, blobs_before = stub.GetRequest(lookup, metadata=crm), outbox(app), _blob_files(cfg)
    forged = sign_request(sent, signer_name="Jean Inventé", ip="", user_agent="", signer_email="")

    refused = error_of(lambda: stub.Sign(forged, metadata=crm))

    assert refused.code() == grpc.StatusCode.PERMISSION_DENIED, refused.details()
    assert _refusal_reason(refused) == ("CALLER_NOT_ALLOWED", {"allowed": "CALLER_SERVICE"})
    after = stub.GetRequest(lookup, metadata=crm)
    assert after.status == "open" and not after.signed_at and not after.signed_pdf_sha256
    assert list(after.evidence) == list(before.evidence) == list(after.evidence[:1])
    assert [e.id for e in outbox(app)] == [e.id for e in events_before], "a refused signature published an event"
    assert _blob_files(cfg) == blobs_before, "a refused signature sealed a PDF"

    signed = stub.Sign(forged, metadata=AUTH)  # the same request from the portal: the caller was the only fault
    assert signed.signer_name == "Jean Inventé"
    assert stub.GetRequest(lookup, metadata=crm).status == "signed"


def test_a_crm_key_cannot_decline_ask_a_code_or_record_an_opening(app, send, stub, crm_key, tenant):
    sent = send(signature_otp="email")
    p = sent.payload()
    crm = (("authorization", f"Bearer {crm_key}"),)
    lookup = signature_pb2.GetRequestRequest(quote_id=p.quote_id)
    before, events_before = stub.GetRequest(lookup, metadata=crm), outbox(app)
    acting_for_the_client = {
        "Decline": signature_pb2.DeclineRequest(tenant_id=tenant, quote_id=p.quote_id, version=p.version,
                                                reason="Trop cher", signer_name="Jean Inventé"),
        "RequestCode": signature_pb2.RequestCodeRequest(tenant_id=tenant, quote_id=p.quote_id, version=p.version),
        "RecordOpened": signature_pb2.RecordOpenedRequest(tenant_id=tenant, quote_id=p.quote_id, version=p.version),
    }
    for method, request in acting_for_the_client.items():
        refused = error_of(lambda: getattr(stub, method)(request, metadata=crm))
        assert refused.code() == grpc.StatusCode.PERMISSION_DENIED, (method, refused.code(), refused.details())

    after = stub.GetRequest(lookup, metadata=crm)
    assert after.status == "open" and list(after.evidence) == list(before.evidence)
    assert not after.code_expires_at, "a refused RequestCode issued a code"
    assert [e.id for e in outbox(app)] == [e.id for e in events_before]
    assert stub.RecordOpened(acting_for_the_client["RecordOpened"], metadata=AUTH).recorded


def test_the_crm_key_still_reads_and_verifies_and_the_service_key_still_reads(app, send, stub, crm_key, tenant):
    sent = send()
    quote_id = sent.payload().quote_id
    crm = (("authorization", f"Bearer {crm_key}"),)
    assert stub.GetRequest(signature_pb2.GetRequestRequest(quote_id=quote_id), metadata=crm).status == "open"
    assert stub.GetRequest(signature_pb2.GetRequestRequest(tenant_id=tenant, quote_id=quote_id),
                           metadata=AUTH).status == "open"
    verdict = stub.Verify(signature_pb2.VerifyRequest(pdf=b"%PDF-1.4\n%%EOF\n"), metadata=crm)
    assert not verdict.intact and verdict.reason
