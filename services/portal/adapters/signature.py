"""The signature service, seen from the portal: one gRPC call, its errors turned into domain errors."""
from __future__ import annotations

import abc
import logging
import threading

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from quoteflow.errors import Conflict, FailedPrecondition, InvalidArgument, NotFound
from quoteflow.v1 import signature_pb2, signature_pb2_grpc
from services.portal.domain.commands import SignatureRequest, SignatureResult
from services.portal.domain.model import SignatureUnavailable

log = logging.getLogger(__name__)


class Signer(abc.ABC):
    @abc.abstractmethod
    def sign(self, request: SignatureRequest) -> SignatureResult: ...

    def close(self) -> None:
        pass


_ERRORS = {
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPrecondition,
    grpc.StatusCode.ABORTED: Conflict,
    grpc.StatusCode.ALREADY_EXISTS: Conflict,
}
_TRANSIENT = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.RESOURCE_EXHAUSTED}


class GrpcSigner(Signer):
    """Calls ``SignatureService.Sign`` with the service key; the channel opens on first use."""

    def __init__(self, target: str, service_key: str, timeout: float = 15.0):
        self.target = target
        self.service_key = service_key
        self.timeout = timeout
        self._channel: grpc.Channel | None = None
        self._stub: signature_pb2_grpc.SignatureServiceStub | None = None
        self._lock = threading.Lock()

    def _service(self) -> signature_pb2_grpc.SignatureServiceStub:
        with self._lock:
            if self._stub is None:
                self._channel = grpc.insecure_channel(self.target)
                self._stub = signature_pb2_grpc.SignatureServiceStub(self._channel)
            return self._stub

    def sign(self, request: SignatureRequest) -> SignatureResult:
        message = signature_pb2.SignRequest(
            tenant_id=request.tenant_id, quote_id=request.quote_id, version=request.version,
            document_sha256=request.document_sha256, signer_name=request.signer_name,
            consent=request.consent, consent_text=request.consent_text, ip=request.ip,
            user_agent=request.user_agent, signer_email=request.signer_email)
        try:
            reply = self._service().Sign(message, timeout=self.timeout,
                                         metadata=(("authorization", f"Bearer {self.service_key}"),))
        except grpc.RpcError as exc:
            raise _domain_error(exc) from None
        return SignatureResult(request_id=reply.request_id, signed_at=reply.signed_at,
                               signer_name=reply.signer_name, signed_pdf_sha256=reply.signed_pdf_sha256)

    def close(self) -> None:
        with self._lock:
            if self._channel is not None:
                self._channel.close()
            self._channel = None
            self._stub = None


def _domain_error(exc: grpc.RpcError) -> Exception:
    code = exc.code() if hasattr(exc, "code") else grpc.StatusCode.UNKNOWN
    text = exc.details() if hasattr(exc, "details") else str(exc)
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        return InvalidArgument(_violations(exc) or {"": text or "invalid"}, text or "")
    if code in _ERRORS:
        return _ERRORS[code](text)
    if code in _TRANSIENT:
        return SignatureUnavailable(f"{code.name}: {text}")
    log.error("signature service refused the call: %s %s", code, text)
    return SignatureUnavailable(f"{code.name}: {text}")


def _violations(exc: grpc.RpcError) -> dict[str, str]:
    try:
        status = rpc_status.from_call(exc)
    except Exception:  # a status without rich details
        return {}
    violations: dict[str, str] = {}
    for detail in status.details if status else ():
        bad = error_details_pb2.BadRequest()
        if detail.Unpack(bad):
            violations.update({v.field: v.description for v in bad.field_violations})
    return violations
