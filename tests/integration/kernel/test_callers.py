"""The kernel's interceptor lets through only the caller an rpc declares, and fails closed on anything undeclared.

A probe service is described at run time (a descriptor in the default pool, as the generated stubs put theirs)
so the test holds rpcs that the real contract must never have: one without ``option (caller)``, one without
any descriptor, a streaming one.
"""
from __future__ import annotations

import grpc
import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, empty_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc

from quoteflow.auth import KeyRing, hash_key
from quoteflow.grpcserver import build_server
from quoteflow.v1 import options_pb2

PACKAGE = "quoteflow_probe"
CRM_KEY, SERVICE_KEY = "qf_probe-crm-key", "probe-service-key"
EMPTY = empty_pb2.Empty()


def _describe_probe() -> None:
    """quoteflow_probe.Probe: ForCrm declares CALLER_CRM, Undeclared declares nothing."""
    pool = descriptor_pool.Default()
    try:
        pool.FindServiceByName(f"{PACKAGE}.Probe")
        return
    except KeyError:
        pass
    file = descriptor_pb2.FileDescriptorProto(name=f"{PACKAGE}/probe.proto", package=PACKAGE, syntax="proto3",
                                              dependency=["google/protobuf/empty.proto", "quoteflow/v1/options.proto"])
    service = file.service.add(name="Probe")
    for name in ("ForCrm", "Undeclared"):
        service.method.add(name=name, input_type=".google.protobuf.Empty", output_type=".google.protobuf.Empty")
    service.method[0].options.Extensions[options_pb2.caller] = options_pb2.CALLER_CRM
    pool.Add(file)


@pytest.fixture
def probe():
    """A kernel server with the probe's rpcs and the one without a descriptor; yields (call, names of rpcs run)."""
    _describe_probe()
    ran: list[str] = []

    def unary(name):
        def run(request, context):
            ran.append(name)
            return EMPTY
        return grpc.unary_unary_rpc_method_handler(run, request_deserializer=empty_pb2.Empty.FromString,
                                                   response_serializer=empty_pb2.Empty.SerializeToString)

    def stream(request, context):
        ran.append("Stream")
        yield EMPTY

    def register(server):
        server.add_generic_rpc_handlers((
            grpc.method_handlers_generic_handler(f"{PACKAGE}.Probe", {
                "ForCrm": unary("ForCrm"), "Undeclared": unary("Undeclared"),
                "Stream": grpc.unary_stream_rpc_method_handler(
                    stream, request_deserializer=empty_pb2.Empty.FromString,
                    response_serializer=empty_pb2.Empty.SerializeToString)}),
            grpc.method_handlers_generic_handler(f"{PACKAGE}.Undescribed", {"Anything": unary("Anything")}),
        ))

    server, port, _ = build_server("127.0.0.1:0", [register], [f"{PACKAGE}.Probe"],
                                   KeyRing({hash_key(CRM_KEY): "acme"}, SERVICE_KEY))
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")

    def call(path: str, key: str = "") -> grpc.StatusCode:
        metadata = (("authorization", f"Bearer {key}"),) if key else ()
        try:
            if path.endswith("/Stream"):
                list(channel.unary_stream(path, request_serializer=empty_pb2.Empty.SerializeToString,
                                          response_deserializer=empty_pb2.Empty.FromString)(EMPTY, metadata=metadata))
            else:
                channel.unary_unary(path, request_serializer=empty_pb2.Empty.SerializeToString,
                                    response_deserializer=empty_pb2.Empty.FromString)(EMPTY, metadata=metadata)
            return grpc.StatusCode.OK
        except grpc.RpcError as error:
            return error.code()

    yield call, ran, channel
    channel.close()
    server.stop(0)


def test_a_declared_rpc_takes_its_caller_and_refuses_the_other_kind(probe):
    call, ran, _ = probe
    assert call(f"/{PACKAGE}.Probe/ForCrm", SERVICE_KEY) == grpc.StatusCode.PERMISSION_DENIED
    assert call(f"/{PACKAGE}.Probe/ForCrm") == grpc.StatusCode.UNAUTHENTICATED
    assert ran == []
    assert call(f"/{PACKAGE}.Probe/ForCrm", CRM_KEY) == grpc.StatusCode.OK
    assert ran == ["ForCrm"]


def test_an_rpc_without_a_declaration_or_a_descriptor_is_refused_to_every_key(probe):
    call, ran, _ = probe
    for path in (f"/{PACKAGE}.Probe/Undeclared", f"/{PACKAGE}.Undescribed/Anything"):
        assert call(path, CRM_KEY) == grpc.StatusCode.PERMISSION_DENIED, path
        assert call(path, SERVICE_KEY) == grpc.StatusCode.PERMISSION_DENIED, path
        assert call(path) == grpc.StatusCode.UNAUTHENTICATED, path
    assert ran == []


def test_a_streaming_rpc_never_runs_unauthenticated_and_health_stays_open(probe):
    call, ran, channel = probe
    assert call(f"/{PACKAGE}.Probe/Stream", CRM_KEY) == grpc.StatusCode.UNIMPLEMENTED
    assert call(f"/{PACKAGE}.Probe/Stream") == grpc.StatusCode.UNIMPLEMENTED
    assert ran == []
    health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=f"{PACKAGE}.Probe"))
    assert health.status == health_pb2.HealthCheckResponse.SERVING
