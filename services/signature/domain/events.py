"""Facts the signature service reacts to (past tense), decoupled from their wire format."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.signature.domain.model import Party


class Event:
    pass


@dataclass(frozen=True)
class QuoteSent(Event):
    event_id: str
    tenant: str
    quote_id: str
    number: str
    version: int
    signature_requested: bool
    document_sha256: str
    recipient: Party
    assignee: Party
    total_ttc: str
    currency: str
    expires_at: datetime | None = None
    signature_otp: str = ""          # "" (none), "email" or "sms"
    sent_at: datetime | None = None  # when the CRM sent it: the event's time (the evidence keeps it as data)
    lines: dict | None = None        # the frozen lines and totals (domain/purchase.py); None: an event without them


@dataclass(frozen=True)
class QuoteWithdrawn(Event):
    """The salesperson withdrew the quote: its requests up to ``version`` close."""

    event_id: str
    tenant: str
    quote_id: str
    version: int
