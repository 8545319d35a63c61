"""Maps rows to domain objects and back, by hand, scoped to one tenant per call."""
from __future__ import annotations

import base64
import json
from dataclasses import asdict
from datetime import datetime, timezone
from decimal import Decimal

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from services.quotes.adapters import orm
from services.quotes.domain import model


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _line_to_json(line: model.Line) -> dict:
    return {"description": line.description, "quantity": str(line.quantity), "unit": line.unit,
            "unit_price": str(line.unit_price), "discount_percent": str(line.discount_percent),
            "vat_rate": str(line.vat_rate), "product_ref": line.product_ref}


def _line_from_json(doc: dict) -> model.Line:
    return model.Line(description=doc["description"], quantity=Decimal(doc["quantity"]), unit=doc.get("unit", ""),
                      unit_price=Decimal(doc["unit_price"]), discount_percent=Decimal(doc.get("discount_percent", "0")),
                      vat_rate=Decimal(doc["vat_rate"]), product_ref=doc.get("product_ref", ""))


class DirectoryRepository:
    def __init__(self, session: Session):
        self.session = session

    def _upsert(self, table, tenant: str, key: str, values: dict) -> None:
        exists = self.session.execute(
            select(table.c.id).where(table.c.tenant == tenant, table.c.id == key)).first()
        if exists:
            self.session.execute(update(table).where(table.c.tenant == tenant, table.c.id == key).values(**values))
        else:
            self.session.execute(insert(table).values(tenant=tenant, id=key, **values))

    def save_account(self, account: model.Account) -> None:
        self._upsert(orm.accounts, account.tenant, account.id, {"name": account.name, "address": account.address})

    def save_contact(self, contact: model.Contact) -> None:
        self._upsert(orm.contacts, contact.tenant, contact.id, {
            "account_id": contact.account_id, "name": contact.name, "email": contact.email, "phone": contact.phone})

    def save_user(self, user: model.User) -> None:
        self._upsert(orm.users, user.tenant, user.id, {"name": user.name, "email": user.email, "mobile": user.mobile})

    def account(self, tenant: str, key: str) -> model.Account | None:
        row = self.session.execute(select(orm.accounts).where(
            orm.accounts.c.tenant == tenant, orm.accounts.c.id == key)).mappings().first()
        return model.Account(**row) if row else None

    def contact(self, tenant: str, key: str) -> model.Contact | None:
        row = self.session.execute(select(orm.contacts).where(
            orm.contacts.c.tenant == tenant, orm.contacts.c.id == key)).mappings().first()
        return model.Contact(**row) if row else None

    def user(self, tenant: str, key: str) -> model.User | None:
        row = self.session.execute(select(orm.users).where(
            orm.users.c.tenant == tenant, orm.users.c.id == key)).mappings().first()
        return model.User(**row) if row else None

    def settings(self, tenant: str) -> model.Settings:
        row = self.session.execute(select(orm.settings).where(orm.settings.c.tenant == tenant)).mappings().first()
        if row is None:
            return model.Settings(tenant=tenant)
        return model.Settings(tenant=tenant, esignature_enabled=row["esignature_enabled"],
                              company=model.Company(**row["company"]),
                              default_validity_days=row["default_validity_days"], default_terms=row["default_terms"])

    def save_settings(self, value: model.Settings) -> None:
        values = {"esignature_enabled": value.esignature_enabled, "company": asdict(value.company),
                  "default_validity_days": value.default_validity_days, "default_terms": value.default_terms}
        exists = self.session.execute(select(orm.settings.c.tenant).where(orm.settings.c.tenant == value.tenant)).first()
        if exists:
            self.session.execute(update(orm.settings).where(orm.settings.c.tenant == value.tenant).values(**values))
        else:
            self.session.execute(insert(orm.settings).values(tenant=value.tenant, **values))

    def next_number(self, tenant: str, series: str, year: int) -> int:
        """Allocates the next number of a series atomically: no gap, no duplicate (rolled back with its transaction)."""
        dialect = postgresql if self.session.bind.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(orm.counters).values(tenant=tenant, series=series, year=year, value=1)
        statement = statement.on_conflict_do_update(
            index_elements=[orm.counters.c.tenant, orm.counters.c.series, orm.counters.c.year],
            set_={"value": orm.counters.c.value + 1},
        ).returning(orm.counters.c.value)
        return int(self.session.execute(statement).scalar_one())


class QuoteRepository:
    def __init__(self, session: Session):
        self.session = session
        self.seen: dict[str, model.Quote] = {}
        self._loaded_history: dict[str, int] = {}
        self._loaded_versions: dict[str, int] = {}

    def add(self, quote: model.Quote) -> None:
        self.session.execute(insert(orm.quotes).values(**self._row(quote)))
        self._loaded_history[quote.id] = 0
        self._loaded_versions[quote.id] = 0
        self.seen[quote.id] = quote
        self._append_children(quote)

    def get(self, tenant: str, quote_id: str, *, for_update: bool = False) -> model.Quote | None:
        query = select(orm.quotes).where(orm.quotes.c.tenant == tenant, orm.quotes.c.id == quote_id)
        if for_update and self.session.bind.dialect.name == "postgresql":
            query = query.with_for_update()
        row = self.session.execute(query).mappings().first()
        if row is None:
            return None
        versions = [model.Version(number=v.number, content_sha256=v.content_sha256, pdf_sha256=v.pdf_sha256,
                                  sent_at=_utc(v.sent_at), recipient_email=v.recipient_email)
                    for v in self.session.execute(select(orm.quote_versions).where(
                        orm.quote_versions.c.quote_id == quote_id).order_by(orm.quote_versions.c.number))]
        history = [model.HistoryEntry(at=_utc(h.at), kind=h.kind, actor=h.actor, detail=h.detail, id=h.id)
                   for h in self.session.execute(select(orm.quote_history).where(
                       orm.quote_history.c.quote_id == quote_id).order_by(orm.quote_history.c.at,
                                                                          orm.quote_history.c.id))]
        quote = self._quote(row, versions, history)
        self._loaded_history[quote.id] = len(history)
        self._loaded_versions[quote.id] = len(versions)
        self.seen[quote.id] = quote
        return quote

    def save(self, quote: model.Quote) -> None:
        row = self._row(quote)
        del row["id"], row["tenant"], row["number"], row["created_at"]
        self.session.execute(update(orm.quotes).where(orm.quotes.c.id == quote.id).values(**row))
        self._append_children(quote)

    def _append_children(self, quote: model.Quote) -> None:
        """Inserts the versions and history entries added since load; refreshes the last version's send."""
        known_versions = self._loaded_versions.get(quote.id, 0)
        for version in quote.versions[known_versions:]:
            self.session.execute(insert(orm.quote_versions).values(
                quote_id=quote.id, number=version.number, content_sha256=version.content_sha256,
                pdf_sha256=version.pdf_sha256, sent_at=version.sent_at, recipient_email=version.recipient_email))
        if known_versions and known_versions == len(quote.versions):
            last = quote.versions[-1]
            self.session.execute(update(orm.quote_versions).where(
                orm.quote_versions.c.quote_id == quote.id, orm.quote_versions.c.number == last.number).values(
                sent_at=last.sent_at, recipient_email=last.recipient_email))
        self._loaded_versions[quote.id] = len(quote.versions)
        for entry in quote.history[self._loaded_history.get(quote.id, 0):]:
            self.session.execute(insert(orm.quote_history).values(
                quote_id=quote.id, at=entry.at, kind=entry.kind, actor=entry.actor[:320], detail=entry.detail))
        self._loaded_history[quote.id] = len(quote.history)

    def add_link(self, quote_id: str, version: int, token_sha256: str, recipient_email: str, at: datetime) -> None:
        self.session.execute(insert(orm.quote_links).values(
            token_sha256=token_sha256, quote_id=quote_id, version=version, recipient_email=recipient_email,
            created_at=at))

    def list(self, tenant: str, *, page_size: int, after: tuple[datetime, str] | None,
             status: str = "") -> list[model.Quote]:
        """Newest first, keyset-paginated; counters come from the row, never from COUNT(*)."""
        q = orm.quotes.c
        query = select(orm.quotes).where(q.tenant == tenant)
        if status:
            query = query.where(q.status == status)
        if after is not None:
            created, key = after
            query = query.where(or_(q.created_at < created, and_(q.created_at == created, q.id < key)))
        query = query.order_by(q.created_at.desc(), q.id.desc()).limit(page_size)
        return [self._quote(row, [], []) for row in self.session.execute(query).mappings()]

    @staticmethod
    def _row(quote: model.Quote) -> dict:
        return {
            "id": quote.id, "tenant": quote.tenant, "number": quote.number, "status": quote.status,
            "account_id": quote.account_id, "contact_id": quote.contact_id, "assignee_id": quote.assignee_id,
            "title": quote.title, "lines": [_line_to_json(l) for l in quote.lines],
            "valid_until": quote.valid_until, "terms": quote.terms, "created_at": quote.created_at,
            "view_count": quote.view_count, "download_count": quote.download_count,
            "last_viewed_at": quote.last_viewed_at,
            "signature": asdict(quote.signature) if quote.signature else None,
        }

    @staticmethod
    def _quote(row, versions, history) -> model.Quote:
        return model.Quote(
            id=row["id"], tenant=row["tenant"], number=row["number"], status=row["status"],
            account_id=row["account_id"], contact_id=row["contact_id"], assignee_id=row["assignee_id"],
            title=row["title"], lines=[_line_from_json(l) for l in row["lines"]],
            valid_until=row["valid_until"], terms=row["terms"], created_at=_utc(row["created_at"]),
            view_count=row["view_count"], download_count=row["download_count"],
            last_viewed_at=_utc(row["last_viewed_at"]),
            signature=model.SignatureBanner(**row["signature"]) if row["signature"] else None,
            versions=versions, history=history,
        )


def encode_page_token(created_at: datetime, key: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([created_at.isoformat(), key]).encode()).decode()


def decode_page_token(token: str) -> tuple[datetime, str]:
    created, key = json.loads(base64.urlsafe_b64decode(token.encode()))
    return datetime.fromisoformat(created), key


__all__ = ["DirectoryRepository", "QuoteRepository", "encode_page_token", "decode_page_token"]
