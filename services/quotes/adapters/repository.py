"""Maps rows to domain objects and back, by hand, scoped to one tenant per call."""
from __future__ import annotations

import base64
import functools
import json
from dataclasses import asdict
from datetime import date, datetime, timezone
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    Integer,
    String,
    Text,
    and_,
    bindparam,
    case,
    cast,
    delete,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from quoteflow.errors import Conflict, InvalidArgument
from services.quotes.adapters import orm
from services.quotes.domain import model
from services.quotes.domain.events import Event
from services.quotes.domain.files import Document

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _cents(amount: Decimal) -> int:
    return int(amount * 100)


def _from_cents(cents: int) -> Decimal:
    return Decimal(int(cents)).scaleb(-2)  # exact: 144000 -> 1440.00


def _line_to_json(line: model.Line) -> dict:
    return {"description": line.description, "quantity": str(line.quantity), "unit": line.unit,
            "unit_price": str(line.unit_price), "discount_percent": str(line.discount_percent),
            "vat_rate": str(line.vat_rate), "product_ref": line.product_ref}


def _line_from_json(doc: dict) -> model.Line:
    return model.Line(description=doc["description"], quantity=Decimal(doc["quantity"]), unit=doc.get("unit", ""),
                      unit_price=Decimal(doc["unit_price"]), discount_percent=Decimal(doc.get("discount_percent", "0")),
                      vat_rate=Decimal(doc["vat_rate"]), product_ref=doc.get("product_ref", ""))


def _insert(session: Session):
    return (postgresql if session.bind.dialect.name == "postgresql" else sqlite).insert


class DirectoryRepository:
    def __init__(self, session: Session):
        self.session = session

    def _upsert(self, table, tenant: str, key: str, values: dict) -> None:
        """Insert or replace in one statement, so two concurrent upserts of one id never collide."""
        statement = _insert(self.session)(table).values(tenant=tenant, id=key, **values)
        self.session.execute(statement.on_conflict_do_update(index_elements=[table.c.tenant, table.c.id],
                                                             set_=values))

    def _get(self, table, tenant: str, key: str):
        return self.session.execute(select(table).where(table.c.tenant == tenant, table.c.id == key)
                                    ).mappings().first()

    def save_account(self, account: model.Account) -> None:
        self._upsert(orm.accounts, account.tenant, account.id, {"name": account.name, "address": account.address})

    def save_contact(self, contact: model.Contact) -> None:
        self._upsert(orm.contacts, contact.tenant, contact.id, {
            "account_id": contact.account_id, "name": contact.name, "email": contact.email, "phone": contact.phone})

    def save_user(self, user: model.User) -> None:
        self._upsert(orm.users, user.tenant, user.id, {"name": user.name, "email": user.email, "mobile": user.mobile})

    def save_deal(self, deal: model.Deal) -> None:
        self._upsert(orm.deals, deal.tenant, deal.id, {"account_id": deal.account_id, "contact_id": deal.contact_id,
                                                       "assignee_id": deal.assignee_id, "title": deal.title})

    def save_product(self, product: model.Product) -> None:
        try:
            with self.session.begin_nested():
                self._upsert(orm.products, product.tenant, product.id, {
                    "reference": product.reference, "label": product.label, "unit_price": str(product.unit_price),
                    "vat_rate": str(product.vat_rate), "unit": product.unit})
        except IntegrityError:
            raise Conflict(f"reference {product.reference!r} was just given to another product") from None

    def save_equipment(self, item: model.Equipment) -> None:
        self._upsert(orm.equipment, item.tenant, item.id, {
            "account_id": item.account_id, "product_id": item.product_id, "serial_number": item.serial_number,
            "install_date": item.install_date, "warranty_end": item.warranty_end})

    def account(self, tenant: str, key: str) -> model.Account | None:
        row = self._get(orm.accounts, tenant, key)
        return model.Account(**row) if row else None

    def contact(self, tenant: str, key: str) -> model.Contact | None:
        row = self._get(orm.contacts, tenant, key)
        return model.Contact(**row) if row else None

    def user(self, tenant: str, key: str, *, for_share: bool = False) -> model.User | None:
        """``for_share``: a change of this user (UpsertUser) waits for this transaction, on PostgreSQL."""
        statement = select(orm.users).where(orm.users.c.tenant == tenant, orm.users.c.id == key)
        if for_share:
            statement = statement.with_for_update(read=True)
        row = self.session.execute(statement).mappings().first()
        return model.User(**row) if row else None

    def deal(self, tenant: str, key: str) -> model.Deal | None:
        row = self._get(orm.deals, tenant, key)
        return model.Deal(**row) if row else None

    @staticmethod
    def _product(row) -> model.Product:
        return model.Product(tenant=row["tenant"], id=row["id"], reference=row["reference"], label=row["label"],
                             unit_price=Decimal(row["unit_price"]), vat_rate=Decimal(row["vat_rate"]),
                             unit=row["unit"])

    def product(self, tenant: str, key: str) -> model.Product | None:
        row = self._get(orm.products, tenant, key)
        return self._product(row) if row else None

    def products_at_rates(self, tenant: str, rates: set[Decimal]) -> list[model.Product]:
        """The catalogue's products whose VAT rate is one of ``rates`` (compared as numbers: 8.5 is 8.50)."""
        rows = self.session.execute(select(orm.products).where(orm.products.c.tenant == tenant)
                                    .order_by(orm.products.c.reference)).mappings()
        return [product for product in map(self._product, rows) if product.vat_rate in rates]

    def product_by_reference(self, tenant: str, reference: str) -> model.Product | None:
        row = self.session.execute(select(orm.products).where(
            orm.products.c.tenant == tenant, orm.products.c.reference == reference)).mappings().first()
        return self._product(row) if row else None

    def equipment_of(self, tenant: str, account_id: str) -> list[tuple[model.Equipment, model.Product | None]]:
        e, p = orm.equipment, orm.products
        rows = self.session.execute(
            select(e, p.c.reference.label("p_reference"), p.c.label.label("p_label"), p.c.unit_price.label("p_price"),
                   p.c.vat_rate.label("p_vat"), p.c.unit.label("p_unit"), p.c.id.label("p_id"))
            .outerjoin(p, and_(p.c.tenant == e.c.tenant, p.c.id == e.c.product_id))
            .where(e.c.tenant == tenant, e.c.account_id == account_id)
            .order_by(e.c.install_date.desc(), e.c.id)).mappings().all()
        found = []
        for row in rows:
            product = None
            if row["p_id"] is not None:
                product = model.Product(tenant=tenant, id=row["p_id"], reference=row["p_reference"],
                                        label=row["p_label"], unit_price=Decimal(row["p_price"]),
                                        vat_rate=Decimal(row["p_vat"]), unit=row["p_unit"])
            found.append((model.Equipment(tenant=tenant, id=row["id"], account_id=row["account_id"],
                                          product_id=row["product_id"], serial_number=row["serial_number"],
                                          install_date=row["install_date"], warranty_end=row["warranty_end"]),
                          product))
        return found

    def settings(self, tenant: str) -> model.Settings:
        row = self.session.execute(select(orm.settings).where(orm.settings.c.tenant == tenant)).mappings().first()
        if row is None:
            return model.Settings(tenant=tenant)
        return model.Settings(tenant=tenant, esignature_enabled=row["esignature_enabled"],
                              company=model.Company(**row["company"]),
                              default_validity_days=row["default_validity_days"], default_terms=row["default_terms"],
                              signature_otp=row["signature_otp"] or "",
                              extra_vat_rates=tuple(Decimal(r) for r in row["extra_vat_rates"] or ()),
                              branding=model.Branding(**(row["branding"] or {})))

    def save_settings(self, value: model.Settings) -> None:
        values = {"esignature_enabled": value.esignature_enabled, "company": asdict(value.company),
                  "default_validity_days": value.default_validity_days, "default_terms": value.default_terms,
                  "signature_otp": value.signature_otp, "extra_vat_rates": [str(r) for r in value.extra_vat_rates],
                  "branding": asdict(value.branding)}
        statement = _insert(self.session)(orm.settings).values(tenant=value.tenant, **values)
        self.session.execute(statement.on_conflict_do_update(index_elements=[orm.settings.c.tenant], set_=values))

    def next_number(self, tenant: str, series: str, year: int) -> int:
        """Allocates the next number of a series atomically: no gap, no duplicate (rolled back with its transaction)."""
        statement = _insert(self.session)(orm.counters).values(tenant=tenant, series=series, year=year, value=1)
        statement = statement.on_conflict_do_update(
            index_elements=[orm.counters.c.tenant, orm.counters.c.series, orm.counters.c.year],
            set_={"value": orm.counters.c.value + 1},
        ).returning(orm.counters.c.value)
        return int(self.session.execute(statement).scalar_one())


# ListQuotes sort keys -> (column expression, how a page token carries its value)
def _sort_columns():
    q = orm.quotes.c
    return {
        "created_at": (q.created_at, "datetime"),
        "number": (q.number, "str"),
        "valid_until": (q.valid_until, "date"),
        "total_ttc": (q.total_ttc_cents, "int"),
        "view_count": (q.view_count, "int"),
        "last_viewed_at": (func.coalesce(q.last_viewed_at, literal(EPOCH, DateTime(timezone=True))), "datetime"),
    }


SUMMARY_COLUMNS = ("id", "number", "status", "account_id", "contact_id", "assignee_id", "deal_id", "title",
                   "total_ht_cents", "total_vat_cents", "total_ttc_cents", "valid_until", "created_at", "updated_at",
                   "view_count", "download_count", "last_viewed_at", "last_version", "unsent_changes")


def _token_value(kind: str, value):
    if kind == "datetime":
        return _utc(value).isoformat()
    if kind == "date":
        return value.isoformat()
    return value


def _parse_token_value(kind: str, raw):
    if kind == "datetime":
        return datetime.fromisoformat(raw)
    if kind == "date":
        return date.fromisoformat(raw)
    if kind == "int":
        if not isinstance(raw, int) or isinstance(raw, bool):
            raise ValueError("not an int")
        return raw
    if not isinstance(raw, str):
        raise ValueError("not a string")
    return raw


def encode_page_token(order_by: str, summary: model.QuoteSummary) -> str:
    name = order_by.lstrip("-")
    value = {"created_at": summary.created_at, "number": summary.number, "valid_until": summary.valid_until,
             "total_ttc": _cents(summary.total_ttc), "view_count": summary.view_count,
             "last_viewed_at": summary.last_viewed_at or EPOCH}[name]
    kind = _sort_columns()[name][1]
    doc = [order_by, _token_value(kind, value), summary.id]
    return base64.urlsafe_b64encode(json.dumps(doc, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_page_token(token: str, order_by: str) -> tuple:
    """(sort value, id) of the last row of the previous page; InvalidArgument for anything else."""
    try:
        order, raw, key = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if order != order_by:
            raise InvalidArgument({"page_token": f"was made for order_by {order!r}, not {order_by!r}"})
        kind = _sort_columns()[order.lstrip("-")][1]
        if not isinstance(key, str):
            raise ValueError("id")
        return _parse_token_value(kind, raw), key
    except InvalidArgument:
        raise
    except Exception:
        raise InvalidArgument({"page_token": "is not a token this service returned"}) from None


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


_FILTERS = ("status", "account_id", "assignee_id", "deal_id")


def _list_shape(query: model.ListQuery) -> tuple:
    return (tuple(name for name in _FILTERS if getattr(query, name)), bool(query.text), query.order_by,
            query.after is not None)


def _list_params(query: model.ListQuery) -> dict:
    params = {"tenant": query.tenant, "limit": query.page_size}
    params.update({name: getattr(query, name) for name in _FILTERS if getattr(query, name)})
    if query.text:
        params["pattern"] = _like(query.text)
    if query.after is not None:
        params["after_value"], params["after_id"] = query.after
    return params


@functools.lru_cache(maxsize=256)
def _list_statement(filters: tuple[str, ...], text_search: bool, order_by: str, paged: bool):
    """The SELECT of one shape of list query, built once; values travel as bound parameters."""
    q = orm.quotes.c
    descending = order_by.startswith("-")
    column, _ = _sort_columns()[order_by.lstrip("-")]
    statement = select(*(q[name] for name in SUMMARY_COLUMNS)).where(q.tenant == bindparam("tenant"))
    for name in filters:
        statement = statement.where(q[name] == bindparam(name))
    if text_search:
        pattern = bindparam("pattern", type_=String)
        accounts = select(orm.accounts.c.id).where(orm.accounts.c.tenant == bindparam("tenant"),
                                                   orm.accounts.c.name.ilike(pattern, escape="\\"))
        statement = statement.where(or_(q.number.ilike(pattern, escape="\\"), q.title.ilike(pattern, escape="\\"),
                                        q.account_id.in_(accounts)))
    if paged:
        value, key = bindparam("after_value", type_=column.type), bindparam("after_id", type_=String)
        if descending:
            statement = statement.where(or_(column < value, and_(column == value, q.id < key)))
        else:
            statement = statement.where(or_(column > value, and_(column == value, q.id > key)))
    if descending:
        statement = statement.order_by(column.desc(), q.id.desc())
    else:
        statement = statement.order_by(column.asc(), q.id.asc())
    return statement.limit(bindparam("limit", type_=Integer))


def _children(tenant: str, quote_id: str):
    """One statement for a quote's versions (v), history (h), invoices and orders (s) and tasks (t), as rows of
    (src, n, at, a, b, c, d, e, f, g); see :meth:`QuoteRepository.detail` for which column holds what."""
    def none(type_):
        return cast(null(), type_)

    v, h, s, t = orm.quote_versions.c, orm.quote_history.c, orm.sales_documents.c, orm.tasks.c
    return union_all(
        select(literal("v").label("src"), cast(v.number, BigInteger).label("n"), v.sent_at.label("at"),
               v.pdf_sha256.label("a"), v.recipient_email.label("b"), v.content_sha256.label("c"),
               cast(v.last_recipient_email, Text).label("d"), none(Date).label("e"), v.last_sent_at.label("f"),
               cast(v.send_count, BigInteger).label("g")).where(v.quote_id == quote_id),
        select(literal("h"), cast(h.id, BigInteger), h.at, h.kind, h.actor, none(String), h.detail,
               none(Date), none(h.at.type), none(BigInteger)).where(h.quote_id == quote_id),
        select(literal("s"), none(BigInteger), s.created_at, s.kind, s.id, s.number, none(Text),
               none(Date), none(h.at.type), none(BigInteger)).where(s.tenant == tenant, s.quote_id == quote_id),
        select(literal("t"), none(BigInteger), t.created_at, t.id, t.title, t.assignee_id, t.description,
               t.due_date, none(h.at.type), none(BigInteger)).where(t.tenant == tenant, t.quote_id == quote_id),
    )


@functools.cache
def _count_accesses_statement():
    """``UPDATE quotes`` adding one tally (built once: building the CASE costs more than running it)."""
    q = orm.quotes.c
    seen = bindparam("b_seen", type_=q.last_viewed_at.type)
    return update(orm.quotes).where(q.tenant == bindparam("b_tenant"), q.id == bindparam("b_id")).values(
        view_count=q.view_count + bindparam("b_views", type_=Integer),
        download_count=q.download_count + bindparam("b_downloads", type_=Integer),
        last_viewed_at=case((and_(seen.is_not(None), or_(q.last_viewed_at.is_(None), q.last_viewed_at < seen)),
                             seen), else_=q.last_viewed_at))


# PostgreSQL: a batch of views and downloads in one statement of fixed text (parsed once by the driver,
# then prepared by the server). The events come as one JSON array of [tenant, quote id, kind, at, actor,
# detail] (dumped in C; psycopg dumps a list parameter element by element in Python). Their tallies are
# summed per quote, the quotes' rows locked in id order (two batches counting views of the same quotes
# queue instead of deadlocking) and their counters added in place; the history rows are inserted in
# arrival order, only for the quotes counted. It returns the (tenant, id) of the quotes counted.
_RECORD_ACCESSES_SQL = """
WITH e AS (
    SELECT r->>0 AS tenant, r->>1 AS quote_id, r->>2 AS kind, CAST(r->>3 AS timestamptz) AS at,
           r->>4 AS actor, r->>5 AS detail, n
    FROM json_array_elements(CAST(:events AS json)) WITH ORDINALITY AS x(r, n)
), tally AS (
    SELECT tenant, quote_id, count(*) FILTER (WHERE kind = 'viewed') AS views,
           count(*) FILTER (WHERE kind = 'downloaded') AS downloads,
           max(at) FILTER (WHERE kind = 'viewed') AS seen
    FROM e GROUP BY tenant, quote_id
), locked AS (
    SELECT q.id, tally.views, tally.downloads, tally.seen
    FROM quotes q JOIN tally ON q.tenant = tally.tenant AND q.id = tally.quote_id
    ORDER BY q.id FOR NO KEY UPDATE OF q
), counted AS (
    UPDATE quotes q SET view_count = q.view_count + l.views, download_count = q.download_count + l.downloads,
                        last_viewed_at = GREATEST(q.last_viewed_at, l.seen)
    FROM locked l WHERE q.id = l.id
    RETURNING q.tenant, q.id
), logged AS (
    INSERT INTO quote_history (quote_id, at, kind, actor, detail)
    SELECT e.quote_id, e.at, e.kind, e.actor, e.detail
    FROM e JOIN counted c ON c.tenant = e.tenant AND c.id = e.quote_id
    ORDER BY e.n
)
SELECT tenant, id FROM counted
"""


@functools.cache
def _record_accesses_statement():
    return text(_RECORD_ACCESSES_SQL).columns(tenant=String, id=String)


class QuoteRepository:
    def __init__(self, session: Session):
        self.session = session
        self.seen: dict[str, model.Quote] = {}
        self._loaded_history: dict[str, int] = {}
        self._loaded_versions: dict[str, int] = {}
        self._loaded_sends: dict[str, int] = {}  # the last version's send count, as loaded
        self.events: list[Event] = []  # what the quotes saved recorded, for the outbox of this transaction

    def add(self, quote: model.Quote) -> None:
        self.session.execute(insert(orm.quotes).values(**self._row(quote)))
        self._loaded_history[quote.id] = 0
        self._loaded_versions[quote.id] = 0
        self.seen[quote.id] = quote
        self._append_children(quote)

    def get(self, tenant: str, quote_id: str, *, for_update: bool = False,
            with_history: bool = False) -> model.Quote | None:
        """The quote of ``tenant`` (None for another tenant's). Without history, ``quote.history`` holds
        only what is appended in this unit of work (saved on ``save``)."""
        query = select(orm.quotes).where(orm.quotes.c.tenant == tenant, orm.quotes.c.id == quote_id)
        if for_update and self.session.bind.dialect.name == "postgresql":
            query = query.with_for_update()
        row = self.session.execute(query).mappings().first()
        if row is None:
            return None
        versions = [model.Version(number=v.number, content_sha256=v.content_sha256, pdf_sha256=v.pdf_sha256,
                                  sent_at=_utc(v.sent_at), recipient_email=v.recipient_email, content=v.content,
                                  last_sent_at=_utc(v.last_sent_at), last_recipient_email=v.last_recipient_email,
                                  send_count=v.send_count)
                    for v in self.session.execute(select(orm.quote_versions).where(
                        orm.quote_versions.c.quote_id == quote_id).order_by(orm.quote_versions.c.number))]
        history = []
        if with_history:
            history = [model.HistoryEntry(at=_utc(h.at), kind=h.kind, actor=h.actor, detail=h.detail, id=h.id)
                       for h in self.session.execute(select(orm.quote_history).where(
                           orm.quote_history.c.quote_id == quote_id).order_by(orm.quote_history.c.at,
                                                                              orm.quote_history.c.id))]
        quote = self._quote(row, versions, history)
        self._loaded_history[quote.id] = len(history)
        self._loaded_versions[quote.id] = len(versions)
        self._loaded_sends[quote.id] = versions[-1].send_count if versions else 0
        self.seen[quote.id] = quote
        return quote

    def detail(self, tenant: str, quote_id: str) -> tuple[model.Quote, list, list[model.Task]] | None:
        """For reading only: the quote of ``tenant`` with its history, its versions (without their frozen
        content), the (kind, id, number, created_at) of the invoices and orders made from it, and its tasks,
        in two round trips: the quote's row, then one UNION ALL of its children."""
        row = self.session.execute(select(orm.quotes).where(
            orm.quotes.c.tenant == tenant, orm.quotes.c.id == quote_id)).mappings().first()
        if row is None:
            return None
        versions, history, made, tasks = [], [], [], []
        for r in self.session.execute(_children(tenant, quote_id)):
            at = _utc(r.at)
            if r.src == "v":
                versions.append(model.Version(number=r.n, content_sha256=r.c, pdf_sha256=r.a, sent_at=at,
                                              recipient_email=r.b, last_sent_at=_utc(r.f),
                                              last_recipient_email=r.d or "", send_count=r.g or 1))
            elif r.src == "h":
                history.append(model.HistoryEntry(at=at, kind=r.a, actor=r.b, detail=r.d, id=r.n))
            elif r.src == "s":
                made.append((r.a, r.b, r.c, at))
            else:
                tasks.append(model.Task(id=r.a, tenant=tenant, quote_id=quote_id, title=r.b, due_date=r.e,
                                        assignee_id=r.c, description=r.d, created_at=at))
        versions.sort(key=lambda v: v.number)
        history.sort(key=lambda h: (h.at, h.id))
        made.sort(key=lambda m: (m[3], m[2]))
        tasks.sort(key=lambda t: (t.created_at, t.id))
        return self._quote(row, versions, history), made, tasks

    def save(self, quote: model.Quote) -> None:
        row = self._row(quote)
        del row["id"], row["tenant"], row["number"], row["created_at"]
        self.session.execute(update(orm.quotes).where(orm.quotes.c.id == quote.id).values(**row))
        self._append_children(quote)

    def _append_children(self, quote: model.Quote) -> None:
        """Inserts the versions and history entries added since load; records the last version's latest send
        (a relance), never touching its first one; takes the events the quote recorded, which are thus
        published only with what they report."""
        self.events.extend(quote.new_events)
        quote.new_events.clear()
        known_versions = self._loaded_versions.get(quote.id, 0)
        for version in quote.versions[known_versions:]:
            self.session.execute(insert(orm.quote_versions).values(
                quote_id=quote.id, number=version.number, content_sha256=version.content_sha256,
                pdf_sha256=version.pdf_sha256, sent_at=version.sent_at, recipient_email=version.recipient_email,
                content=version.content, last_sent_at=version.last_sent_at,
                last_recipient_email=version.last_recipient_email, send_count=version.send_count))
        if known_versions and known_versions == len(quote.versions) \
                and quote.versions[-1].send_count != self._loaded_sends.get(quote.id):
            last = quote.versions[-1]
            self.session.execute(update(orm.quote_versions).where(
                orm.quote_versions.c.quote_id == quote.id, orm.quote_versions.c.number == last.number).values(
                last_sent_at=last.last_sent_at, last_recipient_email=last.last_recipient_email,
                send_count=last.send_count))
        self._loaded_versions[quote.id] = len(quote.versions)
        self._loaded_sends[quote.id] = quote.versions[-1].send_count if quote.versions else 0
        new = quote.history[self._loaded_history.get(quote.id, 0):]
        self.append_history([(quote.id, entry) for entry in new])
        self._loaded_history[quote.id] = len(quote.history)

    def append_history(self, entries: list[tuple[str, model.HistoryEntry]]) -> None:
        """Inserts ``(quote id, entry)`` pairs in one statement."""
        if entries:
            self.session.execute(insert(orm.quote_history), [
                {"quote_id": quote_id, "at": entry.at, "kind": entry.kind, "actor": entry.actor[:320],
                 "detail": entry.detail} for quote_id, entry in entries])

    def existing(self, keys: set[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which ``(tenant, quote id)`` pairs name a quote of that tenant."""
        if not keys:
            return set()
        q = orm.quotes.c
        rows = self.session.execute(select(q.tenant, q.id).where(q.id.in_(sorted({key for _, key in keys}))))
        return {(row.tenant, row.id) for row in rows} & keys

    def record_accesses(self, accesses: list[tuple[str, str, model.HistoryEntry]]) -> set[tuple[str, str]]:
        """Records views and downloads, each a ``(tenant, quote id, "viewed"/"downloaded" entry)``: its
        history row, and its quote's counters added in place (no aggregate load). Returns the
        ``(tenant, quote id)`` pairs naming no quote of that tenant: when there are any, what was
        written of the others must not be committed (the caller fails the unit of work)."""
        keys = {(tenant, quote_id) for tenant, quote_id, _ in accesses}
        if self.session.bind.dialect.name == "postgresql":
            return keys - self._record_accesses_at_once(accesses)
        missing = keys - self.existing(keys)
        if not missing:
            tallies: dict[tuple[str, str], model.AccessTally] = {}
            for tenant, quote_id, entry in accesses:
                tallies.setdefault((tenant, quote_id), model.AccessTally()).add(entry.kind, entry.at)
            self.count_accesses(tallies)
            self.append_history([(quote_id, entry) for _, quote_id, entry in accesses])
        return missing

    def _record_accesses_at_once(self, accesses: list[tuple[str, str, model.HistoryEntry]]) -> set[tuple[str, str]]:
        """PostgreSQL: one round trip for the whole batch (see ``_RECORD_ACCESSES_SQL``); the pairs counted."""
        if not accesses:
            return set()
        events = json.dumps([[tenant, quote_id, entry.kind, entry.at.isoformat(), entry.actor[:320], entry.detail]
                             for tenant, quote_id, entry in accesses], ensure_ascii=False)
        rows = self.session.execute(_record_accesses_statement(), {"events": events})
        return {(tenant, quote_id) for tenant, quote_id in rows}

    def count_accesses(self, tallies: dict[tuple[str, str], model.AccessTally]) -> None:
        """Adds each tally to its quote's counters in place (``view_count = view_count + k``): no
        aggregate load, and concurrent writers of the row add up instead of overwriting. Rows are
        updated in id order, so two batches counting views of the same quotes queue instead of deadlocking."""
        if not tallies:
            return
        self.session.execute(_count_accesses_statement(), [
            {"b_tenant": tenant, "b_id": quote_id, "b_views": tally.views, "b_downloads": tally.downloads,
             "b_seen": tally.last_viewed_at.astimezone(timezone.utc) if tally.last_viewed_at else None}
            for (tenant, quote_id), tally in sorted(tallies.items(), key=lambda item: item[0][1])])

    def add_link(self, quote_id: str, version: int, token_sha256: str, recipient_email: str, at: datetime) -> None:
        self.session.execute(insert(orm.quote_links).values(
            token_sha256=token_sha256, quote_id=quote_id, version=version, recipient_email=recipient_email,
            created_at=at))

    def recipients(self, quote_id: str, version: int) -> set[str]:
        """The addresses a version was sent to (each send stored its link), trimmed and in lower case."""
        l = orm.quote_links.c
        return {email.strip().lower() for email in self.session.execute(
            select(l.recipient_email).where(l.quote_id == quote_id, l.version == version).distinct()).scalars()}

    def sent_assigned_to(self, tenant: str, user_id: str) -> list[tuple[str, str]]:
        """(id, number) of the quotes assigned to ``user_id`` that were ever sent, oldest first."""
        q = orm.quotes.c
        return [(r.id, r.number) for r in self.session.execute(
            select(q.id, q.number).where(q.tenant == tenant, q.assignee_id == user_id, q.last_version > 0)
            .order_by(q.created_at, q.id))]

    def drafts_at_rates(self, tenant: str, rates: set[Decimal]) -> list[tuple[str, set[Decimal]]]:
        """(number, rates used) of the Brouillon quotes with a line or an optional product at one of ``rates``."""
        q = orm.quotes.c
        found = []
        for row in self.session.execute(select(q.number, q.lines, q.optional_lines).where(
                q.tenant == tenant, q.status == model.Status.DRAFT).order_by(q.created_at, q.id)):
            used = {Decimal(line["vat_rate"]) for line in [*(row.lines or ()), *(row.optional_lines or ())]}
            if used & rates:
                found.append((row.number, used & rates))
        return found

    def link_exists(self, token_sha256: str) -> bool:
        return self.session.execute(select(orm.quote_links.c.token_sha256).where(
            orm.quote_links.c.token_sha256 == token_sha256)).first() is not None

    def list(self, query: model.ListQuery) -> list[model.QuoteSummary]:
        """One indexed statement; counters come from the row, never from COUNT(*)."""
        statement, params = _list_statement(*_list_shape(query)), _list_params(query)
        summaries = []
        for (key, number, status, account_id, contact_id, assignee_id, deal_id, title, ht, vat, ttc, valid_until,
             created_at, updated_at, views, downloads, last_viewed_at, version, unsent) in \
                self.session.execute(statement, params):
            summaries.append(model.QuoteSummary(
                key, number, status, account_id, contact_id, assignee_id, deal_id, title, _from_cents(ht),
                _from_cents(vat), _from_cents(ttc), valid_until, _utc(created_at), _utc(updated_at), views,
                downloads, _utc(last_viewed_at), version, bool(unsent)))
        return summaries

    @staticmethod
    def list_statement(query: model.ListQuery):
        """The list's SELECT with the query's values bound (what EXPLAIN runs on in the tests and the bench)."""
        return _list_statement(*_list_shape(query)).params(_list_params(query))

    def expiring(self, today: date, limit: int) -> list[tuple[str, str]]:
        q = orm.quotes.c
        return [(r.tenant, r.id) for r in self.session.execute(
            select(q.tenant, q.id).where(q.status == model.Status.SENT, q.valid_until < today)
            .order_by(q.valid_until).limit(limit))]

    # ------------------------------------------------------------ invoices, orders, tasks

    def add_sales_document(self, doc: model.SalesDocument) -> None:
        self.session.execute(insert(orm.sales_documents).values(
            id=doc.id, tenant=doc.tenant, kind=doc.kind, number=doc.number, quote_id=doc.quote_id,
            quote_number=doc.quote_number, account_id=doc.account_id, contact_id=doc.contact_id,
            assignee_id=doc.assignee_id, title=doc.title, lines=[_line_to_json(l) for l in doc.lines],
            total_ttc_cents=_cents(doc.totals.total_ttc), created_at=doc.created_at))

    def sales_document(self, tenant: str, doc_id: str) -> model.SalesDocument | None:
        s = orm.sales_documents.c
        row = self.session.execute(select(orm.sales_documents).where(s.tenant == tenant, s.id == doc_id)
                                   ).mappings().first()
        if row is None:
            return None
        return model.SalesDocument(
            id=row["id"], tenant=row["tenant"], kind=row["kind"], number=row["number"], quote_id=row["quote_id"],
            quote_number=row["quote_number"], account_id=row["account_id"], contact_id=row["contact_id"],
            assignee_id=row["assignee_id"], title=row["title"], lines=[_line_from_json(l) for l in row["lines"]],
            created_at=_utc(row["created_at"]))

    def sales_documents_of(self, tenant: str, quote_id: str) -> list[tuple[str, str, str, datetime]]:
        """(kind, id, number, created_at) of the invoices and orders made from a quote."""
        s = orm.sales_documents.c
        return [(r.kind, r.id, r.number, _utc(r.created_at)) for r in self.session.execute(
            select(s.kind, s.id, s.number, s.created_at).where(s.tenant == tenant, s.quote_id == quote_id)
            .order_by(s.created_at, s.number))]

    def add_task(self, task: model.Task) -> None:
        self.session.execute(insert(orm.tasks).values(
            id=task.id, tenant=task.tenant, quote_id=task.quote_id, title=task.title, due_date=task.due_date,
            assignee_id=task.assignee_id, description=task.description, created_at=task.created_at))

    def tasks_of(self, tenant: str, quote_id: str) -> list[model.Task]:
        t = orm.tasks.c
        return [model.Task(id=r.id, tenant=r.tenant, quote_id=r.quote_id, title=r.title, due_date=r.due_date,
                           assignee_id=r.assignee_id, description=r.description, created_at=_utc(r.created_at))
                for r in self.session.execute(select(orm.tasks).where(t.tenant == tenant, t.quote_id == quote_id)
                                              .order_by(t.created_at, t.id))]

    def task(self, tenant: str, task_id: str) -> model.Task | None:
        t = orm.tasks.c
        r = self.session.execute(select(orm.tasks).where(t.tenant == tenant, t.id == task_id)).first()
        if r is None:
            return None
        return model.Task(id=r.id, tenant=r.tenant, quote_id=r.quote_id, title=r.title, due_date=r.due_date,
                          assignee_id=r.assignee_id, description=r.description, created_at=_utc(r.created_at))

    # ------------------------------------------------------------ rows

    @staticmethod
    def _row(quote: model.Quote) -> dict:
        totals = quote.totals
        return {
            "id": quote.id, "tenant": quote.tenant, "number": quote.number, "status": quote.status,
            "account_id": quote.account_id, "contact_id": quote.contact_id, "assignee_id": quote.assignee_id,
            "title": quote.title, "lines": [_line_to_json(l) for l in quote.lines],
            "valid_until": quote.valid_until, "terms": quote.terms, "created_at": quote.created_at,
            "view_count": quote.view_count, "download_count": quote.download_count,
            "last_viewed_at": quote.last_viewed_at,
            "signature": asdict(quote.signature) if quote.signature else None,
            "deal_id": quote.deal_id,
            "optional_lines": [_line_to_json(l) for l in quote.optional_lines] or None,
            "documents": [asdict(d) for d in quote.documents] or None,
            "total_ht_cents": _cents(totals.total_ht), "total_vat_cents": _cents(totals.total_vat),
            "total_ttc_cents": _cents(totals.total_ttc),
            "last_version": quote.last_version, "unsent_changes": quote.unsent_changes,
            "decline": asdict(quote.decline) if quote.decline else None,
            "updated_at": quote.updated_at,
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
            versions=versions, history=history, deal_id=row["deal_id"] or "",
            optional_lines=[_line_from_json(l) for l in row["optional_lines"] or ()],
            documents=[Document(**d) for d in row["documents"] or ()],
            decline=model.DeclineInfo(**row["decline"]) if row["decline"] else None,
            updated_at=_utc(row["updated_at"]),
        )


class IdempotencyRepository:
    """Keys of create/send calls, claimed inside the transaction of the call's effect."""

    def __init__(self, session: Session):
        self.session = session

    def claim(self, tenant: str, key: str, operation: str, request_sha256: str, at: datetime,
              _again: bool = True) -> dict | None:
        """None when this transaction now owns ``key``; else the stored row of the call that owned it first.

        On PostgreSQL a concurrent call with the same key waits on the insert until the first commits."""
        k = orm.idempotency_keys.c
        try:
            with self.session.begin_nested():
                self.session.execute(insert(orm.idempotency_keys).values(
                    tenant=tenant, key=key, operation=operation, request_sha256=request_sha256, created_at=at))
            return None
        except IntegrityError:
            row = self.session.execute(select(orm.idempotency_keys).where(k.tenant == tenant, k.key == key)
                                       ).mappings().first()
            if row is None:
                if _again:  # the first call rolled back in between: try once more
                    return self.claim(tenant, key, operation, request_sha256, at, _again=False)
                raise Conflict("a concurrent call with the same idempotency_key is in progress; retry") from None
            return dict(row)

    def complete(self, tenant: str, key: str, result: dict) -> None:
        k = orm.idempotency_keys.c
        self.session.execute(update(orm.idempotency_keys).where(k.tenant == tenant, k.key == key).values(
            result=result))

    def purge(self, before: datetime) -> int:
        k = orm.idempotency_keys.c
        return self.session.execute(delete(orm.idempotency_keys).where(k.created_at < before)).rowcount or 0


__all__ = ["DirectoryRepository", "QuoteRepository", "IdempotencyRepository", "encode_page_token",
           "decode_page_token"]
