"""API keys kept in a database: quotes issues and revokes them, signature and notifier keep a copy.

quotes is the system of record (its ``api_keys`` table, written by ``quoteflow apikey create``
and ``revoke``). Each change is reported by an ``apikey.created`` / ``apikey.revoked`` event
written to quotes' outbox in the same transaction, carrying the key's SHA-256, never the key.
signature and notifier apply those events to their own ``api_keys`` table (same columns, the
event id recorded in their inbox in the same transaction), so no service reads another's
database. Every gRPC call looks its key's hash up in the local table (a unique index): a
revocation takes effect on quotes at its commit, on signature and notifier once they have
consumed the event: the CLI is another process, so the quotes relay publishes the row at its
next sweep (``OutboxRelay.sweep_seconds``, 2 s), and the consumers apply it on arrival.
"""
from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

from sqlalchemy import Column, DateTime, Index, MetaData, String, Table, insert, select, update
from sqlalchemy.engine import Engine

from quoteflow.auth import hash_key, new_key
from quoteflow.db import READ_ONLY, session_factory
from quoteflow.envelope import Envelope, rfc3339, utcnow
from quoteflow.errors import FailedPrecondition, InvalidArgument, NotFound
from quoteflow.uow import AlreadyHandled, SqlUnitOfWork
from quoteflow.v1 import events_pb2

log = logging.getLogger(__name__)

KEY_EVENTS = ("apikey.created", "apikey.revoked")
SOURCE = "quoteflow/quotes"  # the keys are issued in the quotes database, whoever runs the command
PREFIX_LENGTH = 10  # "qf_" and 7 characters of the key: enough to recognise it, useless to guess it


def add_api_keys_table(metadata: MetaData) -> Table:
    """The ``api_keys`` table, the same in quotes (the record) and in each service's copy."""
    return Table(
        "api_keys", metadata,
        Column("key_id", String(32), primary_key=True),
        Column("tenant", String(64), nullable=False),
        Column("label", String(200), nullable=False, default=""),
        Column("prefix", String(16), nullable=False, default=""),
        Column("sha256", String(64), nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("revoked_at", DateTime(timezone=True), nullable=True),
        Index("ix_api_keys_sha256", "sha256", unique=True),
        Index("ix_api_keys_tenant", "tenant"),
    )


def create_api_keys_table(op) -> None:
    """The migration that makes ``api_keys`` (revision 0003 of quotes, signature and notifier).

    Frozen as written: a later change to the table gets its own revision in each service."""
    import sqlalchemy as sa

    op.create_table(
        "api_keys",
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key_id"),
    )
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.create_index("ix_api_keys_sha256", ["sha256"], unique=True)
        batch_op.create_index("ix_api_keys_tenant", ["tenant"], unique=False)


def drop_api_keys_table(op) -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_index("ix_api_keys_tenant")
        batch_op.drop_index("ix_api_keys_sha256")
    op.drop_table("api_keys")


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    tenant: str
    label: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None


def _aware(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is None:  # SQLite hands back naive UTC
        return moment.replace(tzinfo=timezone.utc)
    return moment


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else utcnow()


class KeyTable:
    """A service's local ``api_keys`` table, as the gRPC interceptor sees it: hash -> tenant."""

    def __init__(self, engine: Engine, table: Table):
        self.engine = engine
        self.table = table

    def tenant_of(self, digest: str) -> str | None:
        """The tenant of the live key whose SHA-256 is ``digest`` (one indexed lookup)."""
        t = self.table
        with self.engine.connect().execution_options(**{READ_ONLY: True}) as conn:
            return conn.execute(select(t.c.tenant).where(t.c.sha256 == digest, t.c.revoked_at.is_(None))).scalar()


class KeyIssuer(KeyTable):
    """quotes' side: creates, revokes and lists keys; each change and its event commit together."""

    def __init__(self, engine: Engine, table: Table, outbox: Table, inbox: Table, relay=None):
        super().__init__(engine, table)
        self._sessions = session_factory(engine)
        self._outbox, self._inbox, self._relay = outbox, inbox, relay

    def _uow(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self._sessions, self._outbox, self._inbox, self._relay)

    def create(self, tenant: str, label: str = "") -> tuple[ApiKey, str]:
        """A new key for ``tenant``: (its record, the key itself, which exists nowhere else)."""
        tenant, label = tenant.strip(), label.strip()
        problems = {}
        if not tenant or len(tenant) > 64:
            problems["tenant"] = "must be 1 to 64 characters"
        if len(label) > 200:
            problems["label"] = "must be at most 200 characters"
        if problems:
            raise InvalidArgument(problems)
        raw = new_key()
        key = ApiKey(key_id="ak_" + secrets.token_hex(8), tenant=tenant, label=label, prefix=raw[:PREFIX_LENGTH],
                     created_at=utcnow(), revoked_at=None)
        digest = hash_key(raw)
        with self._uow() as uow:
            uow.session.execute(insert(self.table).values(
                key_id=key.key_id, tenant=tenant, label=label, prefix=key.prefix, sha256=digest,
                created_at=key.created_at))
            uow.emit(Envelope.wrap(events_pb2.ApiKeyCreated(
                key_id=key.key_id, tenant=tenant, sha256=digest, prefix=key.prefix, label=label,
                created_at=rfc3339(key.created_at)), source=SOURCE, subject=f"apikey/{key.key_id}", tenant=tenant))
            uow.commit()
        return key, raw

    def revoke(self, key_id: str) -> ApiKey:
        """Revokes ``key_id`` for good; NotFound if unknown, FailedPrecondition if already revoked."""
        t = self.table
        with self._uow() as uow:
            row = uow.session.execute(select(t).where(t.c.key_id == key_id.strip()).with_for_update()).first()
            if row is None:
                raise NotFound(f"no API key {key_id!r}")
            if row.revoked_at is not None:
                raise FailedPrecondition(f"API key {key_id} was already revoked at {rfc3339(_aware(row.revoked_at))}")
            now = utcnow()
            uow.session.execute(update(t).where(t.c.key_id == row.key_id).values(revoked_at=now))
            uow.emit(Envelope.wrap(events_pb2.ApiKeyRevoked(
                key_id=row.key_id, tenant=row.tenant, sha256=row.sha256, revoked_at=rfc3339(now)),
                source=SOURCE, subject=f"apikey/{row.key_id}", tenant=row.tenant))
            uow.commit()
        return ApiKey(key_id=row.key_id, tenant=row.tenant, label=row.label, prefix=row.prefix,
                      created_at=_aware(row.created_at), revoked_at=now)

    def list(self, tenant: str = "") -> list[ApiKey]:
        t = self.table
        query = select(t).order_by(t.c.tenant, t.c.created_at)
        if tenant:
            query = query.where(t.c.tenant == tenant)
        with self.engine.connect() as conn:
            return [ApiKey(key_id=r.key_id, tenant=r.tenant, label=r.label, prefix=r.prefix,
                           created_at=_aware(r.created_at), revoked_at=_aware(r.revoked_at))
                    for r in conn.execute(query)]


class KeyReplica(KeyTable):
    """signature's and notifier's side: their copy of the keys, fed by quotes' events."""

    def __init__(self, engine: Engine, table: Table, outbox: Table, inbox: Table):
        super().__init__(engine, table)
        self._sessions = session_factory(engine)
        self._outbox, self._inbox = outbox, inbox

    def apply(self, envelope: Envelope) -> None:
        """Applies one ``apikey.*`` event once (inbox); a revocation is final whatever the order of arrival."""
        p = envelope.payload()
        t = self.table
        try:
            with SqlUnitOfWork(self._sessions, self._outbox, self._inbox) as uow:
                uow.record_inbox(envelope)
                row = uow.session.execute(select(t.c.key_id).where(t.c.key_id == p.key_id)).first()
                if envelope.type == "apikey.created":
                    if row is None:
                        uow.session.execute(insert(t).values(
                            key_id=p.key_id, tenant=p.tenant, label=p.label, prefix=p.prefix, sha256=p.sha256,
                            created_at=_parse_time(p.created_at)))
                    else:  # the revocation came first: fill in what it lacked, keep it revoked
                        uow.session.execute(update(t).where(t.c.key_id == p.key_id).values(
                            label=p.label, prefix=p.prefix, created_at=_parse_time(p.created_at)))
                elif row is None:
                    uow.session.execute(insert(t).values(
                        key_id=p.key_id, tenant=p.tenant, sha256=p.sha256, label="", prefix="",
                        created_at=_parse_time(p.revoked_at), revoked_at=_parse_time(p.revoked_at)))
                else:
                    uow.session.execute(update(t).where(t.c.key_id == p.key_id).values(
                        revoked_at=_parse_time(p.revoked_at)))
                uow.commit()
        except AlreadyHandled:
            log.info("event %s (%s) already handled", envelope.id, envelope.type)

    def handling(self, handle: Callable[[Envelope], None]) -> Callable[[Envelope], None]:
        """The service's event handler, with ``apikey.*`` events applied here first."""

        def handle_with_keys(envelope: Envelope) -> None:
            if envelope.type in KEY_EVENTS:
                self.apply(envelope)
            else:
                handle(envelope)

        return handle_with_keys
