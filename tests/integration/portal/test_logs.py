"""gunicorn with the repository's settings writes no link token to its output: the access log, its own
error log (requests it refuses before the app sees them) and the app's log show ``/d/h:<12 hex>``, the
start of the ``token_sha256`` of the link's row, which is how an operator finds it."""
from __future__ import annotations

import hashlib
import re
import socket
import sys

from sqlalchemy import select

from quoteflow.db import make_engine
from services.portal.adapters import orm

from tests.integration.portal.test_process import PORTAL, environment, fetch, free_port, started, stopped
from tests.integration.portal.world import World


def raw(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        return sock.recv(200)


def test_gunicorn_output_holds_link_references_never_tokens(tmp_path):
    world = World(tmp_path / "seed")
    sent = world.send()
    world.portal.close()
    token = sent["token"]
    ref = "h:" + hashlib.sha256(token.encode()).hexdigest()[:12]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = started([sys.executable, "-m", "gunicorn", "-c", str(PORTAL / "gunicorn.conf.py"),
                      "services.portal.wsgi:app"], environment(tmp_path, world, port), base)
    try:
        status, _, body = fetch(f"{base}/d/{token}", headers={"Referer": f"https://devis.example.com/d/{token}"})
        assert status == 200
        pdf_href = re.search(r'href="([^"]+/pdf\?vue=[^"]+)"', body.decode()).group(1).replace("&amp;", "&")
        assert fetch(base + pdf_href)[0] == 200
        assert fetch(f"{base}/d/{token[:20]}")[0] == 404                      # a truncated link
        # Refused by gunicorn itself, logged by its error log.
        assert raw(port, f"GET /d/{token}\r\n\r\n".encode()).startswith(b"HTTP/1.1 400")
        assert raw(port, f"GET /d/{token}/pdf?x={'a' * 5000} HTTP/1.1\r\nHost: x\r\n\r\n".encode()).startswith(
            b"HTTP/1.1 414")
    finally:
        log = stopped(server)
    assert token not in log and token[:20] not in log
    assert f'"GET /d/{ref} HTTP/1.1" 200' in log
    assert f'"https://devis.example.com/d/{ref}"' in log                      # the Referer
    assert re.search(rf'"GET /d/{ref}/pdf\?vue=[A-Za-z0-9_-]{{22}}\.[0-9a-f]{{32}} HTTP/1\.1" 200', log), log
    assert f"Invalid HTTP request line: 'GET /d/{ref}'" in log

    engine = make_engine(world.config.common.database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(select(orm.links.c.token_sha256).where(
                orm.links.c.token_sha256.like(ref[2:] + "%"))).all()
    finally:
        engine.dispose()
    assert [row.token_sha256 for row in rows] == [hashlib.sha256(token.encode()).hexdigest()]


def test_the_embedded_server_logs_link_references_never_tokens(tmp_path):
    """``python -m services.portal`` (``make run``): werkzeug's request lines go through the same redaction."""
    world = World(tmp_path / "seed")
    token = world.send()["token"]
    world.portal.close()
    ref = "h:" + hashlib.sha256(token.encode()).hexdigest()[:12]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = started([sys.executable, "-m", "services.portal"], environment(tmp_path, world, port), base)
    try:
        assert fetch(f"{base}/d/{token}")[0] == 200
        assert fetch(f"{base}/d/{token[:20]}")[0] == 404
    finally:
        log = stopped(server)
    assert token not in log and token[:20] not in log
    assert f"GET /d/{ref} HTTP/1.1" in log, log
