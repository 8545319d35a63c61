"""``python -m quoteflow.healthcheck HOST:PORT [SERVICE]``: exit 0 when the gRPC server reports SERVING."""
from __future__ import annotations

import sys

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


def serving(target: str, service: str = "", timeout: float = 2.0) -> bool:
    try:
        with grpc.insecure_channel(target) as channel:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=service), timeout=timeout)
            return reply.status == health_pb2.HealthCheckResponse.SERVING
    except grpc.RpcError:
        return False


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: python -m quoteflow.healthcheck HOST:PORT [SERVICE]")
    sys.exit(0 if serving(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "") else 1)
