"""The notifier's rules in pure Python: preferences, deliveries and their retry policy."""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

EMAIL = "email"
SMS = "sms"

QUEUED = "queued"
SENT = "sent"
FAILED = "failed"

VIEW = "view"
DOWNLOAD = "download"

_LINE_BREAKS = re.compile(r"[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]+")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_EMAIL = re.compile(r"^[^@\s<>\"',;:()\[\]\\]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?\.[A-Za-z0-9-]{2,}$")


def clean_header(value: str, limit: int = 300) -> str:
    """A header value made harmless: line breaks become spaces, control characters go."""
    text = _CONTROL.sub("", _LINE_BREAKS.sub(" ", value or "")).strip()
    return text[:limit]


def valid_email(address: str) -> bool:
    return bool(_EMAIL.match(address or "")) and len(address) <= 254


@dataclass(frozen=True)
class Preferences:
    """What a salesperson wants to hear about; email on, SMS off until they change it."""

    user_id: str
    on_view_email: bool = True
    on_view_sms: bool = False
    on_download_email: bool = True
    on_download_sms: bool = False

    def channels_for(self, action: str) -> list[str]:
        if action == VIEW:
            wanted = ((EMAIL, self.on_view_email), (SMS, self.on_view_sms))
        elif action == DOWNLOAD:
            wanted = ((EMAIL, self.on_download_email), (SMS, self.on_download_sms))
        else:
            raise ValueError(f"unknown action {action!r}")
        return [channel for channel, on in wanted if on]


@dataclass
class Delivery:
    """One message to one recipient on one channel, caused by one event."""

    id: str
    tenant: str
    event_id: str
    channel: str
    recipient: str
    template: str
    quote_id: str
    subject: str
    payload: bytes
    created_at: datetime
    status: str = QUEUED
    error: str = ""
    attempts: int = 0
    sent_at: datetime | None = None
    next_attempt_at: datetime | None = None


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries of transient failures with a doubling pause."""

    max_attempts: int = 5
    base_seconds: float = 2.0
    cap_seconds: float = 300.0

    def after_failure(self, delivery: Delivery, error: str, transient: bool, now: datetime) -> Delivery:
        """The delivery after a failed attempt (``attempts`` already counts it)."""
        if transient and delivery.attempts < self.max_attempts:
            pause = min(self.base_seconds * (2 ** (delivery.attempts - 1)), self.cap_seconds)
            return replace(delivery, status=QUEUED, error=error[:1000],
                           next_attempt_at=now + timedelta(seconds=pause))
        return replace(delivery, status=FAILED, error=error[:1000], next_attempt_at=None)
