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
    DOWNLOAD,
    MESSAGE,
    QUEUED,
    VIEW,
    Closure,
    Delivery,
    DigestWindow,
    Preferences,
    TemplateContent,
    TemplateVersion,
    Visit,
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


def _windows(name: str) -> Table:
    """Per quote: until closes_at, the actions after the one notified at once wait for one digest."""
    return Table(
        name,
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
        Index(f"ix_{name}_due", "pending", "closes_at"),
    )


def _gathered(name: str) -> Table:
    """The actions waiting for their window's digest."""
    return Table(
        name,
        metadata,
        Column("tenant", String(100), primary_key=True),
        Column("event_id", String(64), primary_key=True),
        Column("quote_id", String(64), nullable=False),
        Column("viewer_email", String(320), nullable=False),
        Column("ip", String(64), nullable=False),
        Column("user_agent", String(500), nullable=False),
        Column("at", String(40), nullable=False),
        Index(f"ix_{name}_quote", "tenant", "quote_id"),
    )


# One window and its gathered actions per kind: views, downloads (the same rule, the same window length).
view_windows, digest_views = _windows("view_windows"), _gathered("digest_views")
download_windows, digest_downloads = _windows("download_windows"), _gathered("digest_downloads")
DIGEST_TABLES = {VIEW: (view_windows, digest_views), DOWNLOAD: (download_windows, digest_downloads)}

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
    """The windows of one action (VIEW or DOWNLOAD) and what waits for their digest."""

    def __init__(self, session: Session, action: str):
        self.session = session
        self.action = action
        self.windows, self.gathered = DIGEST_TABLES[action]
        self._stored: dict[tuple[str, str], int] = {}  # visits stored per window, as last read or written

    def get(self, tenant: str, quote_id: str) -> DigestWindow:
        w = self.windows.c
        query = select(w.closes_at).where(w.tenant == tenant, w.quote_id == quote_id)
        if _postgres(self.session):
            query = query.with_for_update()
        row = self.session.execute(query).first()
        window = DigestWindow(tenant=tenant, quote_id=quote_id, action=self.action,
                              closes_at=_utc(row.closes_at) if row else None)
        window.pending = self._visits(tenant, quote_id)
        return window

    def _visits(self, tenant: str, quote_id: str) -> list[Visit]:
        g = self.gathered.c
        rows = self.session.execute(select(self.gathered).where(g.tenant == tenant, g.quote_id == quote_id)
                                    .order_by(g.at, g.event_id)).all()
        self._stored[(tenant, quote_id)] = len(rows)
        return [Visit(event_id=r.event_id, viewer_email=r.viewer_email, ip=r.ip, user_agent=r.user_agent, at=r.at)
                for r in rows]

    def save(self, window: DigestWindow, *, number: str, version: int, assignee) -> None:
        """Stores the window and its pending visits (``assignee``: the Party the digest goes to)."""
        values = dict(closes_at=window.closes_at, pending=len(window.pending), number=number[:64],
                      version=version, assignee_id=assignee.id[:100], assignee_name=assignee.name[:200],
                      assignee_email=assignee.email[:320], assignee_phone=assignee.phone[:40])
        key = (self.windows.c.tenant == window.tenant, self.windows.c.quote_id == window.quote_id)
        if not self.session.execute(update(self.windows).where(*key).values(**values)).rowcount:
            self.session.execute(insert(self.windows).values(tenant=window.tenant, quote_id=window.quote_id,
                                                             **values))
        self._store_visits(window)

    def _store_visits(self, window: DigestWindow) -> None:
        """Writes what changed: the visits appended since they were read (one per event, not the whole list
        again: a thousand downloads were a million rows written), or all of them when the list was emptied."""
        key = (window.tenant, window.quote_id)
        stored = self._stored.get(key, 0)
        if len(window.pending) < stored:
            g = self.gathered.c
            self.session.execute(delete(self.gathered).where(g.tenant == window.tenant, g.quote_id == window.quote_id))
            stored = 0
        added = window.pending[stored:]
        if added:
            self.session.execute(insert(self.gathered), [dict(
                tenant=window.tenant, quote_id=window.quote_id, event_id=visit.event_id,
                viewer_email=visit.viewer_email[:320], ip=visit.ip[:64], user_agent=visit.user_agent[:500],
                at=visit.at[:40]) for visit in added])
        self._stored[key] = len(window.pending)

    def due(self, now: datetime, limit: int = 50) -> list[tuple[DigestWindow, dict]]:
        """Windows closed with visits pending, each with who to tell ({number, version, assignee_*})."""
        w = self.windows.c
        query = select(self.windows).where(w.pending > 0, w.closes_at <= now).order_by(w.closes_at).limit(limit)
        if _postgres(self.session):
            query = query.with_for_update(skip_locked=True)
        found = []
        for row in self.session.execute(query).all():
            window = DigestWindow(tenant=row.tenant, quote_id=row.quote_id, action=self.action,
                                  closes_at=_utc(row.closes_at))
            window.pending = self._visits(row.tenant, row.quote_id)
            found.append((window, _recipient(row)))
        return found

    def recipient(self, tenant: str, quote_id: str) -> dict:
        """Who a window's digest goes to ({number, version, assignee_*})."""
        w = self.windows.c
        return _recipient(self.session.execute(select(self.windows).where(w.tenant == tenant,
                                                                          w.quote_id == quote_id)).first())

    def clear(self, window: DigestWindow) -> None:
        """Forgets the pending visits (sent in a digest, or dropped)."""
        window.pending = []
        w = self.windows.c
        self.session.execute(update(self.windows).where(w.tenant == window.tenant, w.quote_id == window.quote_id)
                             .values(pending=0))
        self._store_visits(window)

    def next_close(self) -> datetime | None:
        row = self.session.execute(select(func.min(self.windows.c.closes_at)).where(
            self.windows.c.pending > 0)).first()
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
