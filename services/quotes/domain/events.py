"""Facts (past tense): those the quotes service learns from others, decoded from the bus, and those a quote
records about itself, published through the outbox with the change (adapters/messages.py)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


class Event:
    pass


@dataclass(frozen=True)
class QuoteViewed(Event):
    tenant: str
    quote_id: str
    at: datetime
    who: str
    ip: str
    user_agent: str


@dataclass(frozen=True)
class QuoteDownloaded(Event):
    tenant: str
    quote_id: str
    at: datetime
    who: str
    ip: str
    user_agent: str


@dataclass(frozen=True)
class SignatureRequested(Event):
    tenant: str
    quote_id: str
    at: datetime
    signer_email: str


@dataclass(frozen=True)
class SignatureCompleted(Event):
    tenant: str
    quote_id: str
    at: datetime
    signer_name: str
    signer_email: str
    signed_at: str
    request_id: str
    document_sha256: str
    evidence_sha256: str
    signed_pdf_sha256: str
    proof_sha256: str
    version: int = 0


@dataclass(frozen=True)
class SignatureDeclined(Event):
    tenant: str
    quote_id: str
    at: datetime
    signer_name: str
    signer_email: str
    reason: str
    declined_at: str
    request_id: str
    version: int = 0


@dataclass(frozen=True)
class NotificationDelivered(Event):
    """notification.sent (``error`` empty) or notification.failed."""

    tenant: str
    quote_id: str
    at: datetime
    channel: str
    recipient: str
    template: str
    subject: str = ""
    error: str = ""


# ---------------------------------------------------------------- recorded by the Quote aggregate


@dataclass(frozen=True)
class QuoteStatusChanged(Event):
    """quote.status_changed: ``cause`` says why, in one word (see events.proto)."""

    tenant: str
    quote_id: str
    number: str
    previous_status: str
    status: str
    cause: str
    at: datetime
    version: int
    actor: str


@dataclass(frozen=True)
class QuoteWithdrawn(Event):
    tenant: str
    quote_id: str
    number: str
    version: int
    reason: str
    at: datetime
    actor: str
