"""The portal as production runs it: ``python -m services.portal migrate``, then gunicorn with the settings
of the repository, serving from its own database and the blob store while quotes and the signature
service are down (the portal depends on neither to show a quote; its events wait in its outbox)."""
from __future__ import annotations

import ast
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from sqlalchemy import inspect

from quoteflow.db import make_engine

from tests.integration.portal.world import UA, World
from tests.support.children import pythonpath

ROOT = Path(__file__).resolve().parents[3]
PORTAL = ROOT / "services" / "portal"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(url, data=None, headers=None):
    request = urllib.request.Request(url, data=data, headers={"User-Agent": UA, **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, dict(reply.headers), reply.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def environment(tmp_path: Path, world: World, port: int) -> dict:
    return {**os.environ, "QUOTEFLOW_VAR": str(tmp_path / "var"),
            "DATABASE_URL": world.config.common.database_url, "BLOB_DIR": str(world.config.common.blob_dir),
            "BROKER_URL": f"filesystem://{tmp_path / 'bus'}",
            "SIGNATURE_GRPC_TARGET": "127.0.0.1:1",                     # so is the signature service
            "PORTAL_SECRET_KEY": world.config.secret_key, "PORTAL_HTTP_ADDRESS": f"127.0.0.1:{port}",
            "PORTAL_WORKERS": "1", "PORTAL_THREADS": "4", "PYTHONPATH": pythonpath(ROOT)}


def started(command: list[str], env: dict, base: str) -> subprocess.Popen:
    """The server ``command`` runs, once it answers ``/healthz``."""
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while True:
        try:
            if fetch(base + "/healthz")[0] == 200:
                return server
        except OSError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            raise AssertionError(f"{command} did not answer: " + server.stdout.read().decode(errors="replace"))
        time.sleep(0.1)


def stopped(server: subprocess.Popen) -> str:
    """What the server wrote, once SIGTERM stopped it cleanly."""
    server.send_signal(signal.SIGTERM)
    try:
        code = server.wait(30)
    finally:
        if server.poll() is None:
            server.kill()
    log = server.stdout.read().decode(errors="replace")
    assert code == 0, log
    return log


def test_migrate_command_builds_the_schema(tmp_path):
    url = f"sqlite:///{tmp_path / 'portal.db'}"
    done = subprocess.run([sys.executable, "-m", "services.portal", "migrate"], cwd=ROOT, timeout=60,
                          env={**os.environ, "DATABASE_URL": url, "QUOTEFLOW_VAR": str(tmp_path)},
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    engine = make_engine(url)
    assert {"links", "versions", "views", "outbox", "inbox", "alembic_version"} <= set(
        inspect(engine).get_table_names())
    engine.dispose()


def test_nothing_in_the_portal_reaches_quotes():
    for path in PORTAL.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                assert not name.startswith("services.") or name.startswith("services.portal"), (path, name)
                assert "quotes_pb2" not in name and "notifier_pb2" not in name, (path, name)


def test_gunicorn_serves_quotes_while_quotes_and_signature_are_down(tmp_path):
    world = World(tmp_path / "seed")
    sent = world.send()
    world.portal.close()
    port, metrics_port = free_port(), free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**environment(tmp_path, world, port), "METRICS_ADDRESS": f"127.0.0.1:{metrics_port}"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    server = started([sys.executable, "-m", "gunicorn", "-c", str(PORTAL / "gunicorn.conf.py"),
                      "services.portal.wsgi:app"], env, base)
    try:
        status, headers, body = fetch(f"{base}/d/{sent['token']}")
        assert status == 200 and sent["number"] in body.decode()
        assert headers["Cache-Control"] == "no-store" and "default-src 'none'" in headers["Content-Security-Policy"]
        html = body.decode()
        beacon = World.beacon_of(html)
        status, headers, _ = fetch(base + beacon["url"], data=f"csrf_token={beacon['csrf_token']}&vue="
                                   f"{beacon['vue']}".encode(),
                                   headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert status == 204 and headers["X-Quoteflow-View"] == "counted"   # RecordOpened failed quietly
        pdf_href = re.search(r'href="([^"]+/pdf\?vue=[^"]+)"', html).group(1).replace("&amp;", "&")
        status, headers, pdf = fetch(base + pdf_href)
        assert status == 200 and pdf.startswith(b"%PDF")
        assert fetch(f"{base}/d/{'A' * 43}")[0] == 404
        # The download is spooled by the gunicorn worker, in its outbox within PORTAL_FACTS_LINGER_MS.
        deadline = time.monotonic() + 10
        while len(world.outbox()) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [e["type"] for e in world.outbox()] == ["portal.quote_viewed", "portal.quote_downloaded"]
        # The master serves every worker's HTTP latency on METRICS_ADDRESS: routes, never tokens.
        status, _, metrics = fetch(f"http://127.0.0.1:{metrics_port}/metrics")
        scraped = metrics.decode()
        assert status == 200
        assert re.search(r'quoteflow_http_request_duration_seconds_count\{[^}]*route="/d/<token>"[^}]*\} 1\.0',
                         scraped), scraped
        assert 'route="/d/<token>/pdf"' in scraped and 'route="/d/<token>/vu"' in scraped
        assert sent["token"] not in scraped
    finally:
        log = stopped(server)
    assert "Booting worker" in log
