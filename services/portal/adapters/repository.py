"""Maps the read model's rows to domain objects and back, by hand."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from services.portal.adapters import orm
from services.portal.domain import model


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _link_and_version_query():
    l, v = orm.links.c, orm.versions.c
    return (select(*orm.links.c, *[c.label(f"v_{c.name}") for c in orm.versions.c])
            .select_from(orm.links.outerjoin(orm.versions, (v.tenant == l.tenant) & (v.quote_id == l.quote_id)
                                             & (v.version == l.version)))
            .where(l.token_sha256 == bindparam("token")))


_LINK_AND_VERSION = _link_and_version_query()  # built once: a statement, not a connection


class ReadModelRepository:
    """Reads and writes through ``session``: an ORM Session (unit of work) or a Connection (read only)."""

    def __init__(self, session: Session | Connection):
        self.session = session

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
        """The link and the version it shows, in one round trip (every page request does this)."""
        row = self.session.execute(_LINK_AND_VERSION, {"token": token_sha256}).mappings().first()
        if row is None:
            return None, None
        version = None
        if row["v_version"] is not None:
            version = self._version({c.name: row[f"v_{c.name}"] for c in orm.versions.c})
        return self._link(row), version

    def links_of(self, tenant: str, quote_id: str) -> list[model.Link]:
        l = orm.links.c
        rows = self.session.execute(select(orm.links).where(l.tenant == tenant, l.quote_id == quote_id)
                                    ).mappings().all()
        return [self._link(row) for row in rows]

    def add_link(self, link: model.Link, now: datetime) -> None:
        if self.link(link.token_sha256) is not None:
            return
        self.session.execute(insert(orm.links).values(
            token_sha256=link.token_sha256, tenant=link.tenant, quote_id=link.quote_id, version=link.version,
            recipient=link.recipient, expires_at=link.expires_at, superseded=link.superseded,
            revoked=link.revoked, created_at=now))

    def save_link_state(self, link: model.Link) -> None:
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
        dialect = self.session.get_bind().dialect.name
        build = pg_insert if dialect == "postgresql" else sqlite_insert
        statement = (build(orm.views)
                     .values(view_id=view_id, token_sha256=token_sha256, trigger=trigger, confirmed_at=now)
                     .on_conflict_do_nothing(index_elements=["view_id"])
                     .returning(orm.views.c.view_id))
        return self.session.execute(statement).first() is not None
