"""Helpers shared by the kernel's integration tests (imported, not a conftest)."""
from __future__ import annotations

import threading
import time

from sqlalchemy import Column, Integer, MetaData, String, Table

from quoteflow.bus import EventConsumer
from quoteflow.db import add_kernel_tables, make_engine, session_factory
from quoteflow.envelope import Envelope
from quoteflow.uow import SqlUnitOfWork
from quoteflow.v1 import events_pb2


def viewed(i: int | str, *, quote: str | None = None, note: str = "") -> Envelope:
    quote = quote or f"q{i}"
    return Envelope.wrap(events_pb2.QuoteViewed(quote_id=quote, user_agent=note or f"n{i}"), source="test",
                         subject=f"quote/{quote}", tenant="t")


def start(target) -> threading.Thread:
    thread = threading.Thread(target=target.run, daemon=True)
    thread.start()
    return thread


def wait_for(check, timeout=30.0, interval=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(interval)
    return bool(check())


class EffectStore:
    """A service database with the kernel tables and one effect table, plus a real idempotent handler."""

    def __init__(self, url: str, *, create: bool = True):
        self.metadata = MetaData()
        self.outbox, self.inbox = add_kernel_tables(self.metadata)
        self.effects = Table("effects", self.metadata, Column("event_id", String(64), nullable=False),
                             Column("part", Integer, nullable=False), Column("quote_id", String(64)),
                             Column("worker", String(40), nullable=False, default=""))
        self.engine = make_engine(url)
        if create:
            self.metadata.create_all(self.engine)
        self.sessions = session_factory(self.engine)

    def uow(self, relay=None) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.sessions, self.outbox, self.inbox, relay)

    def handle(self, envelope: Envelope, between=None, worker: str = "") -> None:
        """Writes two effect rows and the inbox record in one transaction; ``between`` runs in the middle."""
        with self.uow() as uow:
            uow.record_inbox(envelope)
            quote = envelope.payload().quote_id
            uow.session.execute(self.effects.insert().values(event_id=envelope.id, part=1, quote_id=quote,
                                                             worker=worker))
            if between is not None:
                between(envelope)
            uow.session.execute(self.effects.insert().values(event_id=envelope.id, part=2, quote_id=quote,
                                                             worker=worker))
            uow.commit()

    def workers(self) -> dict[str, int]:
        """Events handled per worker."""
        with self.engine.connect() as conn:
            rows = conn.execute(self.effects.select().where(self.effects.c.part == 1)).all()
        found: dict[str, int] = {}
        for row in rows:
            found[row.worker] = found.get(row.worker, 0) + 1
        return found

    def effect_counts(self) -> dict[str, list[int]]:
        with self.engine.connect() as conn:
            rows = conn.execute(self.effects.select()).all()
        found: dict[str, list[int]] = {}
        for row in rows:
            found.setdefault(row.event_id, []).append(row.part)
        return found

    def lost_and_duplicated(self, event_ids) -> tuple[int, int]:
        """(events of ``event_ids`` with no effect, events whose effects are not exactly parts 1 and 2 once)."""
        effects = self.effect_counts()
        return (len(set(event_ids) - set(effects)),
                sum(1 for parts in effects.values() if sorted(parts) != [1, 2]))


def stop_all(*runners, threads=()):
    for runner in runners:
        runner.stop()
    for thread in threads:
        thread.join(10)


def consumer(url: str, service: str, handle, **kwargs) -> EventConsumer:
    return EventConsumer(url, service, handle, **kwargs)


def set_handler(store: EffectStore, fail_on: set[str] = frozenset()):
    """A set-based handler: one inbox statement and one effects statement for a whole batch."""

    def handle_batch(envelopes):
        with store.uow() as uow:
            fresh = uow.record_inbox_many(envelopes)
            if any(e.id in fail_on for e in fresh):
                raise ValueError("a bad event in the batch")
            if fresh:
                uow.session.execute(store.effects.insert(), [
                    {"event_id": e.id, "part": part, "quote_id": e.payload().quote_id, "worker": "set"}
                    for e in fresh for part in (1, 2)])
            uow.commit()

    return handle_batch
