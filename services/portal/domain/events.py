"""Facts the portal hears about and reports, as small dataclasses (past tense)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar


class Event:
    pass


class Incoming(Event):
    """An event heard from the bus; ``id`` and ``type`` are what the inbox records."""

    type: ClassVar[str]

    @property
    def id(self) -> str:
        return self.event_id


@dataclass(frozen=True)
class QuoteSent(Incoming):
    type: ClassVar[str] = "quote.sent"
    event_id: str
    tenant: str
    quote_id: str
    number: str
    version: int
    recipient: dict
    assignee: dict
    link_token_sha256: str
    expires_at: datetime | None
    pdf_sha256: str
    signature_requested: bool
    snapshot: dict
    signature_otp: str = ""


@dataclass(frozen=True)
class QuoteAssigneeChanged(Incoming):
    """quote.assignee_changed: the salesperson now in charge of a quote already sent (« assigné à »)."""

    type: ClassVar[str] = "quote.assignee_changed"
    event_id: str
    tenant: str
    quote_id: str
    assignee: dict


@dataclass(frozen=True)
class QuoteWithdrawn(Incoming):
    """quote.withdrawn: the salesperson withdrew the quote; its versions up to ``version`` close."""

    type: ClassVar[str] = "quote.withdrawn"
    event_id: str
    tenant: str
    quote_id: str
    version: int


@dataclass(frozen=True)
class SignatureCompleted(Incoming):
    type: ClassVar[str] = "signature.completed"
    event_id: str
    tenant: str
    quote_id: str
    version: int
    signer_name: str
    signed_at: datetime
    signed_pdf_sha256: str


@dataclass(frozen=True)
class SignatureDeclined(Incoming):
    type: ClassVar[str] = "signature.declined"
    event_id: str
    tenant: str
    quote_id: str
    version: int
    signer_name: str
    reason: str
    declined_at: datetime


@dataclass(frozen=True)
class QuoteViewed(Event):
    tenant: str
    quote_id: str
    number: str
    version: int
    recipient_email: str
    ip: str
    user_agent: str
    at: datetime
    assignee: dict


@dataclass(frozen=True)
class QuoteDownloaded(Event):
    tenant: str
    quote_id: str
    number: str
    version: int
    recipient_email: str
    ip: str
    user_agent: str
    at: datetime
    assignee: dict
    pdf_sha256: str
