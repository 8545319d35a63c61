"""``quoteflow status``: health of each service, schema versions, outbox backlog and dead letters."""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from sqlalchemy import insert

from quoteflow import cli, topology
from quoteflow.auth import KeyRing
from quoteflow.bus import connect, declare_topology
from quoteflow.envelope import utcnow
from quoteflow.grpcserver import build_server


class _Healthz(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/healthz" else 404)
        self.end_headers()

    def log_message(self, *args):
        pass


def _head(service: str) -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory(f"services/{service}/migrations").get_current_head()


def _rows(text: str) -> dict[str, list[str]]:
    return {line.split()[0]: line.split() for line in text.splitlines()[2:] if line.strip()}


def test_status_shows_health_schema_backlog_and_dead_letters(tmp_path, monkeypatch, capsys):
    from services.notifier.adapters import orm as notifier_orm
    from services.notifier.bootstrap import migrate
    from quoteflow.db import make_engine

    var = tmp_path / "var"
    monkeypatch.setenv("QUOTEFLOW_VAR", str(var))
    monkeypatch.delenv("BROKER_URL", raising=False)
    for name in ("QUOTES", "PORTAL", "SIGNATURE", "NOTIFIER"):
        monkeypatch.delenv(f"{name}_DATABASE_URL", raising=False)
    engine = make_engine(f"sqlite:///{var / 'notifier.db'}")
    migrate(engine)
    with engine.begin() as conn:  # one event committed, not yet confirmed by the broker
        conn.execute(insert(notifier_orm.outbox).values(event_id="e-1", type="notification.sent", body="{}",
                                                        created_at=utcnow(), attempts=0))
    engine.dispose()
    url = f"filesystem://{var / 'bus'}"
    with connect(url) as connection:
        declare_topology(connection, url)
        connection.Producer().publish({"x": 1}, exchange=topology.DEAD_LETTERS,
                                      routing_key=topology.dead_letter_queue_name("notifier"), serializer="json")

    servers = []
    for name in ("quotes", "signature", "notifier"):
        server, port, _ = build_server("127.0.0.1:0", [], [], KeyRing({}))
        server.start()
        servers.append(server)
        monkeypatch.setenv(f"{name.upper()}_GRPC_TARGET", f"127.0.0.1:{port}")
    portal = ThreadingHTTPServer(("127.0.0.1", 0), _Healthz)
    threading.Thread(target=portal.serve_forever, daemon=True).start()
    monkeypatch.setenv("PORTAL_BASE_URL", f"http://127.0.0.1:{portal.server_port}")
    try:
        assert cli.main(["status"]) == 0
        rows = _rows(capsys.readouterr().out)
        assert {name: row[1] for name, row in rows.items()} == {
            "quotes": "serving", "portal": "serving", "signature": "serving", "notifier": "serving"}
        assert rows["notifier"][2] == _head("notifier") and rows["notifier"][3] == "1"  # schema, 1 unpublished
        assert rows["notifier"][-1] == "1" and rows["quotes"][-1] == "0"      # dead letters
        assert rows["quotes"][2:4] == ["-", "no"]  # no database yet, and none created by looking

        servers.pop().stop(0)  # notifier goes down: the command says so and exits 1
        assert cli.main(["status"]) == 1
        assert _rows(capsys.readouterr().out)["notifier"][1] == "down"
    finally:
        for server in servers:
            server.stop(0)
        portal.shutdown()
    assert not (var / "quotes.db").exists()
