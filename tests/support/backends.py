"""Private RabbitMQ virtual hosts and PostgreSQL databases, so parallel test runs never see each other."""
from __future__ import annotations

import contextlib
import subprocess
import uuid

from tests.support.children import real_clock_env

RABBITMQ_HOST = "127.0.0.1:5672"
POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def _rabbitmqctl(*args: str) -> None:
    # The broker's own tool keeps the real clock under scripts/far-ahead.sh (faked, it failed now and then).
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60, env=real_clock_env())


@contextlib.contextmanager
def private_vhost(prefix: str = "qf_test"):
    """Yields an ``amqp://`` URL on a fresh virtual host, deleted afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    _rabbitmqctl("add_vhost", name)
    try:
        _rabbitmqctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
        yield f"amqp://guest:guest@{RABBITMQ_HOST}/{name}"
    finally:
        _rabbitmqctl("delete_vhost", name)


@contextlib.contextmanager
def private_databases(names, prefix: str = "qf_test"):
    """Yields {name: postgresql:// URL}, one fresh database each, dropped afterwards."""
    from sqlalchemy import create_engine, text

    stem = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    urls = {}
    try:
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f'CREATE DATABASE "{stem}_{name}"'))
                urls[name] = f"postgresql://postgres@127.0.0.1:5432/{stem}_{name}"
        yield urls
    finally:
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{stem}_{name}" WITH (FORCE)'))
        admin.dispose()
