"""The unit of work: one transaction, its outbox events, its inbox record.

A service subclasses :class:`SqlUnitOfWork` to attach its repositories in
``_open``. Nothing is written unless ``commit()`` is called; events emitted or
recorded by aggregates go to the outbox in the same transaction, and the relay
is woken after the commit.
"""
from __future__ import annotations

from typing import Iterable, Protocol

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from quoteflow.envelope import Envelope, utcnow


class Wakeable(Protocol):
    def wake(self) -> None: ...


class AlreadyHandled(Exception):
    """This event id is already in the inbox: its effect happened once already."""


class SqlUnitOfWork:
    def __init__(self, sessions: sessionmaker[Session], outbox, inbox, relay: Wakeable | None = None):
        self._sessions = sessions
        self._outbox = outbox
        self._inbox = inbox
        self._relay = relay
        self.session: Session | None = None
        self._pending: list[Envelope] = []

    def __enter__(self):
        self.session = self._sessions()
        self._pending = []
        self._open(self.session)
        return self

    def __exit__(self, *exc):
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

    def record_inbox(self, envelope: Envelope) -> None:
        """Marks ``envelope`` handled in this transaction; raises AlreadyHandled on a redelivery."""
        seen = self.session.execute(
            select(self._inbox.c.event_id).where(self._inbox.c.event_id == envelope.id)
        ).first()
        if seen:
            raise AlreadyHandled(envelope.id)
        self.session.execute(insert(self._inbox).values(
            event_id=envelope.id, type=envelope.type, received_at=utcnow()))

    def commit(self) -> None:
        events = [*self._pending, *self.collect_new_events()]
        now = utcnow()
        for envelope in events:
            self.session.execute(insert(self._outbox).values(
                event_id=envelope.id, type=envelope.type, body=envelope.to_json(),
                created_at=now, attempts=0))
        try:
            self.session.commit()
        except IntegrityError as exc:
            self.session.rollback()
            if "inbox" in str(exc.orig).lower() or "event_id" in str(exc.orig).lower():
                raise AlreadyHandled(str(exc.orig)) from None
            raise
        self._pending = []
        if events and self._relay is not None:
            self._relay.wake()

    def rollback(self) -> None:
        self.session.rollback()
