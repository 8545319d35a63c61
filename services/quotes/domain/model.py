"""Quotes, their lines, totals, versions and history; the directory and the tenant's settings.

Money is ``Decimal``. Rounding (documented for the CRM): each line's total
excluding VAT is rounded half-up to the cent; VAT is then computed once per
rate on the sum of the rounded line totals of that rate, rounded half-up to the
cent; the total including VAT is the sum of those rounded figures. Optional
products are priced the same way but never enter the totals.

Life of a quote (``TRANSITIONS``): Brouillon → Envoyé → Accepté / Refusé / Expiré,
or Retiré when the salesperson withdraws it. Editing a sent, expired, declined or
withdrawn quote makes it a Brouillon again whose next send freezes version n+1; an
accepted quote is locked. A signature or a decline is a fact about a version already
sent, so it lands even on a Brouillon being revised (the signed version's content
then replaces the unsent edits). Every change of status is recorded as a
QuoteStatusChanged the unit of work publishes with the change.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from quoteflow.errors import FailedPrecondition, NotFound
from services.quotes.domain.events import Event, QuoteStatusChanged, QuoteWithdrawn
from services.quotes.domain.files import MAX_DOCUMENTS, Document
from services.quotes.domain.validation import Check, DecimalRule, Printable

CENT = Decimal("0.01")
STANDARD_VAT_RATES = (Decimal("20"), Decimal("10"), Decimal("5.5"), Decimal("2.1"), Decimal("0"))
# The numbers a line, a product and the settings carry, beyond the wire form (quoteflow.decimals).
QUANTITY = DecimalRule(places=3, minimum=Decimal("0.001"), maximum=Decimal("1000000"), default="1", trim_zeros=True)
UNIT_PRICE = DecimalRule(places=2, minimum=Decimal("-10000000"), maximum=Decimal("10000000"))  # a credit line
DISCOUNT_PERCENT = DecimalRule(places=2, minimum=Decimal(0), maximum=Decimal(100), default="0", trim_zeros=True)
VAT_RATE = DecimalRule(places=2, minimum=Decimal(0), maximum=Decimal(100), trim_zeros=True)
MAX_LINES = 2000
MAX_OPTIONAL_LINES = 200
MAX_EXTRA_VAT_RATES = 10
OTP_CHANNELS = ("", "email", "sms")
# Dates written into history details ("email envoyé le 29 novembre 2026 à 11:05").
HISTORY_TIMEZONE = ZoneInfo("Europe/Paris")
_MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
           "novembre", "décembre")


class Status:
    DRAFT = "Brouillon"
    SENT = "Envoyé"
    ACCEPTED = "Accepté"
    DECLINED = "Refusé"
    EXPIRED = "Expiré"
    WITHDRAWN = "Retiré"

    ALL = ("Brouillon", "Envoyé", "Accepté", "Refusé", "Expiré", "Retiré")


# Which status may follow which: the rules of the quote's life.
TRANSITIONS: dict[str, frozenset[str]] = {
    # a Brouillon with versions is a revision in progress: its sent version may still be signed or declined
    Status.DRAFT: frozenset({Status.SENT, Status.ACCEPTED, Status.DECLINED}),
    Status.SENT: frozenset({Status.SENT, Status.DRAFT, Status.ACCEPTED, Status.DECLINED, Status.EXPIRED,
                            Status.WITHDRAWN}),
    # a signature made before the end of validity may arrive after the expiry sweep
    Status.EXPIRED: frozenset({Status.DRAFT, Status.ACCEPTED, Status.DECLINED}),
    # a declined quote is revised (Brouillon) and sent again as a new version; never re-sent unchanged
    Status.DECLINED: frozenset({Status.DRAFT, Status.SENT}),
    # withdrawn: revised into the next version; a signature or a decline the signature service took before it
    # heard of the withdrawal (it alone knows whether the request was still open) still lands
    Status.WITHDRAWN: frozenset({Status.DRAFT, Status.ACCEPTED, Status.DECLINED}),
    Status.ACCEPTED: frozenset(),
}


def _address(email: str) -> str:
    """An email address as compared to tell who already got a version: trimmed, in lower case."""
    return (email or "").strip().lower()


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def french_datetime(moment: datetime) -> str:
    """'le 29 novembre 2026 à 11:05' in Paris time."""
    local = moment.astimezone(HISTORY_TIMEZONE)
    return f"le {local.day} {_MONTHS[local.month - 1]} {local.year} à {local:%H:%M}"


def parse_vat_rate(text: str, field: str, allowed: tuple[Decimal, ...], check: Check) -> Decimal | None:
    rate = check.decimal(text, field, VAT_RATE)
    if rate is not None and rate not in allowed:
        rates = ", ".join(str(r) for r in allowed)
        check.add(field, f"{rate} is not one of the tenant's rates ({rates})")
        return None
    return rate


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
              allowed_rates: tuple[Decimal, ...] = STANDARD_VAT_RATES, prefix: str = "lines",
              printable: Printable | None = None) -> "Line":
        """Every field of one line checked; InvalidArgument names each wrong one (``lines[3].vat_rate``)."""
        check = Check(f"{prefix}[{index}].", printable)
        description = check.text(description, "description", maximum=2000, required=True, printed=True)
        unit = check.text(unit, "unit", maximum=20, single_line=True, printed=True)
        product_ref = check.text(product_ref, "product_ref", maximum=64, single_line=True, printed=True)
        qty = check.decimal(quantity, "quantity", QUANTITY)
        price = check.decimal(unit_price, "unit_price", UNIT_PRICE)
        discount = check.decimal(discount_percent, "discount_percent", DISCOUNT_PERCENT)
        rate = parse_vat_rate(vat_rate, "vat_rate", allowed_rates, check)
        check.done()
        return cls(description=description, quantity=qty, unit_price=price, vat_rate=rate, unit=unit,
                   discount_percent=discount, product_ref=product_ref)

    def to_doc(self) -> list:
        return [self.description, str(self.quantity), self.unit, str(self.unit_price), str(self.discount_percent),
                str(self.vat_rate), self.product_ref]


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


def access_entry(kind: str, at: datetime, who: str, ip: str, user_agent: str) -> HistoryEntry:
    """The history entry of a view ("viewed") or a download ("downloaded") of the client's page."""
    return HistoryEntry(at=at, kind=kind, actor=who, detail=f"IP {ip} — {user_agent}"[:500])


@dataclass
class AccessTally:
    """What a batch of views and downloads adds to one quote's counters (recorded set-based)."""

    views: int = 0
    downloads: int = 0
    last_viewed_at: datetime | None = None

    def add(self, kind: str, at: datetime) -> None:
        if kind == "downloaded":
            self.downloads += 1
            return
        self.views += 1
        if self.last_viewed_at is None or at > self.last_viewed_at:
            self.last_viewed_at = at


@dataclass
class Version:
    """A frozen version. ``sent_at`` and ``recipient_email`` are its first send, which a relance never
    changes; ``last_sent_at`` and ``last_recipient_email`` its latest send (the first one until a relance)."""

    number: int
    content_sha256: str
    pdf_sha256: str
    sent_at: datetime
    recipient_email: str
    content: dict | None = None  # what was frozen (title, validity, terms, lines, options, documents)
    last_sent_at: datetime | None = None
    last_recipient_email: str = ""
    send_count: int = 1

    def __post_init__(self) -> None:
        if self.last_sent_at is None:
            self.last_sent_at = self.sent_at
        if not self.last_recipient_email:
            self.last_recipient_email = self.recipient_email

    def sent_again(self, at: datetime, recipient_email: str) -> None:
        """A relance: the same version sent once more, to the same or another contact."""
        self.last_sent_at, self.last_recipient_email = at, recipient_email
        self.send_count += 1


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
    version: int = 0


@dataclass
class DeclineInfo:
    signer_name: str
    signer_email: str
    reason: str
    declined_at: str
    request_id: str = ""
    version: int = 0


@dataclass(frozen=True)
class Content:
    """What a client reads: a version freezes it, an edit changes it."""

    title: str
    valid_until: date
    terms: str
    lines: tuple[Line, ...]
    optional_lines: tuple[Line, ...] = ()
    documents: tuple[Document, ...] = ()

    def to_doc(self) -> dict:
        doc = {"title": self.title, "valid_until": self.valid_until.isoformat(), "terms": self.terms,
               "lines": [l.to_doc() for l in self.lines]}
        # Only when present, so the fingerprint of a quote without them is what it always was.
        if self.optional_lines:
            doc["optional_lines"] = [l.to_doc() for l in self.optional_lines]
        if self.documents:
            doc["documents"] = [[d.name, d.content_type, d.sha256, d.size] for d in self.documents]
        return doc

    @classmethod
    def from_doc(cls, doc: dict) -> "Content":
        def lines(items):
            return tuple(Line(description=i[0], quantity=Decimal(i[1]), unit=i[2], unit_price=Decimal(i[3]),
                              discount_percent=Decimal(i[4]), vat_rate=Decimal(i[5]), product_ref=i[6])
                         for i in items)
        return cls(title=doc["title"], valid_until=date.fromisoformat(doc["valid_until"]), terms=doc["terms"],
                   lines=lines(doc["lines"]), optional_lines=lines(doc.get("optional_lines", [])),
                   documents=tuple(Document(*d) for d in doc.get("documents", [])))

    def sha256(self) -> str:
        return hashlib.sha256(json.dumps(self.to_doc(), sort_keys=True).encode()).hexdigest()


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
    deal_id: str = ""
    optional_lines: list[Line] = field(default_factory=list)
    documents: list[Document] = field(default_factory=list)
    decline: DeclineInfo | None = None
    updated_at: datetime | None = None
    # What this quote recorded about itself since loaded; the repository takes them when it saves the quote.
    new_events: list[Event] = field(default_factory=list, repr=False, compare=False)

    # ------------------------------------------------------------ reading

    @property
    def totals(self) -> Totals:
        return compute_totals(self.lines)

    @property
    def content(self) -> Content:
        return Content(title=self.title, valid_until=self.valid_until, terms=self.terms, lines=tuple(self.lines),
                       optional_lines=tuple(self.optional_lines), documents=tuple(self.documents))

    def content_sha256(self) -> str:
        """A fingerprint of what a client would read; a new version is frozen when it changes."""
        return self.content.sha256()

    @property
    def last_version(self) -> int:
        return self.versions[-1].number if self.versions else 0

    @property
    def unsent_changes(self) -> bool:
        return bool(self.versions) and self.versions[-1].content_sha256 != self.content_sha256()

    @property
    def send_action(self) -> str:
        """The CRM's button label: "Envoyer" becomes "Relancer" once the current version was sent."""
        return "Relancer par email" if self.versions and not self.unsent_changes else "Envoyer par email"

    def version(self, number: int) -> Version | None:
        return next((v for v in self.versions if v.number == number), None)

    # ------------------------------------------------------------ rules

    def _allow(self, status: str) -> None:
        if status not in TRANSITIONS[self.status]:
            raise FailedPrecondition(f"a quote in status {self.status} cannot become {status}")

    def _move_to(self, status: str, at: datetime, actor: str, cause: str, why: str = "") -> None:
        """Applies a transition of TRANSITIONS; a change of status is a history entry and a QuoteStatusChanged
        (``cause``: one word for programs, events.proto lists them)."""
        self._allow(status)
        previous, self.status = self.status, status
        if previous == status:
            return
        self._note(at, "status", actor, f"{previous} → {status}" + (f" : {why}" if why else ""))
        self.new_events.append(QuoteStatusChanged(
            tenant=self.tenant, quote_id=self.id, number=self.number, previous_status=previous, status=status,
            cause=cause, at=at, version=self.last_version, actor=actor))

    def _note(self, at: datetime, kind: str, actor: str, detail: str) -> None:
        self.history.append(HistoryEntry(at=at, kind=kind, actor=actor, detail=detail))

    def check_editable(self) -> None:
        if self.status == Status.ACCEPTED:
            raise FailedPrecondition(f"quote {self.number} is Accepté: an accepted quote is locked and cannot be "
                                     "edited (duplicate it to start a new one)")

    def revise(self, at: datetime, actor: str, *, detail: str = "", **changes) -> bool:
        """Applies ``changes`` (title, lines, optional_lines, valid_until, terms, documents, contact_id,
        assignee_id, deal_id); a sent quote whose content changes becomes a Brouillon of version n+1."""
        self.check_editable()
        before = self.content_sha256()
        changed = []
        for name, value in changes.items():
            if name in ("lines", "optional_lines", "documents"):
                value = list(value)
            if getattr(self, name) != value:
                setattr(self, name, value)
                changed.append(name)
        if not changed:
            return False
        self.updated_at = at
        self._note(at, "updated", actor, detail or "modifié : " + ", ".join(changed))
        if self.content_sha256() != before and self.status != Status.DRAFT:
            self._move_to(Status.DRAFT, at, actor, "revised", f"version {self.last_version + 1} en préparation")
        return True

    def add_document(self, document: Document, at: datetime, actor: str) -> None:
        self.check_editable()
        if any(d.sha256 == document.sha256 for d in self.documents):
            raise FailedPrecondition(f"this file is already attached to quote {self.number}")
        if len(self.documents) >= MAX_DOCUMENTS:
            raise FailedPrecondition(f"a quote holds at most {MAX_DOCUMENTS} documents")
        self.revise(at, actor, documents=[*self.documents, document],
                    detail=f"document ajouté : {document.name}")

    def remove_document(self, sha256: str, at: datetime, actor: str) -> Document:
        self.check_editable()
        document = next((d for d in self.documents if d.sha256 == sha256), None)
        if document is None:
            raise NotFound(f"no document {sha256[:64]!r} on quote {self.number}")
        self.revise(at, actor, documents=[d for d in self.documents if d.sha256 != sha256],
                    detail=f"document retiré : {document.name}")
        return document

    def next_version_number(self) -> tuple[int, bool]:
        """(version number for a send now, whether it is a new version to freeze)."""
        if self.versions and self.versions[-1].content_sha256 == self.content_sha256():
            return self.versions[-1].number, False
        return self.last_version + 1, True

    def check_sendable(self, today: date) -> None:
        if self.status == Status.ACCEPTED:
            raise FailedPrecondition(f"a quote in status {self.status} is closed and cannot be sent")
        if self.status == Status.DECLINED and not self.unsent_changes:
            raise FailedPrecondition("a declined quote cannot be sent again unchanged; edit it to make a new version")
        if self.status == Status.WITHDRAWN:
            raise FailedPrecondition(f"quote {self.number} was withdrawn (Retiré): it cannot be sent again unchanged; "
                                     "edit it to make a new version")
        if not self.lines:
            raise FailedPrecondition("a quote without lines cannot be sent")
        if self.valid_until < today or self.status == Status.EXPIRED:
            raise FailedPrecondition(f"the quote expired on {self.valid_until.isoformat()}; extend its validity first")

    def record_send(self, *, version: Version, actor: str, signature_requested: bool,
                    received: Iterable[str] = ()) -> str:
        """Records a send; returns "relance" when its recipient already received this version (the follow-up
        email), else "send": a new version, or this version to someone who never got it (the first-send
        email). ``received``: the addresses this version was sent to (its links); its first and latest
        recipients count anyway. Whichever it is, the same version sent again keeps its first send
        (Version.sent_again), and the CRM's button says "Relancer" (send_action) for the whole quote."""
        self._allow(Status.SENT)
        fresh = not self.versions or self.versions[-1].number != version.number
        kind = "send"
        if fresh:
            self.versions.append(version)
        else:
            last = self.versions[-1]
            had_it = {_address(email) for email in (*received, last.recipient_email, last.last_recipient_email)}
            kind = "relance" if _address(version.recipient_email) in had_it else "send"
            last.sent_again(version.sent_at, version.recipient_email)
        self.updated_at = version.sent_at
        detail = f"version {version.number} à {version.recipient_email}"
        if signature_requested:
            detail += ", signature électronique demandée"
        self._note(version.sent_at, "sent" if kind == "send" else "relance", actor, detail)
        self._move_to(Status.SENT, version.sent_at, actor, "sent")
        return kind

    def expire(self, today: date, at: datetime) -> bool:
        """Envoyé past its validity becomes Expiré (the sweep calls it)."""
        if self.status != Status.SENT or self.valid_until >= today:
            return False
        self._move_to(Status.EXPIRED, at, "quotes", "expired",
                      f"validité dépassée ({self.valid_until.isoformat()})")
        self.updated_at = at
        return True

    def withdraw(self, at: datetime, actor: str, reason: str = "") -> bool:
        """Envoyé becomes Retiré: its links close and nothing can be signed any more (the portal and the
        signature service hear QuoteWithdrawn). False, and nothing recorded, when it is Retiré already."""
        if self.status == Status.WITHDRAWN:
            return False
        if self.status != Status.SENT:
            raise FailedPrecondition(self._not_withdrawable())
        self.updated_at = at
        said = f" : « {reason} »" if reason else ""
        self._note(at, "withdrawn", actor, f"version {self.last_version} retirée{said}"[:4000])
        self._move_to(Status.WITHDRAWN, at, actor, "withdrawn")
        self.new_events.append(QuoteWithdrawn(tenant=self.tenant, quote_id=self.id, number=self.number,
                                              version=self.last_version, reason=reason, at=at, actor=actor))
        return True

    def _not_withdrawable(self) -> str:
        """Why this quote cannot be withdrawn now, in the words of its status."""
        if self.status == Status.DRAFT and not self.versions:
            return f"quote {self.number} is a Brouillon never sent: there is nothing to withdraw"
        if self.status == Status.DRAFT:
            return (f"quote {self.number} is a Brouillon (version {self.last_version + 1} in preparation): only an "
                    f"Envoyé quote can be withdrawn; sending the new version closes the links of version "
                    f"{self.last_version}")
        if self.status == Status.ACCEPTED:
            return f"quote {self.number} is Accepté: a signed quote cannot be withdrawn"
        if self.status == Status.DECLINED:
            return f"quote {self.number} is Refusé: the client declined it and its links are closed already"
        return f"quote {self.number} is {self.status}: its validity ended and its links are closed already"

    def record_signature_requested(self, at: datetime, signer_email: str) -> None:
        self._note(at, "signature_requested", "signature", f"demande ouverte pour {signer_email}")

    def _restore_signed_version(self, number: int, at: datetime) -> None:
        """A version was signed or declined while a revision was being prepared: its content prevails."""
        version = self.version(number)
        if version is None or version.content is None or version.content_sha256 == self.content_sha256():
            return
        content = Content.from_doc(version.content)
        self.title, self.valid_until, self.terms = content.title, content.valid_until, content.terms
        self.lines, self.optional_lines = list(content.lines), list(content.optional_lines)
        self.documents = list(content.documents)
        self._note(at, "updated", "signature", f"modifications non envoyées abandonnées : la version {number} "
                                                "a été signée")

    def accept(self, banner: SignatureBanner, at: datetime) -> None:
        if self.status == Status.ACCEPTED:
            return
        if not self.versions:
            raise FailedPrecondition("only a sent version can be signed")
        self._allow(Status.ACCEPTED)
        if banner.version:
            self._restore_signed_version(banner.version, at)
        self.signature = banner
        self.updated_at = at
        self._note(at, "signed", banner.signer_name,
                   f"signé électroniquement par {banner.signer_name} <{banner.signer_email}>"
                   + (f" (version {banner.version})" if banner.version else ""))
        self._move_to(Status.ACCEPTED, at, "signature", "signed")

    def record_decline(self, info: DeclineInfo, at: datetime) -> None:
        if self.status == Status.DECLINED:
            return
        if not self.versions:
            raise FailedPrecondition("only a sent version can be declined")
        self._allow(Status.DECLINED)
        self.decline = info
        self.updated_at = at
        reason = f" : « {info.reason} »" if info.reason else ""
        self._note(at, "declined", info.signer_name or info.signer_email,
                   f"refusé par {info.signer_name} <{info.signer_email}>{reason}"[:4000])
        self._move_to(Status.DECLINED, at, "signature", "declined")

    def record_ignored(self, at: datetime, what: str, why: str) -> None:
        """A fact that came too late to change the status stays visible in the history."""
        self._note(at, "note", "quotes", f"{what} ignoré(e) : {why}"[:4000])

    def record_notification(self, at: datetime, *, channel: str, recipient: str, template: str,
                            subject: str = "", error: str = "") -> None:
        medium = "SMS" if channel == "sms" else "email"
        if error:
            self._note(at, "notification_failed", "notifier",
                       f"échec de l'envoi {medium} à {recipient} ({template}) : {error}"[:4000])
        else:
            about = f" « {subject} »" if subject else ""
            self._note(at, "notification", "notifier",
                       f"{medium}{about} envoyé {french_datetime(at)} à {recipient} ({template})"[:4000])

    def record_action(self, at: datetime, kind: str, actor: str, detail: str) -> None:
        self._note(at, kind, actor, detail)

    def duplicate(self, *, new_id: str, number: str, now: datetime, valid_until: date, actor: str) -> "Quote":
        """A new Brouillon with the same lines, options and documents; no history, no versions, no counters."""
        copy = Quote(id=new_id, tenant=self.tenant, number=number, account_id=self.account_id,
                     contact_id=self.contact_id, assignee_id=self.assignee_id, title=self.title,
                     lines=list(self.lines), valid_until=valid_until, created_at=now, terms=self.terms,
                     deal_id=self.deal_id, optional_lines=list(self.optional_lines), documents=list(self.documents),
                     updated_at=now)
        copy._note(now, "created", actor, f"{number}, copie de {self.number}")
        return copy


@dataclass(frozen=True)
class QuoteSummary:
    """A row of the quote list: no lines, no history; counters read from the row."""

    id: str
    number: str
    status: str
    account_id: str
    contact_id: str
    assignee_id: str
    deal_id: str
    title: str
    total_ht: Decimal
    total_vat: Decimal
    total_ttc: Decimal
    valid_until: date
    created_at: datetime
    updated_at: datetime | None
    view_count: int
    download_count: int
    last_viewed_at: datetime | None
    version: int
    unsent_changes: bool

    @property
    def send_action(self) -> str:
        return "Relancer par email" if self.version and not self.unsent_changes else "Envoyer par email"


@dataclass(frozen=True)
class ListQuery:
    tenant: str
    page_size: int = 50
    status: str = ""
    account_id: str = ""
    assignee_id: str = ""
    deal_id: str = ""
    text: str = ""
    order_by: str = "-created_at"
    after: tuple | None = None  # (sort value, id) of the last row of the previous page


SORTABLE = ("created_at", "number", "valid_until", "total_ttc", "view_count", "last_viewed_at")


@dataclass
class SalesDocument:
    """An invoice (facture) or a sales order (commande client) made from a quote."""

    id: str
    tenant: str
    kind: str  # "invoice" or "order"
    number: str
    quote_id: str
    quote_number: str
    account_id: str
    contact_id: str
    assignee_id: str
    title: str
    lines: list[Line]
    created_at: datetime

    SERIES = {"invoice": "FA", "order": "CO"}
    LABELS = {"invoice": "facture", "order": "commande client"}

    @property
    def totals(self) -> Totals:
        return compute_totals(self.lines)

    @classmethod
    def from_quote(cls, quote: Quote, *, kind: str, new_id: str, number: str, now: datetime) -> "SalesDocument":
        if quote.status in (Status.DECLINED, Status.WITHDRAWN):
            raise FailedPrecondition(f"quote {quote.number} is {quote.status}: a "
                                     f"{'declined' if quote.status == Status.DECLINED else 'withdrawn'} quote "
                                     f"cannot become a {cls.LABELS[kind]}")
        if not quote.lines:
            raise FailedPrecondition(f"a quote without lines cannot become a {cls.LABELS[kind]}")
        return cls(id=new_id, tenant=quote.tenant, kind=kind, number=number, quote_id=quote.id,
                   quote_number=quote.number, account_id=quote.account_id, contact_id=quote.contact_id,
                   assignee_id=quote.assignee_id, title=quote.title, lines=list(quote.lines), created_at=now)


@dataclass
class Task:
    id: str
    tenant: str
    quote_id: str
    title: str
    due_date: date | None
    assignee_id: str
    description: str
    created_at: datetime


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
class Deal:
    tenant: str
    id: str
    account_id: str
    title: str
    contact_id: str = ""
    assignee_id: str = ""


@dataclass
class Product:
    tenant: str
    id: str
    reference: str
    label: str
    unit_price: Decimal
    vat_rate: Decimal
    unit: str = ""


@dataclass
class Equipment:
    tenant: str
    id: str
    account_id: str
    product_id: str
    serial_number: str = ""
    install_date: date | None = None
    warranty_end: date | None = None


@dataclass
class Company:
    name: str = ""
    address: str = ""
    siret: str = ""
    vat_number: str = ""


@dataclass
class Branding:
    logo_sha256: str = ""
    logo_content_type: str = ""
    color: str = ""


@dataclass
class Settings:
    tenant: str
    esignature_enabled: bool = False
    company: Company = field(default_factory=Company)
    default_validity_days: int = 30
    default_terms: str = ""
    signature_otp: str = ""
    extra_vat_rates: tuple[Decimal, ...] = ()
    branding: Branding = field(default_factory=Branding)

    @property
    def vat_rates(self) -> tuple[Decimal, ...]:
        return STANDARD_VAT_RATES + tuple(r for r in self.extra_vat_rates if r not in STANDARD_VAT_RATES)


def parse_extra_vat_rates(values, check: Check) -> tuple[Decimal, ...]:
    if len(values) > MAX_EXTRA_VAT_RATES:
        check.add("extra_vat_rates", f"at most {MAX_EXTRA_VAT_RATES} rates")
        return ()
    rates: list[Decimal] = []
    for i, text in enumerate(values):
        rate = check.decimal(text, f"extra_vat_rates[{i}]", VAT_RATE)
        if rate is not None and rate not in rates and rate not in STANDARD_VAT_RATES:
            rates.append(rate)
    return tuple(rates)


def check_siret(value: str, check: Check) -> str:
    value = check.text(value, "company.siret", maximum=20, single_line=True, printed=True)
    if value and "company.siret" not in check.violations:
        digits = value.replace(" ", "")
        if not (digits.isdigit() and len(digits) == 14):
            check.add("company.siret", "a SIRET is 14 digits")
    return value


def check_vat_number(value: str, check: Check) -> str:
    value = check.text(value, "company.vat_number", maximum=20, single_line=True, printed=True)
    if value and "company.vat_number" not in check.violations:
        compact = value.replace(" ", "").upper()
        if not (len(compact) >= 4 and compact[:2].isalpha() and compact[2:].isalnum()):
            check.add("company.vat_number", "an intra-community VAT number is a country code then 2 to 13 "
                                            "letters or digits (FR12 123456789)")
    return value


def default_valid_until(today: date, settings: Settings) -> date:
    return today + timedelta(days=settings.default_validity_days)


def utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)

