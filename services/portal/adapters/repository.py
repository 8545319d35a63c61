"""Maps the read model's rows to domain objects and back, by hand."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from services.portal.adapters import orm
from services.portal.domain import model


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


class ReadModelRepository:
    def __init__(self, session: Session):
        self.session = session

    def link(self, token_sha256: str) -> model.Link | None:
        row = self.session.execute(
            select(orm.links).where(orm.links.c.token_sha256 == token_sha256)).mappings().first()
        if row is None:
            return None
        return model.Link(token_sha256=row["token_sha256"], tenant=row["tenant"], quote_id=row["quote_id"],
                          version=row["version"], recipient=dict(row["recipient"] or {}),
                          expires_at=_utc(row["expires_at"]), superseded=bool(row["superseded"]))

    def add_link(self, link: model.Link, now: datetime) -> None:
        if self.link(link.token_sha256) is not None:
            return
        self.session.execute(insert(orm.links).values(
            token_sha256=link.token_sha256, tenant=link.tenant, quote_id=link.quote_id, version=link.version,
            recipient=link.recipient, expires_at=link.expires_at, superseded=link.superseded, created_at=now))

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
            signed_pdf_sha256=row["signed_pdf_sha256"] or "")

    def save_version(self, version: model.Version) -> None:
        v = orm.versions.c
        values = dict(number=version.number, snapshot=version.snapshot, pdf_sha256=version.pdf_sha256,
                      signature_requested=version.signature_requested, assignee=version.assignee,
                      status=version.status, signer_name=version.signer_name, signed_at=version.signed_at,
                      signed_pdf_sha256=version.signed_pdf_sha256)
        key = (v.tenant == version.tenant, v.quote_id == version.quote_id, v.version == version.version)
        if self.session.execute(select(v.version).where(*key)).first():
            self.session.execute(update(orm.versions).where(*key).values(**values))
        else:
            self.session.execute(insert(orm.versions).values(
                tenant=version.tenant, quote_id=version.quote_id, version=version.version, **values))

    def supersede_links_before(self, tenant: str, quote_id: str, version: int) -> None:
        l = orm.links.c
        self.session.execute(update(orm.links).where(
            l.tenant == tenant, l.quote_id == quote_id, l.version < version).values(superseded=True))
