import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.support.children import pythonpath

ROOT = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_python_m_services_signature_serves_and_stops_on_sigterm(tmp_path):
    port = free_port()
    env = {**os.environ, "QUOTEFLOW_VAR": str(tmp_path / "var"), "SIGNATURE_GRPC_ADDRESS": f"127.0.0.1:{port}",
           "BROKER_URL": f"filesystem://{tmp_path / 'bus'}", "PYTHONPATH": pythonpath(ROOT)}
    env.pop("QUOTEFLOW_ENV", None)
    process = subprocess.Popen([sys.executable, "-m", "services.signature"], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            grpc.channel_ready_future(channel).result(timeout=15)
            status = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service="quoteflow.v1.SignatureService"), timeout=5)
            assert status.status == health_pb2.HealthCheckResponse.SERVING
        key_dir = tmp_path / "var" / "signature"
        assert (key_dir / "seal-key.pem").exists() and (key_dir / "seal-cert.pem").exists()
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=20)[0].decode()
    assert process.returncode == 0, output
    assert "signature stopped" in output
