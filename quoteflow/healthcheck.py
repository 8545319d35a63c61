"""Health checks for containers.

``python -m quoteflow.healthcheck HOST:PORT [SERVICE]``: exit 0 when the gRPC server reports SERVING.
``python -m quoteflow.healthcheck --heartbeat FILE [MAX_AGE]``: exit 0 when a port-less worker touched
FILE (``QUOTEFLOW_HEARTBEAT_FILE``) within MAX_AGE seconds (default 60).
"""
from __future__ import annotations

import os
import sys
import time

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


def fresh(path: str, max_age: float) -> bool:
    try:
        return time.time() - os.path.getmtime(path) <= max_age
    except OSError:
        return False


if __name__ == "__main__":
    if sys.argv[1:2] == ["--heartbeat"] and len(sys.argv) > 2:
        sys.exit(0 if fresh(sys.argv[2], float(sys.argv[3]) if len(sys.argv) > 3 else 60.0) else 1)
    if len(sys.argv) < 2:
        sys.exit("usage: python -m quoteflow.healthcheck HOST:PORT [SERVICE]")
    sys.exit(0 if serving(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "") else 1)
