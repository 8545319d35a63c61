"""Maps rows to signature requests and back, by hand, always scoped to one tenant.

Every write that appends evidence is conditional on the chain's head being
the one the caller read: two writers cannot both extend the same chain (the
loser sees ``False`` and re-reads).
"""
from __future__ import annotations

import json
from datetime import datetime, timezone

from sqlalchemy import case, func, insert, or_, select, update
from sqlalchemy.orm import Session

from services.signature.adapters import orm
from services.signature.domain import evidence, model, purchase


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
        codes: dict[str, list[model.OneTimeCode]] = {key: [] for key in ids}
        for c in self.session.execute(select(orm.codes).where(orm.codes.c.request_id.in_(ids))
                                      .order_by(orm.codes.c.request_id, orm.codes.c.seq)).mappings():
            codes[c["request_id"]].append(model.OneTimeCode(
                seq=c["seq"], channel=c["channel"], recipient=c["recipient"], salt=c["salt"],
                code_sha256=c["code_sha256"], issued_at=_utc(c["issued_at"]), expires_at=_utc(c["expires_at"]),
                attempts=c["attempts"]))
        result = []
        for row in rows:
            signature = declined = None
            if row["status"] == model.SIGNED:
                signature = model.Signature(
                    signer_name=row["signer_name"], signer_email=row["signer_email"],
                    signer_contact_id=row["signer_contact_id"], signed_at=_utc(row["signed_at"]),
                    ip=row["signed_ip"], user_agent=row["signed_user_agent"],
                    consent_text=row["signed_consent_text"], signed_pdf_sha256=row["signed_pdf_sha256"],
                    proof_sha256=row["proof_sha256"], proof_json_sha256=row["proof_json_sha256"],
                    signature_png_sha256=row["signature_png_sha256"])
            if row["status"] == model.DECLINED:
                declined = model.Decline(
                    signer_name=row["decliner_name"], signer_email=row["decliner_email"],
                    reason=row["decline_reason"], declined_at=_utc(row["declined_at"]), ip=row["declined_ip"],
                    user_agent=row["declined_user_agent"])
            result.append(model.SignatureRequest(
                id=row["id"], tenant=row["tenant"], quote_id=row["quote_id"], number=row["number"],
                version=row["version"], document_sha256=row["document_sha256"], signer=_party(row["signer"]),
                assignee=_party(row["assignee"]), amount_ttc=row["amount_ttc"], currency=row["currency"],
                consent_text=row["consent_text"], status=row["status"], created_at=_utc(row["created_at"]),
                evidence=chains[row["id"]], signature=signature, expires_at=_utc(row["expires_at"]),
                otp_channel=row["otp_channel"], codes=codes[row["id"]], declined=declined,
                recorded_head=row["evidence_sha256"],
                lines=json.loads(row["lines_json"]) if row["lines_json"] else None))
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
        """The request a signer of this version acts on: the signed or declined one if any, else the open one,
        else the newest (a version has one request since relances join it; older data may hold several)."""
        c = orm.requests.c
        rows = self.session.execute(select(orm.requests).where(
            c.tenant == tenant, c.quote_id == quote_id, c.version == version).order_by(
            case((c.status.in_((model.SIGNED, model.DECLINED)), 0), (c.status == model.OPEN, 1), else_=2),
            c.created_at.desc()).limit(1)
        ).mappings().all()
        found = self._load(rows)
        return found[0] if found else None

    def by_document(self, tenant: str, sha256s: list[str]) -> model.SignatureRequest | None:
        """The request whose signed PDF or proof PDF, as sealed, has one of these SHA-256 (a file's revisions: an
        extended file still holds the sealed one as a revision)."""
        c = orm.requests.c
        rows = self.session.execute(select(orm.requests).where(
            c.tenant == tenant, or_(c.signed_pdf_sha256.in_(sha256s), c.proof_sha256.in_(sha256s))).limit(1)
        ).mappings().all()
        found = self._load(rows)
        return found[0] if found else None

    # writing
    def add(self, request: model.SignatureRequest) -> None:
        self.session.execute(insert(orm.requests).values(
            id=request.id, tenant=request.tenant, quote_id=request.quote_id, number=request.number,
            version=request.version, document_sha256=request.document_sha256, signer=request.signer.as_dict(),
            assignee=request.assignee.as_dict(), amount_ttc=request.amount_ttc, currency=request.currency,
            consent_text=request.consent_text, status=request.status, created_at=request.created_at,
            evidence_sha256=request.evidence_sha256, expires_at=request.expires_at,
            otp_channel=request.otp_channel,
            lines_json=purchase.canonical_text(request.lines) if request.lines else None))
        self.add_evidence(request.id, request.evidence)
        request.recorded_head = request.evidence_sha256

    def add_evidence(self, request_id: str, entries: list[evidence.Entry]) -> None:
        for e in entries:
            self.session.execute(insert(orm.evidence).values(
                request_id=request_id, seq=e.seq, at=e.at, step=e.step, ip=e.ip, user_agent=e.user_agent,
                data_json=evidence.canonical_json(e.data), prev_sha256=e.prev_sha256, sha256=e.sha256))

    def _extend(self, request: model.SignatureRequest, entries: list[evidence.Entry], *,
                from_status: str = model.OPEN, **values) -> bool:
        """Appends ``entries`` (and sets ``values``) only if the chain still ends where they start."""
        if not entries:
            return False
        c = orm.requests.c
        changed = self.session.execute(update(orm.requests).where(
            c.tenant == request.tenant, c.id == request.id, c.status == from_status,
            c.evidence_sha256 == entries[0].prev_sha256).values(
            evidence_sha256=entries[-1].sha256, **values)).rowcount
        if changed:
            self.add_evidence(request.id, entries)
            request.recorded_head = entries[-1].sha256
        return bool(changed)

    def mark_superseded(self, request: model.SignatureRequest, entries: list[evidence.Entry]) -> bool:
        return self._extend(request, entries, status=model.SUPERSEDED)

    def mark_withdrawn(self, request: model.SignatureRequest, entries: list[evidence.Entry]) -> bool:
        return self._extend(request, entries, status=model.WITHDRAWN)

    def record_sent_again(self, request: model.SignatureRequest, entries: list[evidence.Entry]) -> bool:
        """A relance: its evidence, with whom the request is now addressed to, its code channel and validity."""
        return self._extend(request, entries, signer=request.signer.as_dict(), otp_channel=request.otp_channel,
                            expires_at=request.expires_at)

    def append(self, request: model.SignatureRequest, entries: list[evidence.Entry]) -> bool:
        """Evidence that changes nothing else (opened)."""
        return self._extend(request, entries)

    def add_code(self, request: model.SignatureRequest, code: model.OneTimeCode,
                 entries: list[evidence.Entry]) -> bool:
        if not self._extend(request, entries):
            return False
        self.session.execute(insert(orm.codes).values(
            request_id=request.id, seq=code.seq, channel=code.channel, recipient=code.recipient, salt=code.salt,
            code_sha256=code.code_sha256, issued_at=code.issued_at, expires_at=code.expires_at,
            attempts=code.attempts))
        return True

    def record_attempt(self, request: model.SignatureRequest, attempt: model.CodeAttempt) -> bool:
        """Counts one attempt, only if nobody else counted one since it was read."""
        c = orm.codes.c
        return bool(self.session.execute(update(orm.codes).where(
            c.request_id == request.id, c.seq == attempt.code.seq, c.attempts == attempt.attempts_before).values(
            attempts=attempt.code.attempts)).rowcount)

    def mark_signed(self, request: model.SignatureRequest, entries: list[evidence.Entry]) -> bool:
        """Conditional: only an open request whose chain did not move becomes signed."""
        s = request.signature
        return self._extend(
            request, entries, status=model.SIGNED, signed_at=s.signed_at, signer_name=s.signer_name,
            signer_email=s.signer_email, signer_contact_id=s.signer_contact_id, signed_ip=s.ip,
            signed_user_agent=s.user_agent, signed_consent_text=s.consent_text,
            signed_pdf_sha256=s.signed_pdf_sha256, proof_sha256=s.proof_sha256,
            proof_json_sha256=s.proof_json_sha256, signature_png_sha256=s.signature_png_sha256)

    def mark_declined(self, request: model.SignatureRequest, entries: list[evidence.Entry]) -> bool:
        d = request.declined
        return self._extend(
            request, entries, status=model.DECLINED, declined_at=d.declined_at, decline_reason=d.reason,
            decliner_name=d.signer_name, decliner_email=d.signer_email, declined_ip=d.ip,
            declined_user_agent=d.user_agent)

    # the archive: document timestamps added after signing (extend-archive)
    def newest_files(self, request_id: str) -> dict[str, str]:
        """{kind: SHA-256 of the newest extended file} of a request's documents that were extended."""
        c = orm.archive_revisions.c
        newest: dict[str, str] = {}
        for kind, sha256 in self.session.execute(select(c.kind, c.sha256).where(c.request_id == request_id)
                                                 .order_by(c.seq)):
            newest[kind] = sha256
        return newest

    def stored_documents(self, after: str = "", limit: int = 200) -> list[tuple[str, str, str, int]]:
        """(request id, kind, SHA-256 of the file served now, how many times it was extended) of every sealed
        PDF, by request id after ``after``: one page of the archive, in an order a resumed run finds again."""
        c = orm.requests.c
        rows = self.session.execute(select(c.id, c.signed_pdf_sha256, c.proof_sha256).where(
            c.status == model.SIGNED, c.id > after).order_by(c.id).limit(limit)).all()
        a = orm.archive_revisions.c
        extended: dict[tuple[str, str], tuple[int, str]] = {}
        for request_id, kind, seq, sha256 in self.session.execute(select(a.request_id, a.kind, a.seq, a.sha256).where(
                a.request_id.in_([row[0] for row in rows]))):
            if seq > extended.get((request_id, kind), (0, ""))[0]:
                extended[(request_id, kind)] = (seq, sha256)
        found = []
        for request_id, signed_pdf, proof in rows:
            for kind, sealed in (("signed_pdf", signed_pdf), ("proof_pdf", proof)):
                if sealed:
                    seq, sha256 = extended.get((request_id, kind), (0, sealed))
                    found.append((request_id, kind, sha256, seq))
        return found

    def record_extension(self, request_id: str, kind: str, *, seq: int, previous_sha256: str, sha256: str,
                         at: datetime) -> bool:
        """The ``seq``-th extension of a document; False when it is recorded already (another run did it)."""
        c = orm.archive_revisions.c
        if self.session.execute(select(c.seq).where(c.request_id == request_id, c.kind == kind, c.seq == seq)).first():
            return False
        self.session.execute(insert(orm.archive_revisions).values(
            request_id=request_id, kind=kind, seq=seq, previous_sha256=previous_sha256, sha256=sha256,
            extended_at=at))
        return True
