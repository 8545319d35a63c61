"""Pooled connections are pinged only after sitting idle, and one that fails its ping is replaced."""
from __future__ import annotations

from sqlalchemy import text

from quoteflow.db import make_engine
from services.portal.bootstrap import ping_idle_connections


def test_only_idle_connections_are_pinged_and_a_dead_one_is_replaced(tmp_path, monkeypatch):
    engine = ping_idle_connections(make_engine(f"sqlite:///{tmp_path / 'p.db'}", pre_ping=False), idle_seconds=60)
    pings = []
    monkeypatch.setattr(engine.dialect, "do_ping", lambda dbapi_connection: pings.append(dbapi_connection))
    for _ in range(3):  # busy: back in the pool a moment ago, no ping
        with engine.connect() as conn:
            first = conn.connection.dbapi_connection
            assert conn.execute(text("SELECT 1")).scalar() == 1
    assert pings == []

    ping_idle_connections(engine, idle_seconds=0)  # a second watch on the same pool: every checkout is idle

    def dead(dbapi_connection):
        pings.append(dbapi_connection)
        if len(pings) == 1:
            raise OSError("server closed the connection unexpectedly")

    monkeypatch.setattr(engine.dialect, "do_ping", dead)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT 1")).scalar() == 1
        assert conn.connection.dbapi_connection is not first   # the dead one was thrown away
    assert pings and pings[0] is first
    engine.dispose()
