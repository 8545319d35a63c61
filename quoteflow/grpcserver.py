"""gRPC server bootstrap: auth, one table from domain errors to status codes, health, reflection."""
from __future__ import annotations

import functools
import logging
import time
from concurrent import futures
from typing import Callable, Iterable

import grpc
from google.protobuf import descriptor_pool
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from grpc_status import rpc_status
from sqlalchemy.exc import DisconnectionError, OperationalError

from quoteflow import auth, observability
from quoteflow.errors import (
    Conflict,
    DataLoss,
    DomainError,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
)
from quoteflow.v1 import options_pb2

log = logging.getLogger(__name__)

# The ONE table from domain errors to gRPC status codes.
STATUS_OF: dict[type[DomainError], int] = {
    NotFound: code_pb2.NOT_FOUND,
    InvalidArgument: code_pb2.INVALID_ARGUMENT,
    FailedPrecondition: code_pb2.FAILED_PRECONDITION,
    Conflict: code_pb2.ABORTED,
    Unauthenticated: code_pb2.UNAUTHENTICATED,
    PermissionDenied: code_pb2.PERMISSION_DENIED,
    ResourceExhausted: code_pb2.RESOURCE_EXHAUSTED,
    DataLoss: code_pb2.DATA_LOSS,
}

OPEN_PREFIXES = ("/grpc.health.v1.", "/grpc.reflection.")
# The ErrorInfo.domain of a refusal that names its reason (DomainError.reason).
ERROR_DOMAIN = "quoteflow"


# Status messages travel in trailers (percent-encoded, under gRPC's 8 KiB metadata limit): a message
# quoting a huge input would turn a deliberate refusal into RESOURCE_EXHAUSTED, so texts are clipped.
MAX_TEXT = 300


def _clip(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + "…"


def status_for(error: DomainError) -> grpc.Status:
    code = next((c for cls, c in STATUS_OF.items() if isinstance(error, cls)), code_pb2.INTERNAL)
    status = status_pb2.Status(code=code, message=_clip(str(error)))
    if isinstance(error, InvalidArgument):
        detail = error_details_pb2.BadRequest(field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=_clip(f), description=_clip(d))
            for f, d in error.violations.items()])
        status.details.add().Pack(detail)
    if error.reason:
        status.details.add().Pack(error_details_pb2.ErrorInfo(
            reason=_clip(error.reason), domain=ERROR_DOMAIN,
            metadata={_clip(k): _clip(v) for k, v in error.info.items()}))
    return rpc_status.to_status(status)


def _metadata(details: grpc.HandlerCallDetails, name: str) -> str:
    for key, value in details.invocation_metadata or ():
        if key == name and isinstance(value, str):
            return value
    return ""


def _bearer(details: grpc.HandlerCallDetails) -> str:
    value = _metadata(details, "authorization")
    return value[len("Bearer "):].strip() if value.startswith("Bearer ") else ""


@functools.lru_cache(maxsize=1024)
def declared_caller(method: str) -> int:
    """The ``option (caller)`` the rpc at gRPC path ``/pkg.Service/Method`` declares in the contract.

    Read from the generated descriptors (options.proto); CALLER_UNSPECIFIED, which nobody may call,
    for an rpc that declares nothing or that no descriptor describes."""
    service, _, name = method.lstrip("/").rpartition("/")
    try:
        found = descriptor_pool.Default().FindMethodByName(f"{service}.{name}")
    except KeyError:
        return options_pb2.CALLER_UNSPECIFIED
    return found.GetOptions().Extensions[options_pb2.caller]


_CALLERS = {options_pb2.CALLER_CRM: "a CRM key", options_pb2.CALLER_SERVICE: "the service key",
            options_pb2.CALLER_ANY: "any key"}


def _caller_name(declared: int) -> str:
    return options_pb2.Caller.Name(declared) if declared in options_pb2.Caller.values() else str(declared)


def _wrong_caller(method: str, declared: int, principal: auth.Principal) -> PermissionDenied:
    """The refusal of a valid key that the rpc does not declare as its caller."""
    allowed = _caller_name(declared)
    if declared not in _CALLERS:
        return PermissionDenied(f"{method} declares no caller (option (caller) in proto/): nobody may call it",
                                reason="CALLER_NOT_ALLOWED", info={"allowed": allowed})
    presented = "the service key" if principal.service else "a CRM key"
    return PermissionDenied(f"{method} is for {_CALLERS[declared]}, not {presented}",
                            reason="CALLER_NOT_ALLOWED", info={"allowed": allowed})


def _unserved(handler: grpc.RpcMethodHandler, method: str) -> grpc.RpcMethodHandler:
    """A streaming rpc outside health and reflection: refused, since the kernel authenticates unary calls only."""

    def refuse(_request, context):
        context.abort(grpc.StatusCode.UNIMPLEMENTED, f"{method}: the kernel serves unary rpcs only")

    make = (grpc.unary_stream_rpc_method_handler if handler.unary_stream else
            grpc.stream_unary_rpc_method_handler if handler.stream_unary else grpc.stream_stream_rpc_method_handler)
    return make(refuse, request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer)


class KernelInterceptor(grpc.ServerInterceptor):
    """Authenticates every call but health and reflection, lets through only the caller each rpc declares
    (a wrong kind of key: PERMISSION_DENIED, nothing run), and maps domain errors."""

    def __init__(self, keyring: auth.KeyRing):
        self.keyring = keyring

    def intercept_service(self, continuation, details):
        handler = continuation(details)
        if handler is None or details.method.startswith(OPEN_PREFIXES):
            return handler
        if handler.unary_unary is None:
            return _unserved(handler, details.method)
        declared = declared_caller(details.method)
        principal, unavailable = None, False
        try:
            principal = self.keyring.resolve(_bearer(details)) if _bearer(details) else None
        except Exception:  # the key table is out of reach: the caller may retry, the key may be fine
            log.exception("cannot check the API key of a call to %s", details.method)
            unavailable = True
        inner = handler.unary_unary
        service, _, method = details.method.lstrip("/").rpartition("/")
        service = service.rsplit(".", 1)[-1]
        traceparent = _metadata(details, "traceparent")

        def behavior(request, context):
            started = time.perf_counter()
            code = "OK"
            with observability.span(f"{service}/{method}", traceparent=traceparent, kind="server",
                                    rpc_service=service, rpc_method=method), \
                    observability.log_context(tenant=principal.tenant if principal else "", rpc=method):
                try:
                    if unavailable:
                        code = "UNAVAILABLE"
                        context.abort(grpc.StatusCode.UNAVAILABLE, "the API key cannot be checked now; retry")
                    if principal is None:
                        code = "UNAUTHENTICATED"
                        context.abort_with_status(status_for(Unauthenticated(
                            "a valid API key is required: metadata 'authorization: Bearer <key>'")))
                    if not principal.may_call(declared):
                        code = "PERMISSION_DENIED"
                        log.warning("refused %s to a %s key (tenant %r): the rpc declares %s", details.method,
                                    "service" if principal.service else "CRM", principal.tenant,
                                    _caller_name(declared))
                        context.abort_with_status(status_for(_wrong_caller(
                            f"{service}/{method}", declared, principal)))
                    token = auth.bind(principal)
                    try:
                        return inner(request, context)
                    except DomainError as error:
                        status = status_for(error)
                        code = status.code.name
                        context.abort_with_status(status)
                    except (OperationalError, DisconnectionError):  # database down, restarted or locked
                        code = "UNAVAILABLE"
                        log.exception("database out of reach in %s", details.method)
                        context.abort(grpc.StatusCode.UNAVAILABLE, "the database is out of reach; retry")
                    except Exception:
                        code = "INTERNAL"
                        log.exception("unexpected error in %s", details.method)
                        raise
                    finally:
                        auth.unbind(token)
                finally:
                    observability.RPC_REQUESTS.labels(service, method, code).inc()
                    observability.RPC_LATENCY.labels(service, method).observe(time.perf_counter() - started)

        return grpc.unary_unary_rpc_method_handler(
            behavior,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


def build_server(
    address: str,
    register: Iterable[Callable[[grpc.Server], None]],
    service_names: Iterable[str],
    keyring: auth.KeyRing,
    max_workers: int = 16,
) -> tuple[grpc.Server, int, health.HealthServicer]:
    """A started-ready server on ``address``; returns it, the bound port and its health servicer."""
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=max_workers),
        interceptors=[KernelInterceptor(keyring)],
        options=[("grpc.max_receive_message_length", 16 * 1024 * 1024)],
    )
    for add in register:
        add(server)
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    names = list(service_names)
    for name in names:
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    reflection.enable_server_reflection([*names, health.SERVICE_NAME, reflection.SERVICE_NAME], server)
    port = server.add_insecure_port(address)
    if port == 0:
        raise RuntimeError(f"could not bind gRPC address {address}")
    return server, port, health_servicer
