"""Starts the four services as separate OS processes, waits until each is healthy, stops them cleanly.

Used by ``make run`` (``python -m quoteflow.launcher``) and by the end-to-end tests.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from quoteflow.auth import hash_key, new_key
from quoteflow.healthcheck import serving

SERVICES = ("quotes", "signature", "notifier", "portal")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Suite:
    """The four services on this machine, with their addresses and environment."""

    var: Path
    broker_url: str = ""
    database_urls: dict[str, str] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    api_keys: dict[str, str] = field(default_factory=dict)  # tenant -> raw key
    extra_env: dict[str, str] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def __post_init__(self):
        self.var = Path(self.var).resolve()
        defaults = {"quotes": 50051, "signature": 50052, "notifier": 50053, "portal": 8080}
        for name in SERVICES:
            self.ports.setdefault(name, defaults[name])
        self.broker_url = self.broker_url or f"filesystem://{self.var / 'bus'}"
        self.service_key = self.extra_env.get("QUOTEFLOW_SERVICE_KEY") or new_key()

    @property
    def quotes_target(self) -> str:
        return f"127.0.0.1:{self.ports['quotes']}"

    @property
    def signature_target(self) -> str:
        return f"127.0.0.1:{self.ports['signature']}"

    @property
    def notifier_target(self) -> str:
        return f"127.0.0.1:{self.ports['notifier']}"

    @property
    def portal_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['portal']}"

    def env(self, name: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL")}
        env.update({
            "QUOTEFLOW_VAR": str(self.var),
            "BROKER_URL": self.broker_url,
            "BLOB_DIR": str(self.var / "blobs"),
            "QUOTEFLOW_API_KEYS": ",".join(f"{t}:{hash_key(k)}" for t, k in self.api_keys.items()),
            "QUOTEFLOW_SERVICE_KEY": self.service_key,
            "QUOTES_GRPC_ADDRESS": self.quotes_target,
            "SIGNATURE_GRPC_ADDRESS": self.signature_target,
            "NOTIFIER_GRPC_ADDRESS": self.notifier_target,
            "PORTAL_HTTP_ADDRESS": f"127.0.0.1:{self.ports['portal']}",
            "PORTAL_BASE_URL": self.portal_url,
            "SIGNATURE_GRPC_TARGET": self.signature_target,
            "MAIL_SINK_DIR": str(self.var / "mail"),
            "SMS_LOG": str(self.var / "sms.log"),
            "PYTHONUNBUFFERED": "1",
        })
        if name in self.database_urls:
            env["DATABASE_URL"] = self.database_urls[name]
        env.update(self.extra_env)
        return env

    def start(self, names=SERVICES) -> None:
        logs = self.var / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        root = Path(__file__).resolve().parent.parent
        for name in names:
            log = open(logs / f"{name}.log", "ab")
            self.processes[name] = subprocess.Popen(
                [sys.executable, "-m", f"services.{name}"], cwd=root, env=self.env(name),
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def healthy(self, name: str) -> bool:
        if name == "portal":
            try:
                with urllib.request.urlopen(f"{self.portal_url}/healthz", timeout=2) as reply:
                    return reply.status == 200
            except OSError:
                return False
        return serving(f"127.0.0.1:{self.ports[name]}")

    def wait_healthy(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        pending = set(self.processes)
        while pending and time.monotonic() < deadline:
            for name in list(pending):
                process = self.processes[name]
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited with {process.returncode}; see {self.var}/logs/{name}.log:\n"
                                       + self.tail(name))
                if self.healthy(name):
                    pending.discard(name)
            time.sleep(0.1)
        if pending:
            raise RuntimeError(f"not healthy after {timeout:.0f}s: {', '.join(sorted(pending))}\n"
                               + "\n".join(self.tail(n) for n in pending))

    def tail(self, name: str, lines: int = 40) -> str:
        path = self.var / "logs" / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def stop(self, timeout: float = 15.0) -> dict[str, int]:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        codes = {}
        for name, process in self.processes.items():
            try:
                codes[name] = process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                codes[name] = process.wait()
        self.processes.clear()
        return codes


def _demo_key(var: Path) -> str:
    path = var / "demo-api-key"
    if not path.exists():
        var.mkdir(parents=True, exist_ok=True)
        path.write_text(new_key())
        path.chmod(0o600)
    return path.read_text().strip()


def main() -> None:
    var = Path(os.environ.get("QUOTEFLOW_VAR", "var")).resolve()
    suite = Suite(var=var, api_keys={"demo": _demo_key(var)}, broker_url=os.environ.get("BROKER_URL", ""))
    print(f"Starting Quoteflow (embedded mode, data in {var}) …", flush=True)
    suite.start()
    try:
        suite.wait_healthy()
        from quoteflow.demo import seed

        demo = seed(suite.quotes_target, suite.api_keys["demo"], var)
        print(f"""
Quoteflow is running: four services, one process each (logs in {var}/logs).
  CRM gRPC (QuoteService)     {suite.quotes_target}   authorization: Bearer {suite.api_keys['demo']}
  Signature gRPC              {suite.signature_target}
  Notifier gRPC               {suite.notifier_target}
  Client portal               {suite.portal_url}

Demo quote {demo['number']} sent to {demo['recipient']} — open it as the client would:
  {demo['link_url']}

Mail sink (Maildir): {var}/mail   read it with: .venv/bin/quoteflow mail list
Press Ctrl-C to stop all four services.""", flush=True)
        while all(p.poll() is None for p in suite.processes.values()):
            time.sleep(0.5)
        dead = [n for n, p in suite.processes.items() if p.poll() is not None]
        print(f"service(s) stopped unexpectedly: {', '.join(dead)}; see {var}/logs", file=sys.stderr)
    except KeyboardInterrupt:
        pass
    finally:
        print("\nStopping …", flush=True)
        codes = suite.stop()
        print("Stopped: " + ", ".join(f"{n} ({c})" for n, c in codes.items()), flush=True)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    main()
