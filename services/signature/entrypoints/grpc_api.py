"""SignatureService over gRPC: proto -> command -> handler -> proto. Errors map in quoteflow.grpcserver."""
from __future__ import annotations

from quoteflow import auth
from quoteflow.envelope import rfc3339
from quoteflow.v1 import signature_pb2, signature_pb2_grpc
from services.signature import handlers
from services.signature.domain import commands, evidence, model


def request_pb(request: model.SignatureRequest) -> signature_pb2.SignatureRequest:
    message = signature_pb2.SignatureRequest(
        request_id=request.id, quote_id=request.quote_id, version=request.version, status=request.status,
        signer_email=request.signer.email, document_sha256=request.document_sha256,
        evidence=[signature_pb2.EvidenceEntry(
            seq=e.seq, at=e.at, step=e.step, ip=e.ip, user_agent=e.user_agent,
            data_json=evidence.canonical_json(e.data), prev_sha256=e.prev_sha256, sha256=e.sha256)
            for e in request.evidence])
    if request.signature is not None:
        s = request.signature
        message.signer_email = s.signer_email
        message.signer_name = s.signer_name
        message.signed_at = rfc3339(s.signed_at)
        message.signed_pdf_sha256 = s.signed_pdf_sha256
        message.proof_sha256 = s.proof_sha256
    return message


class SignatureServicer(signature_pb2_grpc.SignatureServiceServicer):
    def __init__(self, app):
        self.app = app

    def Sign(self, request, context):
        signed = self.app.handle(commands.Sign(
            tenant=auth.tenant(request.tenant_id), quote_id=request.quote_id, version=request.version,
            document_sha256=request.document_sha256, signer_name=request.signer_name, consent=request.consent,
            consent_text=request.consent_text, ip=request.ip, user_agent=request.user_agent,
            signer_email=request.signer_email))
        s = signed.signature
        return signature_pb2.SignResponse(
            request_id=signed.id, signed_at=rfc3339(s.signed_at), signer_name=s.signer_name,
            evidence_sha256=signed.evidence_sha256, signed_pdf_sha256=s.signed_pdf_sha256,
            proof_sha256=s.proof_sha256)

    def GetRequest(self, request, context):
        found = self.app.query(handlers.latest_request, auth.tenant(request.tenant_id), request.quote_id)
        return request_pb(found)
