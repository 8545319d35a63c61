"""The unit of work: one transaction, its outbox events, its inbox record.

A service subclasses :class:`SqlUnitOfWork` to attach its repositories in
``_open``. Nothing is written unless ``commit()`` is called; events emitted or
recorded by aggregates go to the outbox in the same transaction, and the relay
is woken after the commit.

Inside :func:`shared_transaction` (what a consumer uses to handle a batch of messages
with one commit) every unit of work of the thread runs in a SAVEPOINT of one shared
session per database: ``commit()`` releases the savepoint, a failure rolls back only
that unit's savepoint, and the real commit — then the relay wake-ups and the
``after_commit`` callbacks — happens once, when the batch commits.
"""
from __future__ import annotations

import contextlib
import functools
import json
import threading
from typing import Callable, Iterable, Iterator, Protocol

from sqlalchemy import insert, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

from quoteflow.envelope import Envelope, utcnow
from quoteflow.outbox import outbox_rows


class Wakeable(Protocol):
    def wake(self) -> None: ...


class AlreadyHandled(Exception):
    """This event id is already in the inbox: its effect happened once already."""


class SharedTransaction:
    """One transaction per database shared by the units of work opened while it is current."""

    def __init__(self):
        self._sessions: dict[int, Session] = {}
        self._after: list[Callable[[], None]] = []

    def session_for(self, factory: sessionmaker[Session]) -> Session:
        session = self._sessions.get(id(factory))
        if session is None:
            session = self._sessions[id(factory)] = factory()
        return session

    def after_commit(self, callback: Callable[[], None]) -> None:
        if callback not in self._after:
            self._after.append(callback)

    def commit(self) -> None:
        for session in self._sessions.values():
            session.commit()
        callbacks, self._after = self._after, []
        for callback in callbacks:
            callback()

    def close(self) -> None:
        self._after = []
        for session in self._sessions.values():
            try:
                session.rollback()
            finally:
                session.close()
        self._sessions = {}


_current = threading.local()


@functools.cache
def _inbox_many_statement(table: str):
    """PostgreSQL: a batch's inbox rows from one JSON array of [event id, type], in one statement of fixed
    text whatever the batch size (parsed once by the driver, then prepared by the server; a VALUES list
    of the batch's size is parsed afresh by both every time). It returns the ids that were in the
    inbox already: usually none, where returning the new ones fetches a row per event."""
    return text("WITH batch AS (SELECT r->>0 AS event_id, r->>1 AS type "
                "FROM json_array_elements(CAST(:events AS json)) AS r), "
                f"inserted AS (INSERT INTO {table} (event_id, type, received_at) "
                "SELECT event_id, type, :now FROM batch ON CONFLICT (event_id) DO NOTHING RETURNING event_id) "
                "SELECT event_id FROM batch WHERE event_id NOT IN (SELECT event_id FROM inserted)")


@contextlib.contextmanager
def shared_transaction() -> Iterator[SharedTransaction]:
    """Makes the units of work of this thread share one transaction until ``commit()`` (else rolled back)."""
    if getattr(_current, "transaction", None) is not None:
        raise RuntimeError("a shared transaction is already open in this thread")
    transaction = _current.transaction = SharedTransaction()
    try:
        yield transaction
    finally:
        _current.transaction = None
        transaction.close()


class SqlUnitOfWork:
    def __init__(self, sessions: sessionmaker[Session], outbox, inbox, relay: Wakeable | None = None):
        self._sessions = sessions
        self._outbox = outbox
        self._inbox = inbox
        self._relay = relay
        self.session: Session | None = None
        self._pending: list[Envelope] = []
        self._shared: SharedTransaction | None = None
        self._savepoint: SessionTransaction | None = None
        self._after: list[Callable[[], None]] = []

    def __enter__(self):
        self._shared = getattr(_current, "transaction", None)
        if self._shared is not None:
            self.session = self._shared.session_for(self._sessions)
            self._savepoint = self.session.begin_nested()
        else:
            self.session = self._sessions()
        self._pending = []
        self._after = []
        self._open(self.session)
        return self

    def __exit__(self, *exc):
        if self._shared is not None:
            try:
                if self._savepoint is not None and self._savepoint.is_active:
                    self._savepoint.rollback()
            finally:
                self._savepoint = None
                self._shared = None
                self.session = None
            return
        try:
            self.session.rollback()
        finally:
            self.session.close()
            self.session = None

    def _open(self, session: Session) -> None:
        """Attach repositories; overridden by services."""

    def collect_new_events(self) -> Iterable[Envelope]:
        """Events recorded by aggregates during this unit; overridden by services."""
        return ()

    def emit(self, envelope: Envelope) -> None:
        self._pending.append(envelope)

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Runs ``callback`` once this unit's writes are durable (after the batch's commit when batched)."""
        self._after.append(callback)

    def record_inbox(self, envelope: Envelope) -> None:
        """Marks ``envelope`` handled in this transaction; raises AlreadyHandled on a redelivery.

        ``INSERT … ON CONFLICT DO NOTHING``: on PostgreSQL a second replica handling the same
        event at the same moment waits on the first one's uncommitted row, then inserts
        nothing (it committed: AlreadyHandled) or inserts (it rolled back: handle it).
        """
        values = {"event_id": envelope.id, "type": envelope.type, "received_at": utcnow()}
        dialect = self.session.get_bind().dialect.name
        if dialect in ("postgresql", "sqlite"):
            module = postgresql if dialect == "postgresql" else sqlite
            statement = module.insert(self._inbox).values(**values).on_conflict_do_nothing(
                index_elements=[self._inbox.c.event_id]).returning(self._inbox.c.event_id)
            if self.session.execute(statement).first() is None:
                raise AlreadyHandled(envelope.id)
            return
        try:
            with self.session.begin_nested():
                self.session.execute(insert(self._inbox).values(**values))
        except IntegrityError:
            raise AlreadyHandled(envelope.id) from None

    def record_inbox_many(self, envelopes: list[Envelope]) -> list[Envelope]:
        """Marks a batch handled in one statement; returns those not handled before (a set-based handler's input)."""
        if not envelopes:
            return []
        now = utcnow()
        rows = [{"event_id": e.id, "type": e.type, "received_at": now} for e in {e.id: e for e in envelopes}.values()]
        dialect = self.session.get_bind().dialect.name
        if dialect not in ("postgresql", "sqlite"):
            fresh = []
            for envelope in envelopes:
                try:
                    self.record_inbox(envelope)
                    fresh.append(envelope)
                except AlreadyHandled:
                    pass
            return fresh
        if dialect == "postgresql":
            handled = set(self.session.execute(_inbox_many_statement(self._inbox.name), {
                "events": json.dumps([[row["event_id"], row["type"]] for row in rows]), "now": now}).scalars())
            inserted = {row["event_id"] for row in rows} - handled
        else:
            # executemany (SQLAlchemy's "insertmanyvalues"): one compiled statement, cached, whatever the batch size
            statement = sqlite.insert(self._inbox).on_conflict_do_nothing(
                index_elements=[self._inbox.c.event_id]).returning(self._inbox.c.event_id)
            inserted = set(self.session.execute(statement, rows).scalars())
        fresh, seen = [], set()
        for envelope in envelopes:
            if envelope.id in inserted and envelope.id not in seen:
                fresh.append(envelope)
                seen.add(envelope.id)
        return fresh

    def commit(self) -> None:
        events = [*self._pending, *self.collect_new_events()]
        for row in outbox_rows(events, utcnow()):
            self.session.execute(insert(self._outbox).values(**row))
        callbacks = list(self._after)
        if events and self._relay is not None:
            callbacks.append(self._relay.wake)
        try:
            if self._shared is not None:
                self._savepoint.commit()
            else:
                self.session.commit()
        except IntegrityError as exc:
            self.rollback()
            if "inbox" in str(exc.orig).lower() or "event_id" in str(exc.orig).lower():
                raise AlreadyHandled(str(exc.orig)) from None
            raise
        self._pending = []
        self._after = []
        if self._shared is not None:
            for callback in callbacks:
                self._shared.after_commit(callback)
            return
        for callback in callbacks:
            callback()

    def rollback(self) -> None:
        if self._shared is not None:
            if self._savepoint is not None and self._savepoint.is_active:
                self._savepoint.rollback()
            return
        self.session.rollback()
