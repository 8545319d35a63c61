"""Maps the read model's rows to domain objects and back, by hand."""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from services.portal.adapters import orm
from services.portal.adapters.fresh import FreshRows
from services.portal.adapters.lru import Lru
from services.portal.domain import model


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


# The snapshot of a sent version never changes: the hot lookup leaves it out (a TOASTed JSON
# document of several KiB to read, send and parse on every request) and takes it from a cache.
_VERSION_STATE = [c for c in orm.versions.c if c.name != "snapshot"]


def _link_and_version_query():
    l, v = orm.links.c, orm.versions.c
    return (select(*orm.links.c, *[c.label(f"v_{c.name}") for c in _VERSION_STATE])
            .select_from(orm.links.outerjoin(orm.versions, (v.tenant == l.tenant) & (v.quote_id == l.quote_id)
                                             & (v.version == l.version)))
            .where(l.token_sha256 == bindparam("token")))


# Built once: statements, not connections.
_LINK_AND_VERSION = _link_and_version_query()
_SNAPSHOT = select(orm.versions.c.snapshot).where(
    orm.versions.c.tenant == bindparam("tenant"), orm.versions.c.quote_id == bindparam("quote_id"),
    orm.versions.c.version == bindparam("version"))


@dataclass
class Remembered:
    """What the requests of a process may keep of the read model: the snapshots of sent versions (by
    tenant, quote, version and PDF hash) and the ids of views known confirmed (committed: counting them
    again can only find them there) never change; the lookup rows (``rows``) are kept only while the
    database tells their changes (services/portal/adapters/fresh.py)."""

    snapshots: Lru = field(default_factory=lambda: Lru(1024))
    confirmed_views: Lru = field(default_factory=lambda: Lru(16384))
    rows: FreshRows = field(default_factory=FreshRows)

    def view_counted(self, view_id: str) -> bool:
        """True when this process knows the view ``view_id`` is counted (committed); False: maybe not."""
        return bool(self.confirmed_views.get(view_id))


class ReadModelRepository:
    """Reads and writes through ``session``: an ORM Session (unit of work) or a Connection (read only)."""

    def __init__(self, session: Session | Connection, remembered: Remembered | None = None):
        self.session = session
        self.remembered = remembered if remembered is not None else Remembered()
        self.touched: set[tuple[str, str]] = set()  # quotes whose links or versions this unit wrote

    # --- links --------------------------------------------------------------------------

    def link(self, token_sha256: str) -> model.Link | None:
        row = self.session.execute(
            select(orm.links).where(orm.links.c.token_sha256 == token_sha256)).mappings().first()
        return self._link(row) if row else None

    @staticmethod
    def _link(row) -> model.Link:
        code = None
        if row["code_channel"]:
            code = model.CodeSent(channel=row["code_channel"], to=row["code_sent_to"] or "",
                                  expires_at=_utc(row["code_expires_at"]))
        return model.Link(token_sha256=row["token_sha256"], tenant=row["tenant"], quote_id=row["quote_id"],
                          version=row["version"], recipient=dict(row["recipient"] or {}),
                          expires_at=_utc(row["expires_at"]), superseded=bool(row["superseded"]),
                          revoked=bool(row["revoked"]), code=code)

    def link_and_version(self, token_sha256: str) -> tuple[model.Link | None, model.Version | None]:
        """The link and the version it shows, in one round trip (every page request does this);
        the version's snapshot comes from ``snapshots`` (one more query the first time)."""
        row = self._state_row(token_sha256)
        if row is None:
            return None, None
        version = None
        if row["v_version"] is not None:
            values = {c.name: row[f"v_{c.name}"] for c in _VERSION_STATE}
            values["snapshot"] = self._snapshot(values)
            version = self._version(values)
        return self._link(row), version

    def _state_row(self, token_sha256: str):
        return self._first(_LINK_AND_VERSION, {"token": token_sha256})

    def _snapshot(self, values: dict) -> dict:
        key = (values["tenant"], values["quote_id"], values["version"], values["pdf_sha256"])
        snapshot = self.remembered.snapshots.get(key)
        if snapshot is None:
            row = self._first(_SNAPSHOT, {"tenant": key[0], "quote_id": key[1], "version": key[2]})
            snapshot = (row["snapshot"] if row else None) or {}
            self.remembered.snapshots.put(key, snapshot)
        return snapshot

    def _first(self, statement, params: dict):
        """The first row of ``statement`` as a mapping (column label -> value), or None."""
        return self.session.execute(statement, params).mappings().first()

    def links_of(self, tenant: str, quote_id: str) -> list[model.Link]:
        l = orm.links.c
        rows = self.session.execute(select(orm.links).where(l.tenant == tenant, l.quote_id == quote_id)
                                    ).mappings().all()
        return [self._link(row) for row in rows]

    def add_link(self, link: model.Link, now: datetime) -> None:
        if self.link(link.token_sha256) is not None:
            return
        self.touched.add((link.tenant, link.quote_id))
        self.session.execute(insert(orm.links).values(
            token_sha256=link.token_sha256, tenant=link.tenant, quote_id=link.quote_id, version=link.version,
            recipient=link.recipient, expires_at=link.expires_at, superseded=link.superseded,
            revoked=link.revoked, created_at=now))

    def save_link_state(self, link: model.Link) -> None:
        self.touched.add((link.tenant, link.quote_id))
        code = link.code
        self.session.execute(update(orm.links).where(orm.links.c.token_sha256 == link.token_sha256).values(
            superseded=link.superseded, revoked=link.revoked,
            code_channel=code.channel if code else "", code_sent_to=code.to if code else "",
            code_expires_at=code.expires_at if code else None))

    # --- versions -----------------------------------------------------------------------

    def version(self, tenant: str, quote_id: str, version: int) -> model.Version | None:
        v = orm.versions.c
        row = self.session.execute(select(orm.versions).where(
            v.tenant == tenant, v.quote_id == quote_id, v.version == version)).mappings().first()
        return self._version(row) if row else None

    def versions_of(self, tenant: str, quote_id: str) -> list[model.Version]:
        v = orm.versions.c
        rows = self.session.execute(select(orm.versions).where(
            v.tenant == tenant, v.quote_id == quote_id).order_by(v.version)).mappings().all()
        return [self._version(row) for row in rows]

    @staticmethod
    def _version(row) -> model.Version:
        return model.Version(
            tenant=row["tenant"], quote_id=row["quote_id"], version=row["version"], number=row["number"],
            snapshot=dict(row["snapshot"] or {}), pdf_sha256=row["pdf_sha256"],
            signature_requested=bool(row["signature_requested"]), assignee=dict(row["assignee"] or {}),
            status=row["status"], signer_name=row["signer_name"] or "", signed_at=_utc(row["signed_at"]),
            signed_pdf_sha256=row["signed_pdf_sha256"] or "", signature_otp=row["signature_otp"] or "",
            declined_at=_utc(row["declined_at"]), decline_reason=row["decline_reason"] or "",
            decliner_name=row["decliner_name"] or "")

    def save_version(self, version: model.Version) -> None:
        self.touched.add((version.tenant, version.quote_id))
        v = orm.versions.c
        values = dict(number=version.number, snapshot=version.snapshot, pdf_sha256=version.pdf_sha256,
                      signature_requested=version.signature_requested, assignee=version.assignee,
                      status=version.status, signer_name=version.signer_name, signed_at=version.signed_at,
                      signed_pdf_sha256=version.signed_pdf_sha256, signature_otp=version.signature_otp,
                      declined_at=version.declined_at, decline_reason=version.decline_reason,
                      decliner_name=version.decliner_name)
        key = (v.tenant == version.tenant, v.quote_id == version.quote_id, v.version == version.version)
        if self.session.execute(select(v.version).where(*key)).first():
            self.session.execute(update(orm.versions).where(*key).values(**values))
        else:
            self.session.execute(insert(orm.versions).values(
                tenant=version.tenant, quote_id=version.quote_id, version=version.version, **values))

    # --- confirmed views ----------------------------------------------------------------

    def confirm_view(self, view_id: str, token_sha256: str, trigger: str, now: datetime) -> bool:
        """Records ``view_id`` once; False when it was already confirmed (by anyone, any worker)."""
        if self.remembered.view_counted(view_id):
            return False
        dialect = self.session.get_bind().dialect.name
        build = pg_insert if dialect == "postgresql" else sqlite_insert
        statement = (build(orm.views)
                     .values(view_id=view_id, token_sha256=token_sha256, trigger=trigger, confirmed_at=now)
                     .on_conflict_do_nothing(index_elements=["view_id"])
                     .returning(orm.views.c.view_id))
        if self.session.execute(statement).first() is not None:
            return True
        # Nothing inserted: the view id is in a committed row (ON CONFLICT waited for any
        # transaction still inserting it), so it is counted for good.
        self.remembered.confirmed_views.put(view_id, True)
        return False


class DriverReadModel(ReadModelRepository):
    """The page's lookup straight on a PostgreSQL driver connection in autocommit: the same statements,
    compiled once, the same mapping, without SQLAlchemy's per-execution work (a connection object, an
    execution context, result processing: about 0.6 ms of CPU, a third of a page request). psycopg
    parses ``json`` and ``timestamptz`` itself, so the rows map to the same values. Reads only.

    The lookup row comes from ``remembered.rows`` while the process hears the database's change
    notices (services/portal/adapters/fresh.py), unless ``kept`` is False (a page right after the
    client changed something: its change may not be heard yet); ``connect`` is called only when a
    query must run."""

    def __init__(self, connect: Callable[[], Any], dialect, remembered: Remembered | None = None,
                 kept: bool = True):
        super().__init__(None, remembered)
        self.connect = connect
        self.dialect = dialect
        self.kept = kept

    def _state_row(self, token_sha256: str):
        rows = self.remembered.rows
        row = rows.get(token_sha256) if self.kept else None
        if row is None:
            generation = rows.generation
            row = super()._state_row(token_sha256)
            if row is not None:
                rows.put(token_sha256, (row["tenant"], row["quote_id"]), row, generation)
        return row

    def _first(self, statement, params: dict):
        cursor = self.connect().cursor()
        try:
            cursor.execute(_compiled(statement, self.dialect), params)
            row = cursor.fetchone()
            return None if row is None else dict(zip([column[0] for column in cursor.description], row))
        finally:
            cursor.close()


@functools.lru_cache(maxsize=16)
def _compiled(statement, dialect) -> str:
    return str(statement.compile(dialect=dialect))
