"""Signature requests and their rules. Pure Python: no database, broker, gRPC or PDF import."""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation

from babel.numbers import format_currency

from quoteflow.errors import FailedPrecondition, InvalidArgument
from services.signature.domain import evidence
from services.signature.domain.evidence import Entry

OPEN = "open"
SIGNED = "signed"
SUPERSEDED = "superseded"

MAX_NAME = 200


@dataclass(frozen=True)
class Party:
    id: str = ""
    name: str = ""
    email: str = ""
    phone: str = ""

    def as_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "email": self.email, "phone": self.phone}


def format_amount(amount: str, currency: str = "EUR") -> str:
    try:
        value = Decimal(amount or "0")
    except InvalidOperation:
        raise InvalidArgument({"total_ttc": f"{amount!r} is not an amount"}) from None
    return format_currency(value, currency or "EUR", locale="fr_FR")


def consent_text(number: str, total_ttc: str, currency: str = "EUR") -> str:
    return (f"En signant, j'accepte le devis n° {number} d'un montant de "
            f"{format_amount(total_ttc, currency)} TTC.")


def clean_signer_name(value: str) -> str:
    name = unicodedata.normalize("NFC", " ".join((value or "").split()))
    if not name:
        raise InvalidArgument({"signer_name": "is required: type your full name to sign"})
    if len(name) > MAX_NAME:
        raise InvalidArgument({"signer_name": f"at most {MAX_NAME} characters"})
    if any(unicodedata.category(c) in ("Cc", "Cf") for c in name):
        raise InvalidArgument({"signer_name": "contains control characters"})
    return name


@dataclass(frozen=True)
class SealDetails:
    """What the signature page of a sealed PDF shows."""

    signer_name: str
    signer_email: str
    signed_at: datetime
    reference: str
    number: str = ""
    version: int = 0
    document_sha256: str = ""
    consent_text: str = ""


@dataclass
class Signature:
    """What a signer did: kept on the request once it is signed."""

    signer_name: str
    signer_email: str
    signer_contact_id: str
    signed_at: datetime
    ip: str
    user_agent: str
    consent_text: str
    signed_pdf_sha256: str
    proof_sha256: str = ""


@dataclass
class SignatureRequest:
    id: str
    tenant: str
    quote_id: str
    number: str
    version: int
    document_sha256: str
    signer: Party
    assignee: Party
    amount_ttc: str
    currency: str
    consent_text: str
    status: str
    created_at: datetime
    evidence: list[Entry] = field(default_factory=list)
    signature: Signature | None = None

    @classmethod
    def open(cls, *, id: str, tenant: str, quote_id: str, number: str, version: int, document_sha256: str,
             signer: Party, assignee: Party, amount_ttc: str, currency: str, at: datetime,
             event_id: str = "", superseded: bool = False) -> "SignatureRequest":
        request = cls(id=id, tenant=tenant, quote_id=quote_id, number=number, version=version,
                      document_sha256=document_sha256, signer=signer, assignee=assignee,
                      amount_ttc=amount_ttc, currency=currency or "EUR",
                      consent_text=consent_text(number, amount_ttc, currency),
                      status=SUPERSEDED if superseded else OPEN, created_at=at)
        evidence.append(request.evidence, step="sent", at=at, data={
            "request_id": id, "quote_id": quote_id, "number": number, "version": version,
            "document_sha256": document_sha256, "signer": signer.as_dict(), "amount_ttc": amount_ttc,
            "currency": request.currency, "consent_text": request.consent_text, "event_id": event_id,
        })
        return request

    @property
    def evidence_sha256(self) -> str:
        return evidence.head(self.evidence)

    def check_can_sign(self, document_sha256: str) -> None:
        if self.status == SUPERSEDED:
            raise FailedPrecondition("a newer version of this quote was sent: sign the latest version")
        if self.status != OPEN:
            raise FailedPrecondition(f"this signature request is {self.status}")
        if document_sha256 != self.document_sha256:
            raise FailedPrecondition("the document shown is not the one sent for signature (SHA-256 differs)")

    def supersede(self, at: datetime, by_version: int) -> list[Entry]:
        if self.status != OPEN:
            return []
        self.status = SUPERSEDED
        entry = evidence.append(self.evidence, step="superseded", at=at, data={"by_version": by_version})
        return [entry]

    def sign(self, *, at: datetime, signer_name: str, signer_email: str, ip: str, user_agent: str,
             shown_consent_text: str, signed_pdf_sha256: str) -> list[Entry]:
        """Records consent and signature; returns the two new evidence entries."""
        if self.status != OPEN:
            raise FailedPrecondition(f"this signature request is {self.status}")
        name = clean_signer_name(signer_name)
        email = (signer_email or self.signer.email).strip()
        contact_id = self.signer.id if email.lower() == self.signer.email.lower() else ""
        text = (shown_consent_text or "").strip() or self.consent_text
        identity = {"signer_name": name, "signer_email": email, "signer_contact_id": contact_id,
                    "document_sha256": self.document_sha256}
        consented = evidence.append(self.evidence, step="consented", at=at, ip=ip, user_agent=user_agent, data={
            **identity, "consent_text": text, "consent_sha256": evidence.sha256_text(text)})
        signed = evidence.append(self.evidence, step="signed", at=at, ip=ip, user_agent=user_agent, data={
            **identity, "request_id": self.id, "quote_id": self.quote_id, "version": self.version,
            "signed_pdf_sha256": signed_pdf_sha256})
        self.status = SIGNED
        self.signature = Signature(signer_name=name, signer_email=email, signer_contact_id=contact_id,
                                   signed_at=at, ip=ip, user_agent=user_agent, consent_text=text,
                                   signed_pdf_sha256=signed_pdf_sha256)
        return [consented, signed]

    def proof(self, *, certificate_sha256: str = "") -> dict:
        """The proof file's content: everything needed to check this signature without us."""
        s = self.signature
        if s is None:
            raise FailedPrecondition("this request is not signed")
        return {
            "format": "quoteflow-signature-proof/1",
            "request": {"id": self.id, "tenant": self.tenant, "quote_id": self.quote_id, "number": self.number,
                        "version": self.version, "amount_ttc": self.amount_ttc, "currency": self.currency},
            "signer": {"name": s.signer_name, "email": s.signer_email, "contact_id": s.signer_contact_id,
                       "ip": s.ip, "user_agent": s.user_agent, "signed_at": evidence.timestamp(s.signed_at)},
            "document": {"sha256": self.document_sha256, "signed_pdf_sha256": s.signed_pdf_sha256,
                         "seal_certificate_sha256": certificate_sha256},
            "consent": {"text": s.consent_text, "sha256": evidence.sha256_text(s.consent_text)},
            "evidence": [entry.as_dict() for entry in self.evidence],
            "evidence_sha256": self.evidence_sha256,
            "verification": [
                "1. Le SHA-256 du PDF du devis envoyé doit être égal à document.sha256.",
                "2. Chaque entrée de evidence a pour sha256 le SHA-256 du JSON canonique (clés triées, "
                "sans espaces, UTF-8) de {seq, at, step, ip, user_agent, data, prev_sha256} ; la première a "
                f"prev_sha256 = {evidence.GENESIS}, chaque suivante celui de la précédente ; la dernière est "
                "evidence_sha256.",
                "3. Le SHA-256 de consent.text doit être égal à consent.sha256.",
                "4. Le PDF signé (SHA-256 = document.signed_pdf_sha256) porte un sceau PAdES : toute "
                "modification après scellement est signalée par un lecteur PDF ou par pyHanko "
                "(pyhanko sign validate).",
            ],
        }
