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
class UpdateSettings(Command):
    tenant: str
    esignature_enabled: bool
    company_name: str = ""
    company_address: str = ""
    siret: str = ""
    vat_number: str = ""
    default_validity_days: int = 30
    default_terms: str = ""


@dataclass(frozen=True)
class LineInput:
    description: str
    quantity: str
    unit_price: str
    vat_rate: str
    unit: str = ""
    discount_percent: str = ""
    product_ref: str = ""


@dataclass(frozen=True)
class CreateQuote(Command):
    tenant: str
    account_id: str
    contact_id: str
    assignee_id: str
    title: str
    lines: tuple[LineInput, ...] = field(default_factory=tuple)
    valid_until: str = ""
    terms: str = ""


@dataclass(frozen=True)
class SendQuote(Command):
    tenant: str
    quote_id: str
    recipient_contact_id: str = ""
    template: str = ""
    subject: str = ""
    body: str = ""
    attach_pdf: bool = False
    request_signature: bool = False
    actor: str = "crm"
