"""Quotes, their lines, totals, versions and history.

Money is ``Decimal``. Rounding (documented for the CRM): each line's total
excluding VAT is rounded half-up to the cent; VAT is then computed once per
rate on the sum of the rounded line totals of that rate, rounded half-up to the
cent; the total including VAT is the sum of those rounded figures.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from quoteflow.errors import FailedPrecondition, InvalidArgument

CENT = Decimal("0.01")
STANDARD_VAT_RATES = (Decimal("20"), Decimal("10"), Decimal("5.5"), Decimal("2.1"), Decimal("0"))
MAX_LINES = 2000


class Status:
    DRAFT = "Brouillon"
    SENT = "Envoyé"
    ACCEPTED = "Accepté"
    DECLINED = "Refusé"
    EXPIRED = "Expiré"


# Which status may follow which: the rules of the quote's life.
TRANSITIONS: dict[str, frozenset[str]] = {
    Status.DRAFT: frozenset({Status.SENT}),
    Status.SENT: frozenset({Status.SENT, Status.ACCEPTED, Status.DECLINED, Status.EXPIRED}),
    Status.ACCEPTED: frozenset(),
    Status.DECLINED: frozenset(),
    Status.EXPIRED: frozenset({Status.SENT}),
}


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def parse_decimal(text: str, field_name: str, *, places: int, minimum: Decimal | None = None,
                  maximum: Decimal | None = None, default: str | None = None) -> Decimal:
    raw = (text or "").strip().replace(",", ".")
    if raw == "" and default is not None:
        raw = default
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise InvalidArgument({field_name: f"{text!r} is not a decimal number"}) from None
    if not value.is_finite():
        raise InvalidArgument({field_name: "must be a finite number"})
    if -value.as_tuple().exponent > places:
        raise InvalidArgument({field_name: f"at most {places} decimal places"})
    if minimum is not None and value < minimum:
        raise InvalidArgument({field_name: f"must be at least {minimum}"})
    if maximum is not None and value > maximum:
        raise InvalidArgument({field_name: f"must be at most {maximum}"})
    return value


@dataclass(frozen=True)
class Line:
    description: str
    quantity: Decimal
    unit_price: Decimal
    vat_rate: Decimal
    unit: str = ""
    discount_percent: Decimal = Decimal("0")
    product_ref: str = ""

    @property
    def total_ht(self) -> Decimal:
        gross = self.quantity * self.unit_price
        return money(gross - gross * self.discount_percent / Decimal(100))

    @classmethod
    def parse(cls, index: int, *, description: str, quantity: str, unit_price: str, vat_rate: str,
              unit: str = "", discount_percent: str = "", product_ref: str = "",
              allowed_rates: tuple[Decimal, ...] = STANDARD_VAT_RATES) -> "Line":
        prefix = f"lines[{index}]"
        description = (description or "").strip()
        if not description:
            raise InvalidArgument({f"{prefix}.description": "is required"})
        if len(description) > 2000:
            raise InvalidArgument({f"{prefix}.description": "at most 2000 characters"})
        if len(unit or "") > 20:
            raise InvalidArgument({f"{prefix}.unit": "at most 20 characters"})
        if len(product_ref or "") > 64:
            raise InvalidArgument({f"{prefix}.product_ref": "at most 64 characters"})
        if any(ord(c) < 32 and c not in "\n\t" for c in description):
            raise InvalidArgument({f"{prefix}.description": "contains control characters"})
        qty = parse_decimal(quantity, f"{prefix}.quantity", places=3, minimum=Decimal("0.001"),
                            maximum=Decimal("1000000"))
        price = parse_decimal(unit_price, f"{prefix}.unit_price", places=2, minimum=Decimal("-10000000"),
                              maximum=Decimal("10000000"))
        discount = parse_decimal(discount_percent, f"{prefix}.discount_percent", places=2,
                                 minimum=Decimal(0), maximum=Decimal(100), default="0")
        rate = parse_decimal(vat_rate, f"{prefix}.vat_rate", places=2, minimum=Decimal(0),
                             maximum=Decimal(100))
        if rate not in allowed_rates:
            rates = ", ".join(str(r) for r in allowed_rates)
            raise InvalidArgument({f"{prefix}.vat_rate": f"{rate} is not one of the tenant's rates ({rates})"})
        return cls(description=description, quantity=qty, unit_price=price, vat_rate=rate,
                   unit=(unit or "").strip(), discount_percent=discount, product_ref=(product_ref or "").strip())


@dataclass(frozen=True)
class VatLine:
    rate: Decimal
    base_ht: Decimal
    vat: Decimal


@dataclass(frozen=True)
class Totals:
    total_ht: Decimal
    vat: tuple[VatLine, ...]
    total_vat: Decimal
    total_ttc: Decimal


def compute_totals(lines: list[Line] | tuple[Line, ...]) -> Totals:
    bases: dict[Decimal, Decimal] = {}
    for line in lines:
        bases[line.vat_rate] = bases.get(line.vat_rate, Decimal("0")) + line.total_ht
    vat_lines = tuple(
        VatLine(rate=rate, base_ht=base, vat=money(base * rate / Decimal(100)))
        for rate, base in sorted(bases.items(), key=lambda item: item[0], reverse=True)
    )
    total_ht = sum((line.total_ht for line in lines), Decimal("0.00"))
    total_vat = sum((v.vat for v in vat_lines), Decimal("0.00"))
    return Totals(total_ht=money(total_ht), vat=vat_lines, total_vat=money(total_vat),
                  total_ttc=money(total_ht + total_vat))


@dataclass
class HistoryEntry:
    at: datetime
    kind: str
    actor: str
    detail: str = ""
    id: int | None = None


@dataclass
class Version:
    number: int
    content_sha256: str
    pdf_sha256: str
    sent_at: datetime
    recipient_email: str


@dataclass
class SignatureBanner:
    signer_name: str
    signer_email: str
    signed_at: str
    request_id: str
    document_sha256: str
    evidence_sha256: str
    signed_pdf_sha256: str = ""
    proof_sha256: str = ""


@dataclass
class Quote:
    id: str
    tenant: str
    number: str
    account_id: str
    contact_id: str
    assignee_id: str
    title: str
    lines: list[Line]
    valid_until: date
    created_at: datetime
    terms: str = ""
    status: str = Status.DRAFT
    versions: list[Version] = field(default_factory=list)
    history: list[HistoryEntry] = field(default_factory=list)
    view_count: int = 0
    download_count: int = 0
    last_viewed_at: datetime | None = None
    signature: SignatureBanner | None = None

    @property
    def totals(self) -> Totals:
        return compute_totals(self.lines)

    @property
    def send_action(self) -> str:
        """The CRM's button label: the manual's "Envoyer" becomes "Relancer" after a first send."""
        return "Relancer par email" if self.versions else "Envoyer par email"

    def content_sha256(self) -> str:
        """A fingerprint of what a client would read; a new version is frozen when it changes."""
        doc = {
            "title": self.title,
            "valid_until": self.valid_until.isoformat(),
            "terms": self.terms,
            "lines": [[l.description, str(l.quantity), l.unit, str(l.unit_price), str(l.discount_percent),
                       str(l.vat_rate), l.product_ref] for l in self.lines],
        }
        return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()

    def _move_to(self, status: str) -> None:
        if status not in TRANSITIONS[self.status]:
            raise FailedPrecondition(f"a quote in status {self.status} cannot become {status}")
        self.status = status

    def next_version_number(self) -> tuple[int, bool]:
        """(version number for a send now, whether it is a new version to freeze)."""
        if self.versions and self.versions[-1].content_sha256 == self.content_sha256():
            return self.versions[-1].number, False
        return (self.versions[-1].number + 1 if self.versions else 1), True

    def check_sendable(self, today: date) -> None:
        if self.status in (Status.ACCEPTED, Status.DECLINED):
            raise FailedPrecondition(f"a quote in status {self.status} is closed and cannot be sent")
        if not self.lines:
            raise FailedPrecondition("a quote without lines cannot be sent")
        if self.valid_until < today:
            raise FailedPrecondition(f"the quote expired on {self.valid_until.isoformat()}; extend its validity first")

    def record_send(self, *, version: Version, actor: str, signature_requested: bool) -> str:
        kind = "relance" if self.versions else "sent"
        if not self.versions or self.versions[-1].number != version.number:
            self.versions.append(version)
        else:
            self.versions[-1].sent_at = version.sent_at
        self._move_to(Status.SENT)
        detail = f"version {version.number} à {version.recipient_email}"
        if signature_requested:
            detail += ", signature électronique demandée"
        self.history.append(HistoryEntry(at=version.sent_at, kind=kind, actor=actor, detail=detail))
        return "relance" if kind == "relance" else "send"

    def record_view(self, at: datetime, who: str, ip: str, user_agent: str) -> None:
        self.view_count += 1
        if self.last_viewed_at is None or at > self.last_viewed_at:
            self.last_viewed_at = at
        self.history.append(HistoryEntry(at=at, kind="viewed", actor=who, detail=f"IP {ip} — {user_agent}"[:500]))

    def record_download(self, at: datetime, who: str, ip: str, user_agent: str) -> None:
        self.download_count += 1
        self.history.append(HistoryEntry(at=at, kind="downloaded", actor=who,
                                         detail=f"IP {ip} — {user_agent}"[:500]))

    def record_signature_requested(self, at: datetime, signer_email: str) -> None:
        self.history.append(HistoryEntry(at=at, kind="signature_requested", actor="signature",
                                         detail=f"demande ouverte pour {signer_email}"))

    def accept(self, banner: SignatureBanner, at: datetime) -> None:
        if self.status == Status.ACCEPTED:
            return
        self._move_to(Status.ACCEPTED)
        self.signature = banner
        self.history.append(HistoryEntry(at=at, kind="signed", actor=banner.signer_name,
                                         detail=f"signé électroniquement par {banner.signer_name} <{banner.signer_email}>"))
        self.history.append(HistoryEntry(at=at, kind="status", actor="signature", detail=Status.ACCEPTED))


@dataclass
class Account:
    tenant: str
    id: str
    name: str
    address: str = ""


@dataclass
class Contact:
    tenant: str
    id: str
    account_id: str
    name: str
    email: str
    phone: str = ""


@dataclass
class User:
    tenant: str
    id: str
    name: str
    email: str
    mobile: str = ""


@dataclass
class Company:
    name: str = ""
    address: str = ""
    siret: str = ""
    vat_number: str = ""


@dataclass
class Settings:
    tenant: str
    esignature_enabled: bool = False
    company: Company = field(default_factory=Company)
    default_validity_days: int = 30
    default_terms: str = ""
