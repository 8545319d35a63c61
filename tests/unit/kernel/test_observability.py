import io
import json
import logging

import grpc
from prometheus_client import REGISTRY

from quoteflow import client, observability
from quoteflow.auth import KeyRing, hash_key
from quoteflow.grpcserver import build_server
from quoteflow.v1 import signature_pb2, signature_pb2_grpc


def test_json_log_lines_carry_the_service_and_the_context():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(observability.JsonFormatter("quotes"))
    logger = logging.getLogger("test.json")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    with observability.log_context(tenant="acme", event_id="e-1", correlation_id="c-1"):
        logger.info("quote %s accepted", "DV-2026-00001")
    doc = json.loads(stream.getvalue())
    assert doc["service"] == "quotes" and doc["message"] == "quote DV-2026-00001 accepted"
    assert (doc["tenant"], doc["event_id"], doc["correlation_id"]) == ("acme", "e-1", "c-1")
    assert doc["time"].endswith("Z")


class _Servicer(signature_pb2_grpc.SignatureServiceServicer):
    def GetRequest(self, request, context):
        return signature_pb2.SignatureRequest(quote_id=request.quote_id)


def test_rpc_count_and_latency_are_recorded_by_method_and_code():
    server, port, _ = build_server(
        "127.0.0.1:0", [lambda s: signature_pb2_grpc.add_SignatureServiceServicer_to_server(_Servicer(), s)],
        ["quoteflow.v1.SignatureService"], KeyRing({hash_key("k"): "acme"}))
    server.start()
    try:
        def count(code):
            return REGISTRY.get_sample_value("quoteflow_rpc_requests_total",
                                             {"service": "SignatureService", "method": "GetRequest", "code": code}) or 0
        ok_before, denied_before = count("OK"), count("UNAUTHENTICATED")
        client.signature(f"127.0.0.1:{port}", "k").GetRequest(signature_pb2.GetRequestRequest(quote_id="q"))
        try:
            client.signature(f"127.0.0.1:{port}", "wrong").GetRequest(signature_pb2.GetRequestRequest())
        except grpc.RpcError as error:
            assert error.code() == grpc.StatusCode.UNAUTHENTICATED
        assert count("OK") == ok_before + 1 and count("UNAUTHENTICATED") == denied_before + 1
        assert REGISTRY.get_sample_value("quoteflow_rpc_duration_seconds_count",
                                         {"service": "SignatureService", "method": "GetRequest"}) >= 2
    finally:
        server.stop(0)
