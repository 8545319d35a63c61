"""Maps rows to signature requests and back, by hand, always scoped to one tenant."""
from __future__ import annotations

import json
from datetime import datetime, timezone

from sqlalchemy import case, insert, select, update
from sqlalchemy.orm import Session

from services.signature.adapters import orm
from services.signature.domain import evidence, model


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _party(doc: dict | None) -> model.Party:
    doc = doc or {}
    return model.Party(id=doc.get("id", ""), name=doc.get("name", ""), email=doc.get("email", ""),
                       phone=doc.get("phone", ""))


class RequestRepository:
    def __init__(self, session: Session):
        self.session = session

    # reading
    def _load(self, rows) -> list[model.SignatureRequest]:
        rows = list(rows)
        if not rows:
            return []
        ids = [row["id"] for row in rows]
        chains: dict[str, list[evidence.Entry]] = {key: [] for key in ids}
        for e in self.session.execute(select(orm.evidence).where(orm.evidence.c.request_id.in_(ids))
                                      .order_by(orm.evidence.c.request_id, orm.evidence.c.seq)).mappings():
            chains[e["request_id"]].append(evidence.Entry(
                seq=e["seq"], at=e["at"], step=e["step"], ip=e["ip"], user_agent=e["user_agent"],
                data=json.loads(e["data_json"]), prev_sha256=e["prev_sha256"], sha256=e["sha256"]))
        result = []
        for row in rows:
            signature = None
            if row["status"] == model.SIGNED:
                signature = model.Signature(
                    signer_name=row["signer_name"], signer_email=row["signer_email"],
                    signer_contact_id=row["signer_contact_id"], signed_at=_utc(row["signed_at"]),
                    ip=row["signed_ip"], user_agent=row["signed_user_agent"],
                    consent_text=row["signed_consent_text"], signed_pdf_sha256=row["signed_pdf_sha256"],
                    proof_sha256=row["proof_sha256"])
            result.append(model.SignatureRequest(
                id=row["id"], tenant=row["tenant"], quote_id=row["quote_id"], number=row["number"],
                version=row["version"], document_sha256=row["document_sha256"], signer=_party(row["signer"]),
                assignee=_party(row["assignee"]), amount_ttc=row["amount_ttc"], currency=row["currency"],
                consent_text=row["consent_text"], status=row["status"], created_at=_utc(row["created_at"]),
                evidence=chains[row["id"]], signature=signature))
        return result

    def get(self, tenant: str, request_id: str) -> model.SignatureRequest | None:
        rows = self.session.execute(select(orm.requests).where(
            orm.requests.c.tenant == tenant, orm.requests.c.id == request_id)).mappings().all()
        found = self._load(rows)
        return found[0] if found else None

    def for_quote(self, tenant: str, quote_id: str) -> list[model.SignatureRequest]:
        """Every request of a quote, latest first (highest version, then newest)."""
        rows = self.session.execute(select(orm.requests).where(
            orm.requests.c.tenant == tenant, orm.requests.c.quote_id == quote_id).order_by(
            orm.requests.c.version.desc(), orm.requests.c.created_at.desc())).mappings().all()
        return self._load(rows)

    def latest(self, tenant: str, quote_id: str) -> model.SignatureRequest | None:
        found = self.for_quote(tenant, quote_id)
        return found[0] if found else None

    def for_version(self, tenant: str, quote_id: str, version: int) -> model.SignatureRequest | None:
        """The request a signature of this version goes to: the signed one if any, else the newest."""
        c = orm.requests.c
        rows = self.session.execute(select(orm.requests).where(
            c.tenant == tenant, c.quote_id == quote_id, c.version == version).order_by(
            case((c.status == model.SIGNED, 0), else_=1), c.created_at.desc()).limit(1)).mappings().all()
        found = self._load(rows)
        return found[0] if found else None

    # writing
    def add(self, request: model.SignatureRequest) -> None:
        self.session.execute(insert(orm.requests).values(
            id=request.id, tenant=request.tenant, quote_id=request.quote_id, number=request.number,
            version=request.version, document_sha256=request.document_sha256, signer=request.signer.as_dict(),
            assignee=request.assignee.as_dict(), amount_ttc=request.amount_ttc, currency=request.currency,
            consent_text=request.consent_text, status=request.status, created_at=request.created_at,
            evidence_sha256=request.evidence_sha256))
        self.add_evidence(request.id, request.evidence)

    def add_evidence(self, request_id: str, entries: list[evidence.Entry]) -> None:
        for e in entries:
            self.session.execute(insert(orm.evidence).values(
                request_id=request_id, seq=e.seq, at=e.at, step=e.step, ip=e.ip, user_agent=e.user_agent,
                data_json=evidence.canonical_json(e.data), prev_sha256=e.prev_sha256, sha256=e.sha256))

    def mark_superseded(self, request: model.SignatureRequest, entries: list[evidence.Entry]) -> bool:
        changed = self.session.execute(update(orm.requests).where(
            orm.requests.c.id == request.id, orm.requests.c.status == model.OPEN).values(
            status=model.SUPERSEDED, evidence_sha256=request.evidence_sha256)).rowcount
        if changed:
            self.add_evidence(request.id, entries)
        return bool(changed)

    def mark_signed(self, request: model.SignatureRequest, entries: list[evidence.Entry]) -> bool:
        """Conditional: only an open request becomes signed, so two signatures cannot both win."""
        s = request.signature
        changed = self.session.execute(update(orm.requests).where(
            orm.requests.c.tenant == request.tenant, orm.requests.c.id == request.id,
            orm.requests.c.status == model.OPEN).values(
            status=model.SIGNED, signed_at=s.signed_at, signer_name=s.signer_name, signer_email=s.signer_email,
            signer_contact_id=s.signer_contact_id, signed_ip=s.ip, signed_user_agent=s.user_agent,
            signed_consent_text=s.consent_text, evidence_sha256=request.evidence_sha256,
            signed_pdf_sha256=s.signed_pdf_sha256, proof_sha256=s.proof_sha256)).rowcount
        if changed:
            self.add_evidence(request.id, entries)
        return bool(changed)
