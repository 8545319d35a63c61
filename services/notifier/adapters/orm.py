"""The notifier's tables and the repositories mapping their rows to domain objects by hand."""
from __future__ import annotations

import json
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
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import false as sql_false

from quoteflow.apikeys import add_api_keys_table
from quoteflow.db import add_kernel_tables
from quoteflow.errors import Conflict
from services.notifier.domain.model import (
    MESSAGE,
    QUEUED,
    Closure,
    Delivery,
    Preferences,
    TemplateContent,
    TemplateVersion,
    View,
    ViewWindow,
)

metadata = MetaData()
outbox, inbox = add_kernel_tables(metadata)
api_keys = add_api_keys_table(metadata)  # see quoteflow.apikeys

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
    Column("payload", LargeBinary, nullable=False),  # an email draft (JSON), a whole email or the SMS text
    Column("last_attempt_at", DateTime(timezone=True), nullable=True),
    Column("correlation_id", String(64), nullable=False, server_default=""),
    Column("expires_at", DateTime(timezone=True), nullable=True),
    Column("sensitive", Boolean, nullable=False, server_default=sql_false()),
    Column("traceparent", String(64), nullable=False, server_default=""),
    Column("payload_format", String(10), nullable=False, server_default="message"),  # see domain.model.DRAFT
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

# A small read model of the quotes sent: the amount for the confirmation, every template variable for
# the preview with the real quote's data, and the quote's context in the salesperson's notices.
sent_quotes = Table(
    "sent_quotes",
    metadata,
    Column("tenant", String(100), primary_key=True),
    Column("quote_id", String(64), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("number", String(64), nullable=False),
    Column("total_ttc", String(40), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("variables", Text, nullable=False, server_default="{}"),  # JSON: the quote.sent template variables
    Column("sent_at", DateTime(timezone=True), nullable=True),
)

# A tenant's saved versions of a template; the highest version is the one in use.
templates = Table(
    "templates",
    metadata,
    Column("tenant", String(100), primary_key=True),
    Column("name", String(64), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("base", String(64), nullable=False),
    Column("subject", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("html", Text, nullable=False),
    Column("sms", Text, nullable=False),
    Column("saved_at", DateTime(timezone=True), nullable=False),
    Column("saved_by", String(200), nullable=False),
)

# Per quote: until closes_at, views after the one notified at once wait in digest_views for one digest.
view_windows = Table(
    "view_windows",
    metadata,
    Column("tenant", String(100), primary_key=True),
    Column("quote_id", String(64), primary_key=True),
    Column("closes_at", DateTime(timezone=True), nullable=True),
    Column("pending", Integer, nullable=False),
    Column("number", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("assignee_id", String(100), nullable=False),
    Column("assignee_name", String(200), nullable=False),
    Column("assignee_email", String(320), nullable=False),
    Column("assignee_phone", String(40), nullable=False),
    Index("ix_view_windows_due", "pending", "closes_at"),
)

digest_views = Table(
    "digest_views",
    metadata,
    Column("tenant", String(100), primary_key=True),
    Column("event_id", String(64), primary_key=True),
    Column("quote_id", String(64), nullable=False),
    Column("viewer_email", String(320), nullable=False),
    Column("ip", String(64), nullable=False),
    Column("user_agent", String(500), nullable=False),
    Column("at", String(40), nullable=False),
    Index("ix_digest_views_quote", "tenant", "quote_id"),
)

# Quotes signed or declined: no view / download notice for that version or an older one.
closed_quotes = Table(
    "closed_quotes",
    metadata,
    Column("tenant", String(100), primary_key=True),
    Column("quote_id", String(64), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("outcome", String(10), nullable=False),
    Column("closed_at", DateTime(timezone=True), nullable=False),
)


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


def _postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _delivery(row) -> Delivery:
    return Delivery(
        id=row.id, tenant=row.tenant, event_id=row.event_id, channel=row.channel, recipient=row.recipient,
        template=row.template, quote_id=row.quote_id, subject=row.subject, payload=bytes(row.payload),
        created_at=_utc(row.created_at), status=row.status, error=row.error or "", attempts=row.attempts,
        sent_at=_utc(row.sent_at), next_attempt_at=_utc(row.next_attempt_at),
        last_attempt_at=_utc(row.last_attempt_at), correlation_id=row.correlation_id or "",
        expires_at=_utc(row.expires_at), sensitive=bool(row.sensitive), traceparent=row.traceparent or "",
        payload_format=row.payload_format or MESSAGE)


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
        if _postgres(self.session):
            query = query.with_for_update(skip_locked=True)
        claimed = [_delivery(row) for row in self.session.execute(query).all()]
        if claimed:
            self.session.execute(update(deliveries).where(
                deliveries.c.id.in_([d.id for d in claimed])).values(next_attempt_at=now + lease))
        return claimed

    def save_outcome(self, delivery: Delivery) -> None:
        self.session.execute(update(deliveries).where(deliveries.c.id == delivery.id).values(
            status=delivery.status, error=delivery.error, attempts=delivery.attempts,
            sent_at=delivery.sent_at, next_attempt_at=delivery.next_attempt_at,
            last_attempt_at=delivery.last_attempt_at, payload=delivery.payload))

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
                 currency: str, variables: dict | None = None, sent_at: datetime | None = None) -> None:
        key = (sent_quotes.c.tenant == tenant, sent_quotes.c.quote_id == quote_id,
               sent_quotes.c.version == version)
        values = dict(number=number, total_ttc=total_ttc, currency=currency or "EUR",
                      variables=json.dumps(variables or {}, ensure_ascii=False), sent_at=sent_at)
        if self.session.execute(select(sent_quotes.c.number).where(*key)).first() is None:
            self.session.execute(insert(sent_quotes).values(tenant=tenant, quote_id=quote_id, version=version,
                                                            **values))
        else:  # a relance of the same version: its latest data win
            self.session.execute(update(sent_quotes).where(*key).values(**values))

    def amount(self, tenant: str, quote_id: str, version: int) -> tuple[str, str] | None:
        row = self.session.execute(select(sent_quotes.c.total_ttc, sent_quotes.c.currency).where(
            sent_quotes.c.tenant == tenant, sent_quotes.c.quote_id == quote_id,
            sent_quotes.c.version == version)).first()
        return (row.total_ttc, row.currency) if row else None

    def variables(self, tenant: str, quote_id: str, version: int | None = None) -> dict | None:
        """The template variables of the quote as last sent (of ``version`` when given and known)."""
        query = select(sent_quotes.c.variables).where(sent_quotes.c.tenant == tenant,
                                                      sent_quotes.c.quote_id == quote_id)
        if version:
            exact = self.session.execute(query.where(sent_quotes.c.version == version)).first()
            if exact:
                return json.loads(exact[0] or "{}")
        row = self.session.execute(query.order_by(sent_quotes.c.version.desc()).limit(1)).first()
        return json.loads(row[0] or "{}") if row else None


    def company_name(self, tenant: str) -> str:
        """The company name of the tenant's quote sent last ("" if none had one)."""
        rows = self.session.execute(select(sent_quotes.c.variables).where(sent_quotes.c.tenant == tenant).order_by(
            sent_quotes.c.sent_at.desc().nulls_last()).limit(20)).all()
        return next((name for row in rows if (name := json.loads(row[0] or "{}").get("company_name"))), "")


def _version(row) -> TemplateVersion:
    return TemplateVersion(
        tenant=row.tenant, name=row.name, base=row.base, version=row.version,
        content=TemplateContent(subject=row.subject, text=row.text, html=row.html, sms=row.sms),
        saved_at=_utc(row.saved_at), saved_by=row.saved_by)


class TemplateRepository:
    def __init__(self, session: Session):
        self.session = session

    def get(self, tenant: str, name: str, version: int = 0) -> TemplateVersion | None:
        """Version ``version`` of ``name`` (0: the newest) or None."""
        query = select(templates).where(templates.c.tenant == tenant, templates.c.name == name)
        if version:
            query = query.where(templates.c.version == version)
        row = self.session.execute(query.order_by(templates.c.version.desc()).limit(1)).first()
        return _version(row) if row else None

    def versions(self, tenant: str, name: str) -> list[TemplateVersion]:
        rows = self.session.execute(select(templates).where(
            templates.c.tenant == tenant, templates.c.name == name).order_by(templates.c.version.desc())).all()
        return [_version(row) for row in rows]

    def current_all(self, tenant: str) -> list[TemplateVersion]:
        """The newest version of every template this tenant saved."""
        newest = select(templates.c.name, func.max(templates.c.version).label("version")).where(
            templates.c.tenant == tenant).group_by(templates.c.name).subquery()
        rows = self.session.execute(select(templates).join(newest, (templates.c.name == newest.c.name) & (
            templates.c.version == newest.c.version)).where(templates.c.tenant == tenant)).all()
        return [_version(row) for row in rows]

    def add(self, saved: TemplateVersion) -> None:
        """Inserts a version; two saves racing for one number collide on the primary key."""
        c = saved.content
        try:
            self.session.execute(insert(templates).values(
                tenant=saved.tenant, name=saved.name, version=saved.version, base=saved.base, subject=c.subject,
                text=c.text, html=c.html, sms=c.sms, saved_at=saved.saved_at, saved_by=saved.saved_by))
        except IntegrityError:
            raise Conflict(f"template {saved.name} version {saved.version} was just saved by someone else") from None


class DigestRepository:
    """The view windows and the views waiting for their digest."""

    def __init__(self, session: Session):
        self.session = session

    def get(self, tenant: str, quote_id: str) -> ViewWindow:
        query = select(view_windows.c.closes_at).where(view_windows.c.tenant == tenant,
                                                       view_windows.c.quote_id == quote_id)
        if _postgres(self.session):
            query = query.with_for_update()
        row = self.session.execute(query).first()
        window = ViewWindow(tenant=tenant, quote_id=quote_id, closes_at=_utc(row.closes_at) if row else None)
        window.pending = self._views(tenant, quote_id)
        return window

    def _views(self, tenant: str, quote_id: str) -> list[View]:
        rows = self.session.execute(select(digest_views).where(
            digest_views.c.tenant == tenant, digest_views.c.quote_id == quote_id).order_by(digest_views.c.at)).all()
        return [View(event_id=r.event_id, viewer_email=r.viewer_email, ip=r.ip, user_agent=r.user_agent, at=r.at)
                for r in rows]

    def save(self, window: ViewWindow, *, number: str, version: int, assignee) -> None:
        """Stores the window and its pending views (``assignee``: the Party the digest goes to)."""
        values = dict(closes_at=window.closes_at, pending=len(window.pending), number=number[:64],
                      version=version, assignee_id=assignee.id[:100], assignee_name=assignee.name[:200],
                      assignee_email=assignee.email[:320], assignee_phone=assignee.phone[:40])
        key = (view_windows.c.tenant == window.tenant, view_windows.c.quote_id == window.quote_id)
        if not self.session.execute(update(view_windows).where(*key).values(**values)).rowcount:
            self.session.execute(insert(view_windows).values(tenant=window.tenant, quote_id=window.quote_id,
                                                             **values))
        self._store_views(window)

    def _store_views(self, window: ViewWindow) -> None:
        self.session.execute(delete(digest_views).where(digest_views.c.tenant == window.tenant,
                                                        digest_views.c.quote_id == window.quote_id))
        for view in window.pending:
            self.session.execute(insert(digest_views).values(
                tenant=window.tenant, quote_id=window.quote_id, event_id=view.event_id,
                viewer_email=view.viewer_email[:320], ip=view.ip[:64], user_agent=view.user_agent[:500],
                at=view.at[:40]))

    def due(self, now: datetime, limit: int = 50) -> list[tuple[ViewWindow, dict]]:
        """Windows closed with views pending, each with who to tell ({number, version, assignee_*})."""
        query = select(view_windows).where(view_windows.c.pending > 0, view_windows.c.closes_at <= now).order_by(
            view_windows.c.closes_at).limit(limit)
        if _postgres(self.session):
            query = query.with_for_update(skip_locked=True)
        found = []
        for row in self.session.execute(query).all():
            window = ViewWindow(tenant=row.tenant, quote_id=row.quote_id, closes_at=_utc(row.closes_at))
            window.pending = self._views(row.tenant, row.quote_id)
            found.append((window, _recipient(row)))
        return found

    def recipient(self, tenant: str, quote_id: str) -> dict:
        """Who a window's digest goes to ({number, version, assignee_*})."""
        row = self.session.execute(select(view_windows).where(view_windows.c.tenant == tenant,
                                                              view_windows.c.quote_id == quote_id)).first()
        return _recipient(row)

    def clear(self, window: ViewWindow) -> None:
        """Forgets the pending views (sent in a digest, or dropped)."""
        window.pending = []
        self.session.execute(update(view_windows).where(
            view_windows.c.tenant == window.tenant, view_windows.c.quote_id == window.quote_id).values(pending=0))
        self._store_views(window)

    def next_close(self) -> datetime | None:
        row = self.session.execute(select(func.min(view_windows.c.closes_at)).where(
            view_windows.c.pending > 0)).first()
        return _utc(row[0]) if row and row[0] else None


def _recipient(row) -> dict:
    return {"number": row.number, "version": row.version, "assignee_id": row.assignee_id,
            "assignee_name": row.assignee_name, "assignee_email": row.assignee_email,
            "assignee_phone": row.assignee_phone}


class ClosureRepository:
    def __init__(self, session: Session):
        self.session = session

    def get(self, tenant: str, quote_id: str) -> Closure | None:
        row = self.session.execute(select(closed_quotes).where(
            closed_quotes.c.tenant == tenant, closed_quotes.c.quote_id == quote_id)).first()
        return Closure(quote_id=quote_id, version=row.version, outcome=row.outcome) if row else None

    def close(self, tenant: str, closure: Closure, now: datetime) -> None:
        key = (closed_quotes.c.tenant == tenant, closed_quotes.c.quote_id == closure.quote_id)
        values = dict(version=closure.version, outcome=closure.outcome, closed_at=now)
        existing = self.get(tenant, closure.quote_id)
        if existing is None:
            self.session.execute(insert(closed_quotes).values(tenant=tenant, quote_id=closure.quote_id, **values))
        elif closure.version >= existing.version:
            self.session.execute(update(closed_quotes).where(*key).values(**values))
