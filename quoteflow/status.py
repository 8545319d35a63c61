"""``quoteflow status``: each service's health, versions, outbox backlog and dead letters.

Reads the same environment as the services: ``<SERVICE>_GRPC_TARGET`` (default the embedded
addresses), ``PORTAL_BASE_URL`` for the portal, ``<SERVICE>_DATABASE_URL`` (default the embedded
SQLite files) and ``BROKER_URL``.
"""
from __future__ import annotations

import os
import sys
import urllib.request
from importlib.metadata import PackageNotFoundError, version

from sqlalchemy import MetaData, create_engine, text

from quoteflow import topology
from quoteflow.config import var_dir
from quoteflow.db import add_kernel_tables
from quoteflow.healthcheck import serving
from quoteflow.outbox import outbox_status

GRPC_DEFAULTS = {"quotes": "127.0.0.1:50051", "signature": "127.0.0.1:50052", "notifier": "127.0.0.1:50053"}
SERVICES = ("quotes", "portal", "signature", "notifier")


def _database_url(service: str) -> str:
    url = os.environ.get(f"{service.upper()}_DATABASE_URL") or f"sqlite:///{var_dir() / service}.db"
    return "postgresql+psycopg://" + url[len("postgresql://"):] if url.startswith("postgresql://") else url


def _health(service: str) -> str:
    if service == "portal":
        base = os.environ.get("PORTAL_BASE_URL", "http://127.0.0.1:8080").rstrip("/")
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2) as reply:
                return "serving" if reply.status == 200 else f"HTTP {reply.status}"
        except OSError as error:
            return f"down ({error.__class__.__name__})"
    target = os.environ.get(f"{service.upper()}_GRPC_TARGET", GRPC_DEFAULTS[service])
    return "serving" if serving(target) else f"down ({target})"


def _database(service: str) -> tuple[str, str]:
    """(schema revision, outbox backlog text)."""
    outbox, _ = add_kernel_tables(MetaData())
    url = _database_url(service)
    if url.startswith("sqlite:///") and not os.path.exists(url[len("sqlite:///"):]):
        return "-", "no database"  # connecting would create an empty file
    try:
        engine = create_engine(url)
        count, _, age = outbox_status(engine, outbox)
        with engine.connect() as conn:
            try:
                revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar() or "-"
            except Exception:
                revision = "(no migrations)"
        engine.dispose()
    except Exception as error:  # a status command reports, it does not fail
        return "?", f"unreadable ({error.__class__.__name__})"
    return revision, f"{count} (oldest {age:.0f} s)" if count else "0"


def _dead_letters() -> dict[str, str]:
    from quoteflow.bus import connect, declare_topology, is_amqp

    url = os.environ.get("BROKER_URL") or f"filesystem://{var_dir() / 'bus'}"
    counts = {}
    try:
        with connect(url) as connection:
            declare_topology(connection, url)
            channel = connection.default_channel
            for service in topology.SUBSCRIPTIONS:
                queue = topology.dead_letter_queue(service, quorum=is_amqp(url))(channel)
                counts[service] = str(queue.queue_declare(passive=True).message_count)
    except Exception as error:
        return {service: f"? ({error.__class__.__name__})" for service in topology.SUBSCRIPTIONS}
    return counts


def report() -> list[tuple[str, str, str, str, str]]:
    dead = _dead_letters()
    rows = []
    for service in SERVICES:
        revision, backlog = _database(service)
        rows.append((service, _health(service), revision, backlog, dead.get(service, "-")))
    return rows


def main() -> int:
    try:
        package = version("quoteflow")
    except PackageNotFoundError:
        package = "source"
    rows = [("service", "health", "schema", "outbox backlog", "dead letters"), *report()]
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    print(f"quoteflow {package}")
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)))
    return 0 if all(row[1] == "serving" for row in rows[1:]) else 1


if __name__ == "__main__":
    sys.exit(main())
