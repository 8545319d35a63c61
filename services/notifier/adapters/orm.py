"""The notifier's tables and the repositories mapping their rows to domain objects by hand."""
from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta, timezone

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Session

from quoteflow.db import add_kernel_tables
from services.notifier.domain.model import QUEUED, Delivery, Preferences

metadata = MetaData()
outbox, inbox = add_kernel_tables(metadata)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant", String(100), nullable=False),
    Column("event_id", String(64), nullable=False),
    Column("channel", String(10), nullable=False),
    Column("recipient", String(320), nullable=False),
    Column("template", String(64), nullable=False),
    Column("quote_id", String(64), nullable=False),
    Column("subject", String(300), nullable=False, default=""),
    Column("status", String(10), nullable=False),
    Column("error", Text, nullable=False, default=""),
    Column("attempts", Integer, nullable=False, default=0),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True), nullable=True),
    Column("next_attempt_at", DateTime(timezone=True), nullable=True),
    Column("payload", LargeBinary, nullable=False),  # the whole email (RFC 5322 bytes) or the SMS text
    UniqueConstraint("event_id", "channel", "recipient", name="uq_deliveries_event_channel_recipient"),
    Index("ix_deliveries_tenant_quote", "tenant", "quote_id", "created_at"),
    Index("ix_deliveries_due", "status", "next_attempt_at"),
)

preferences = Table(
    "preferences",
    metadata,
    Column("tenant", String(100), primary_key=True),
    Column("user_id", String(100), primary_key=True),
    Column("on_view_email", Boolean, nullable=False),
    Column("on_view_sms", Boolean, nullable=False),
    Column("on_download_email", Boolean, nullable=False),
    Column("on_download_sms", Boolean, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# What the signature confirmation needs but signature.completed does not carry: the amount sent.
sent_quotes = Table(
    "sent_quotes",
    metadata,
    Column("tenant", String(100), primary_key=True),
    Column("quote_id", String(64), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("number", String(64), nullable=False),
    Column("total_ttc", String(40), nullable=False),
    Column("currency", String(3), nullable=False),
)


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


def _delivery(row) -> Delivery:
    return Delivery(
        id=row.id, tenant=row.tenant, event_id=row.event_id, channel=row.channel, recipient=row.recipient,
        template=row.template, quote_id=row.quote_id, subject=row.subject, payload=bytes(row.payload),
        created_at=_utc(row.created_at), status=row.status, error=row.error or "", attempts=row.attempts,
        sent_at=_utc(row.sent_at), next_attempt_at=_utc(row.next_attempt_at))


class DeliveryRepository:
    def __init__(self, session: Session):
        self.session = session
        self.added = 0

    def add(self, delivery: Delivery) -> None:
        self.added += 1
        self.session.execute(insert(deliveries).values(**asdict(delivery)))

    def get(self, delivery_id: str) -> Delivery | None:
        row = self.session.execute(select(deliveries).where(deliveries.c.id == delivery_id)).first()
        return _delivery(row) if row else None

    def exists(self, event_id: str, channel: str, recipient: str) -> bool:
        return self.session.execute(select(deliveries.c.id).where(
            deliveries.c.event_id == event_id, deliveries.c.channel == channel,
            deliveries.c.recipient == recipient)).first() is not None

    def for_quote(self, tenant: str, quote_id: str) -> list[Delivery]:
        rows = self.session.execute(select(deliveries).where(
            deliveries.c.tenant == tenant, deliveries.c.quote_id == quote_id,
        ).order_by(deliveries.c.created_at, deliveries.c.id)).all()
        return [_delivery(row) for row in rows]

    def claim_due(self, now: datetime, lease: timedelta, limit: int = 50) -> list[Delivery]:
        """Queued deliveries due now, leased so another dispatcher (or this one) leaves them alone."""
        query = select(deliveries).where(
            deliveries.c.status == QUEUED, deliveries.c.next_attempt_at <= now,
        ).order_by(deliveries.c.next_attempt_at).limit(limit)
        if self.session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        claimed = [_delivery(row) for row in self.session.execute(query).all()]
        if claimed:
            self.session.execute(update(deliveries).where(
                deliveries.c.id.in_([d.id for d in claimed])).values(next_attempt_at=now + lease))
        return claimed

    def save_outcome(self, delivery: Delivery) -> None:
        self.session.execute(update(deliveries).where(deliveries.c.id == delivery.id).values(
            status=delivery.status, error=delivery.error, attempts=delivery.attempts,
            sent_at=delivery.sent_at, next_attempt_at=delivery.next_attempt_at))

    def next_due(self) -> datetime | None:
        row = self.session.execute(select(deliveries.c.next_attempt_at).where(
            deliveries.c.status == QUEUED).order_by(deliveries.c.next_attempt_at).limit(1)).first()
        return _utc(row[0]) if row else None


class PreferencesRepository:
    def __init__(self, session: Session):
        self.session = session

    def get(self, tenant: str, user_id: str) -> Preferences:
        row = self.session.execute(select(preferences).where(
            preferences.c.tenant == tenant, preferences.c.user_id == user_id)).first()
        if row is None:
            return Preferences(user_id=user_id)
        return Preferences(user_id=user_id, on_view_email=row.on_view_email, on_view_sms=row.on_view_sms,
                           on_download_email=row.on_download_email, on_download_sms=row.on_download_sms)

    def save(self, tenant: str, prefs: Preferences, now: datetime) -> None:
        values = dict(on_view_email=prefs.on_view_email, on_view_sms=prefs.on_view_sms,
                      on_download_email=prefs.on_download_email, on_download_sms=prefs.on_download_sms,
                      updated_at=now)
        changed = self.session.execute(update(preferences).where(
            preferences.c.tenant == tenant, preferences.c.user_id == prefs.user_id).values(**values)).rowcount
        if not changed:
            self.session.execute(insert(preferences).values(tenant=tenant, user_id=prefs.user_id, **values))


class SentQuoteRepository:
    def __init__(self, session: Session):
        self.session = session

    def remember(self, tenant: str, quote_id: str, version: int, number: str, total_ttc: str,
                 currency: str) -> None:
        key = (sent_quotes.c.tenant == tenant, sent_quotes.c.quote_id == quote_id,
               sent_quotes.c.version == version)
        if self.session.execute(select(sent_quotes.c.number).where(*key)).first() is None:
            self.session.execute(insert(sent_quotes).values(
                tenant=tenant, quote_id=quote_id, version=version, number=number,
                total_ttc=total_ttc, currency=currency or "EUR"))

    def amount(self, tenant: str, quote_id: str, version: int) -> tuple[str, str] | None:
        row = self.session.execute(select(sent_quotes.c.total_ttc, sent_quotes.c.currency).where(
            sent_quotes.c.tenant == tenant, sent_quotes.c.quote_id == quote_id,
            sent_quotes.c.version == version)).first()
        return (row.total_ttc, row.currency) if row else None
