"""Database engines and the kernel's own tables (outbox, inbox).

Each service owns one database. Its metadata gets the outbox and inbox tables
from :func:`add_kernel_tables` so events are written in the same transaction
as the state they report.
"""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker


READ_ONLY = "quoteflow_read_only"  # execution option: a transaction that never writes (SQLite: no write lock)


def make_engine(url: str, *, pre_ping: bool = True) -> Engine:
    """An engine for ``url``; SQLite files get WAL, a busy timeout and their folder.

    ``pre_ping=False`` skips the ``SELECT 1`` round trip on every pool checkout (a caller that
    checks idle connections itself, e.g. the portal's per-request reads)."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            # SQLAlchemy's "begin" event below owns BEGIN, so the driver must not.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin_immediate(conn):
            # One writer at a time, taken up front: no lock upgrade deadlocks. A connection
            # marked read-only (see READ_ONLY) reads a WAL snapshot without queueing behind writers.
            conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE")

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return create_engine(url, pool_pre_ping=pre_ping, pool_size=10, max_overflow=10)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


def add_kernel_tables(metadata: MetaData) -> tuple[Table, Table]:
    """Adds the ``outbox`` and ``inbox`` tables to a service's metadata."""
    outbox = Table(
        "outbox",
        metadata,
        Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
        Column("event_id", String(64), nullable=False, unique=True),
        Column("type", String(100), nullable=False),
        Column("body", Text, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("published_at", DateTime(timezone=True), nullable=True, index=True),
        Column("attempts", Integer, nullable=False, default=0),
    )
    inbox = Table(
        "inbox",
        metadata,
        Column("event_id", String(64), primary_key=True),
        Column("type", String(100), nullable=False),
        Column("received_at", DateTime(timezone=True), nullable=False),
    )
    return outbox, inbox


__all__ = ["make_engine", "session_factory", "add_kernel_tables", "JSON"]
