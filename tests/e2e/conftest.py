"""Starts the four services as OS processes, on the embedded default or on RabbitMQ + PostgreSQL."""
from __future__ import annotations

import uuid

import pytest

from quoteflow.auth import new_key
from quoteflow.launcher import SERVICES, Suite, free_port

RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672//"
POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def _create_databases(prefix: str) -> dict[str, str]:
    from sqlalchemy import create_engine, text

    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    urls = {}
    with admin.connect() as conn:
        for name in SERVICES:
            conn.execute(text(f'CREATE DATABASE "{prefix}_{name}"'))
            urls[name] = f"postgresql://postgres@127.0.0.1:5432/{prefix}_{name}"
    admin.dispose()
    return urls


def _drop_databases(prefix: str) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for name in SERVICES:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{prefix}_{name}" WITH (FORCE)'))
    admin.dispose()


def _purge_queues() -> None:
    """Leftovers of an earlier, interrupted run must not reach this run's services."""
    from quoteflow import topology
    from quoteflow.bus import connect, declare_topology

    with connect(RABBITMQ_URL) as connection:
        declare_topology(connection, RABBITMQ_URL)
        channel = connection.default_channel
        for service in topology.SUBSCRIPTIONS:
            channel.queue_purge(topology.queue_name(service))
            channel.queue_purge(topology.dead_letter_queue_name(service))


@pytest.fixture(params=["embedded", "rabbitmq+postgresql"])
def suite(request, tmp_path):
    tenant = f"t-{uuid.uuid4().hex[:8]}"
    kwargs = {}
    prefix = None
    if request.param != "embedded":
        prefix = f"qf_e2e_{uuid.uuid4().hex[:10]}"
        kwargs["database_urls"] = _create_databases(prefix)
        kwargs["broker_url"] = RABBITMQ_URL
        _purge_queues()
    suite = Suite(var=tmp_path / "var", ports={name: free_port() for name in SERVICES},
                  api_keys={tenant: new_key()}, **kwargs)
    suite.tenant = tenant
    suite.mode = request.param
    suite.start()
    try:
        suite.wait_healthy(90)
        yield suite
    finally:
        codes = suite.stop()
        if prefix:
            _drop_databases(prefix)
        for name in SERVICES:
            print(f"--- {name} log (last lines) ---\n{suite.tail(name, 15)}")
        assert all(code == 0 for code in codes.values()), f"a service did not stop cleanly: {codes}"
