"""SignatureService over gRPC: proto -> command -> handler -> proto. Errors map in quoteflow.grpcserver."""
from __future__ import annotations

from quoteflow import auth
from quoteflow.envelope import rfc3339, utcnow
from quoteflow.v1 import signature_pb2, signature_pb2_grpc
from services.signature import handlers
from services.signature.domain import commands, evidence, model


def _time(moment) -> str:
    return rfc3339(moment) if moment is not None else ""


def request_pb(request: model.SignatureRequest, now=None, policy: model.CodePolicy | None = None
               ) -> signature_pb2.SignatureRequest:
    message = signature_pb2.SignatureRequest(
        request_id=request.id, quote_id=request.quote_id, version=request.version, status=request.status,
        signer_email=request.signer.email, signer_name=request.signer.name, document_sha256=request.document_sha256,
        number=request.number, expires_at=_time(request.expires_at), otp_channel=request.otp_channel,
        consent_text=request.consent_text, evidence_sha256=request.evidence_sha256,
        evidence=[signature_pb2.EvidenceEntry(
            seq=e.seq, at=e.at, step=e.step, ip=e.ip, user_agent=e.user_agent,
            data_json=evidence.canonical_json(e.data), prev_sha256=e.prev_sha256, sha256=e.sha256)
            for e in request.evidence])
    code, policy = request.current_code, policy or model.CodePolicy()
    if code is not None and request.status == model.OPEN and (now or utcnow()) < code.expires_at \
            and code.attempts < policy.max_attempts:
        message.code_expires_at = rfc3339(code.expires_at)
        message.code_attempts_left = policy.max_attempts - code.attempts
    if request.signature is not None:
        s = request.signature
        message.signer_email = s.signer_email
        message.signer_name = s.signer_name
        message.signed_at = rfc3339(s.signed_at)
        message.signed_pdf_sha256 = s.signed_pdf_sha256
        message.proof_sha256 = s.proof_sha256
        message.proof_json_sha256 = s.proof_json_sha256
        message.signature_png_sha256 = s.signature_png_sha256
    if request.declined is not None:
        d = request.declined
        message.declined_at = rfc3339(d.declined_at)
        message.decline_reason = d.reason
    return message


class SignatureServicer(signature_pb2_grpc.SignatureServiceServicer):
    def __init__(self, app):
        self.app = app

    @property
    def _policy(self) -> model.CodePolicy:
        return self.app.dependencies["code_policy"]

    def Sign(self, request, context):
        signed = self.app.handle(commands.Sign(
            tenant=auth.tenant(request.tenant_id), quote_id=request.quote_id, version=request.version,
            document_sha256=request.document_sha256, signer_name=request.signer_name, consent=request.consent,
            consent_text=request.consent_text, ip=request.ip, user_agent=request.user_agent,
            signer_email=request.signer_email, otp_code=request.otp_code, signature_png=request.signature_png))
        s = signed.signature
        return signature_pb2.SignResponse(
            request_id=signed.id, signed_at=rfc3339(s.signed_at), signer_name=s.signer_name,
            evidence_sha256=signed.evidence_sha256, signed_pdf_sha256=s.signed_pdf_sha256,
            proof_sha256=s.proof_sha256, proof_json_sha256=s.proof_json_sha256)

    def Decline(self, request, context):
        declined = self.app.handle(commands.Decline(
            tenant=auth.tenant(request.tenant_id), quote_id=request.quote_id, version=request.version,
            reason=request.reason, signer_name=request.signer_name, signer_email=request.signer_email,
            ip=request.ip, user_agent=request.user_agent))
        return signature_pb2.DeclineResponse(request_id=declined.id,
                                             declined_at=rfc3339(declined.declined.declined_at))

    def RequestCode(self, request, context):
        found, code = self.app.handle(commands.RequestCode(
            tenant=auth.tenant(request.tenant_id), quote_id=request.quote_id, version=request.version,
            ip=request.ip, user_agent=request.user_agent))
        masked = model.mask_phone(code.recipient) if code.channel == "sms" else model.mask_email(code.recipient)
        return signature_pb2.RequestCodeResponse(
            channel=code.channel, masked_recipient=masked, expires_at=rfc3339(code.expires_at),
            codes_left=found.codes_left(self._policy),
            resend_after_seconds=int(self._policy.resend_interval.total_seconds()))

    def RecordOpened(self, request, context):
        _, recorded = self.app.handle(commands.RecordOpened(
            tenant=auth.tenant(request.tenant_id), quote_id=request.quote_id, version=request.version,
            ip=request.ip, user_agent=request.user_agent))
        return signature_pb2.RecordOpenedResponse(recorded=recorded)

    def GetRequest(self, request, context):
        found = self.app.query(handlers.latest_request, auth.tenant(request.tenant_id), request.quote_id)
        return request_pb(found, self.app.dependencies["clock"](), self._policy)

    def GetDocument(self, request, context):
        filename, content_type, content, sha256 = self.app.query(
            handlers.get_document, auth.tenant(request.tenant_id), request.request_id, request.kind)
        return signature_pb2.Document(filename=filename, content_type=content_type, content=content, sha256=sha256)

    def Verify(self, request, context):
        principal = auth.current()
        tenant = principal.tenant if not principal.service else (request.tenant_id or None)
        if request.tenant_id and not principal.service:
            tenant = auth.tenant(request.tenant_id)
        result, found, sha256, kind = self.app.query(handlers.verify, bytes(request.pdf), tenant)
        reason = result.problem or result.reason
        return signature_pb2.VerifyResponse(
            intact=result.intact, signer_name=result.signer if result.intact else "",
            signed_at=_time(result.signed_at) if result.intact else "", reason=reason,
            request_id=found.id if found is not None else "", sha256=sha256,
            timestamped_at=_time(result.timestamped_at) if result.intact else "", kind=kind)
