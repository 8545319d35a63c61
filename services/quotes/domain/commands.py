"""What the CRM asks of the quotes service (imperative names)."""
from __future__ import annotations

from dataclasses import dataclass, field


class Command:
    pass


@dataclass(frozen=True)
class UpsertAccount(Command):
    tenant: str
    id: str
    name: str
    address: str = ""


@dataclass(frozen=True)
class UpsertContact(Command):
    tenant: str
    id: str
    account_id: str
    name: str
    email: str
    phone: str = ""


@dataclass(frozen=True)
class UpsertUser(Command):
    tenant: str
    id: str
    name: str
    email: str
    mobile: str = ""


@dataclass(frozen=True)
class UpsertDeal(Command):
    tenant: str
    id: str
    account_id: str
    title: str
    contact_id: str = ""
    assignee_id: str = ""


@dataclass(frozen=True)
class UpsertProduct(Command):
    tenant: str
    id: str
    reference: str
    label: str
    unit_price: str
    vat_rate: str
    unit: str = ""


@dataclass(frozen=True)
class UpsertEquipment(Command):
    tenant: str
    id: str
    account_id: str
    product_id: str
    serial_number: str = ""
    install_date: str = ""
    warranty_end: str = ""


# UpdateSettings' update_mask: each path it takes -> the fields it changes.
_COMPANY = ("company.name", "company.address", "company.siret", "company.vat_number")
SETTINGS_PATHS: dict[str, tuple[str, ...]] = {
    "esignature_enabled": ("esignature_enabled",),
    "company": _COMPANY, **{name: (name,) for name in _COMPANY},
    "default_validity_days": ("default_validity_days",),
    "default_terms": ("default_terms",),
    "signature_otp": ("signature_otp",),
    "extra_vat_rates": ("extra_vat_rates",),
    "branding": ("branding.color",), "branding.color": ("branding.color",),
    "logo": ("logo",),
}


@dataclass(frozen=True)
class UpdateSettings(Command):
    """``fields``: the update_mask's paths (see SETTINGS_PATHS); None (no mask) replaces every field but
    the logo, as UpdateSettings did before it had a mask."""

    tenant: str
    esignature_enabled: bool
    company_name: str = ""
    company_address: str = ""
    siret: str = ""
    vat_number: str = ""
    default_validity_days: int = 30
    default_terms: str = ""
    signature_otp: str = ""
    extra_vat_rates: tuple[str, ...] = ()
    color: str = ""
    logo: bytes = b""
    remove_logo: bool = False
    fields: tuple[str, ...] | None = None


@dataclass(frozen=True)
class LineInput:
    description: str = ""
    quantity: str = ""
    unit_price: str = ""
    vat_rate: str = ""
    unit: str = ""
    discount_percent: str = ""
    product_ref: str = ""


@dataclass(frozen=True)
class CreateQuote(Command):
    tenant: str
    account_id: str = ""
    contact_id: str = ""
    assignee_id: str = ""
    title: str = ""
    lines: tuple[LineInput, ...] = field(default_factory=tuple)
    valid_until: str = ""
    terms: str = ""
    deal_id: str = ""
    optional_lines: tuple[LineInput, ...] = field(default_factory=tuple)
    idempotency_key: str = ""
    actor: str = "crm"


EDITABLE = ("title", "lines", "optional_lines", "valid_until", "terms", "contact_id", "assignee_id", "deal_id")


@dataclass(frozen=True)
class UpdateQuote(Command):
    tenant: str
    quote_id: str
    fields: tuple[str, ...]  # which of EDITABLE to change
    title: str = ""
    lines: tuple[LineInput, ...] = field(default_factory=tuple)
    optional_lines: tuple[LineInput, ...] = field(default_factory=tuple)
    valid_until: str = ""
    terms: str = ""
    contact_id: str = ""
    assignee_id: str = ""
    deal_id: str = ""
    actor: str = "crm"


@dataclass(frozen=True)
class SendQuote(Command):
    tenant: str
    quote_id: str
    recipient_contact_id: str = ""
    template: str = ""
    subject: str = ""
    body: str = ""
    attach_pdf: bool = False
    request_signature: bool | None = None  # None: on when e-signature is on for the tenant
    actor: str = "crm"
    idempotency_key: str = ""


@dataclass(frozen=True)
class AddDocument(Command):
    tenant: str
    quote_id: str
    name: str
    content: bytes
    idempotency_key: str = ""
    actor: str = "crm"


@dataclass(frozen=True)
class RemoveDocument(Command):
    tenant: str
    quote_id: str
    sha256: str
    actor: str = "crm"


@dataclass(frozen=True)
class DuplicateQuote(Command):
    tenant: str
    quote_id: str
    idempotency_key: str = ""
    actor: str = "crm"


@dataclass(frozen=True)
class CreateSalesDocument(Command):
    """An invoice (kind "invoice") or a sales order (kind "order") from a quote."""

    tenant: str
    quote_id: str
    kind: str
    idempotency_key: str = ""
    actor: str = "crm"


@dataclass(frozen=True)
class CreateTask(Command):
    tenant: str
    quote_id: str
    title: str
    due_date: str = ""
    assignee_id: str = ""
    description: str = ""
    idempotency_key: str = ""
    actor: str = "crm"


@dataclass(frozen=True)
class WithdrawQuote(Command):
    tenant: str
    quote_id: str
    reason: str = ""
    actor: str = "crm"


@dataclass(frozen=True)
class ExpireQuotes(Command):
    """The sweep: every Envoyé quote past its validity becomes Expiré (all tenants, in batches)."""

    batch_size: int = 500
