"""The signature service, seen from the portal: four gRPC calls, their errors turned into domain errors."""
from __future__ import annotations

import abc
import logging
import threading

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from quoteflow.errors import Conflict, DataLoss, FailedPrecondition, InvalidArgument, NotFound
from quoteflow.v1 import signature_pb2, signature_pb2_grpc
from services.portal.domain.commands import (CodeRequest, CodeResult, DeclineRequest, DeclineResult,
                                             OpenedNotice, SignatureRequest, SignatureResult)
from services.portal.domain.model import SignatureThrottled, SignatureUnavailable

log = logging.getLogger(__name__)


class Signer(abc.ABC):
    """What the portal needs from the signature service."""

    @abc.abstractmethod
    def sign(self, request: SignatureRequest) -> SignatureResult: ...

    @abc.abstractmethod
    def decline(self, request: DeclineRequest) -> DeclineResult: ...

    @abc.abstractmethod
    def request_code(self, request: CodeRequest) -> CodeResult: ...

    @abc.abstractmethod
    def record_opened(self, notice: OpenedNotice) -> None: ...

    @abc.abstractmethod
    def vouched_signed_pdf(self, tenant_id: str, quote_id: str, version: int) -> str:
        """The SHA-256 of the signed PDF of that version the service vouches for now, its evidence checked
        ("" when it knows of none); DataLoss when that evidence was found altered."""

    def close(self) -> None:
        pass


_ERRORS = {
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPrecondition,
    grpc.StatusCode.ABORTED: Conflict,
    grpc.StatusCode.ALREADY_EXISTS: Conflict,
    grpc.StatusCode.DATA_LOSS: DataLoss,
}
_TRANSIENT = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED}


class GrpcSigner(Signer):
    """Calls ``SignatureService`` with the service key; the channel opens on first use.

    ``opened_timeout`` bounds RecordOpened, which runs while a client waits for nothing
    but must not hold a web worker long when the signature service is slow.
    """

    def __init__(self, target: str, service_key: str, timeout: float = 15.0, opened_timeout: float = 3.0):
        self.target = target
        self.service_key = service_key
        self.timeout = timeout
        self.opened_timeout = opened_timeout
        self._channel: grpc.Channel | None = None
        self._stub: signature_pb2_grpc.SignatureServiceStub | None = None
        self._lock = threading.Lock()

    def _service(self) -> signature_pb2_grpc.SignatureServiceStub:
        with self._lock:
            if self._stub is None:
                self._channel = grpc.insecure_channel(self.target)
                self._stub = signature_pb2_grpc.SignatureServiceStub(self._channel)
            return self._stub

    def _call(self, method: str, message, timeout: float):
        try:
            return getattr(self._service(), method)(
                message, timeout=timeout, metadata=(("authorization", f"Bearer {self.service_key}"),))
        except grpc.RpcError as exc:
            raise _domain_error(exc) from None

    def sign(self, request: SignatureRequest) -> SignatureResult:
        reply = self._call("Sign", signature_pb2.SignRequest(
            tenant_id=request.tenant_id, quote_id=request.quote_id, version=request.version,
            document_sha256=request.document_sha256, signer_name=request.signer_name,
            consent=request.consent, consent_text=request.consent_text, ip=request.ip,
            user_agent=request.user_agent, signer_email=request.signer_email, otp_code=request.otp_code,
            signature_png=request.signature_png), self.timeout)
        return SignatureResult(request_id=reply.request_id, signed_at=reply.signed_at,
                               signer_name=reply.signer_name, signed_pdf_sha256=reply.signed_pdf_sha256)

    def decline(self, request: DeclineRequest) -> DeclineResult:
        reply = self._call("Decline", signature_pb2.DeclineRequest(
            tenant_id=request.tenant_id, quote_id=request.quote_id, version=request.version,
            reason=request.reason, signer_name=request.signer_name, signer_email=request.signer_email,
            ip=request.ip, user_agent=request.user_agent), self.timeout)
        return DeclineResult(request_id=reply.request_id, declined_at=reply.declined_at)

    def request_code(self, request: CodeRequest) -> CodeResult:
        reply = self._call("RequestCode", signature_pb2.RequestCodeRequest(
            tenant_id=request.tenant_id, quote_id=request.quote_id, version=request.version,
            ip=request.ip, user_agent=request.user_agent), self.timeout)
        return CodeResult(channel=reply.channel, masked_recipient=reply.masked_recipient,
                          expires_at=reply.expires_at)

    def record_opened(self, notice: OpenedNotice) -> None:
        self._call("RecordOpened", signature_pb2.RecordOpenedRequest(
            tenant_id=notice.tenant_id, quote_id=notice.quote_id, version=notice.version, ip=notice.ip,
            user_agent=notice.user_agent), self.opened_timeout)

    def vouched_signed_pdf(self, tenant_id: str, quote_id: str, version: int) -> str:
        try:
            reply = self._call("GetRequest", signature_pb2.GetRequestRequest(tenant_id=tenant_id, quote_id=quote_id),
                               self.opened_timeout)
        except NotFound:
            return ""
        return reply.signed_pdf_sha256 if reply.version == version and reply.status == "signed" else ""

    def close(self) -> None:
        with self._lock:
            if self._channel is not None:
                self._channel.close()
            self._channel = None
            self._stub = None


def _domain_error(exc: grpc.RpcError) -> Exception:
    """The domain error a refusal stands for, with its reason and info (google.rpc.ErrorInfo) when it has one."""
    code = exc.code() if hasattr(exc, "code") else grpc.StatusCode.UNKNOWN
    text = exc.details() if hasattr(exc, "details") else str(exc)
    violations, reason, info = _details(exc)
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        return InvalidArgument(violations or {"": text or "invalid"}, text or "", reason=reason, info=info)
    if code in _ERRORS:
        return _ERRORS[code](text, reason=reason, info=info)
    if code == grpc.StatusCode.RESOURCE_EXHAUSTED:
        return SignatureThrottled(text, reason=reason, info=info)
    if code in _TRANSIENT:
        return SignatureUnavailable(f"{code.name}: {text}")
    log.error("signature service refused the call: %s %s", code, text)
    return SignatureUnavailable(f"{code.name}: {text}")


def _details(exc: grpc.RpcError) -> tuple[dict[str, str], str, dict[str, str]]:
    """(field violations, ErrorInfo reason, ErrorInfo metadata) of a rich status; empty when it has none."""
    try:
        status = rpc_status.from_call(exc)
    except Exception:  # a status without rich details
        return {}, "", {}
    violations: dict[str, str] = {}
    reason, info = "", {}
    for detail in status.details if status else ():
        bad, why = error_details_pb2.BadRequest(), error_details_pb2.ErrorInfo()
        if detail.Unpack(bad):
            violations.update({v.field: v.description for v in bad.field_violations})
        elif detail.Unpack(why):
            reason, info = why.reason, dict(why.metadata)
    return violations, reason, info
