"""The portal's read model: links (capabilities) and the versions they show. Pure Python."""
from __future__ import annotations

import hashlib
import hmac
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

from quoteflow.errors import DomainError

OPEN, SUPERSEDED, SIGNED = "open", "superseded", "signed"

# A link token is secrets.token_urlsafe(32): 43 url-safe characters. Accept a
# little slack, refuse anything else before touching the database.
_TOKEN = re.compile(r"[A-Za-z0-9_-]{32,128}")


class LinkNotFound(DomainError):
    """Unknown, malformed or expired link: the page says the same for all three."""


class NotSignable(DomainError):
    """The version shown by this link cannot be signed (not requested, superseded, already signed)."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


class SignatureUnavailable(DomainError):
    """The signature service could not be reached; the client may try again."""


class DocumentMissing(DomainError):
    """The frozen PDF named by the version is not in the blob store."""


class TooManyAttempts(DomainError):
    """This client address guessed too many links."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def well_formed(token: str) -> bool:
    return bool(_TOKEN.fullmatch(token or ""))


def csrf_token(secret: str, link_hash: str) -> str:
    """Session-free CSRF token: only pages served for this link carry it."""
    return hmac.new(secret.encode("utf-8"), f"sign:{link_hash}".encode("ascii"), hashlib.sha256).hexdigest()


def csrf_valid(secret: str, link_hash: str, presented: str) -> bool:
    return bool(presented) and hmac.compare_digest(csrf_token(secret, link_hash), presented)


def consent_text(number: str, total_ttc: str) -> str:
    """What the client agrees to, word for word as shown and as kept in the evidence."""
    return f"En signant, j'accepte le devis n° {number} d'un montant de {total_ttc} TTC."


@dataclass
class Link:
    token_sha256: str
    tenant: str
    quote_id: str
    version: int
    recipient: dict
    expires_at: datetime | None
    superseded: bool = False       # a newer version of the quote was sent

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and now >= self.expires_at


@dataclass
class Version:
    tenant: str
    quote_id: str
    version: int
    number: str
    snapshot: dict
    pdf_sha256: str
    signature_requested: bool
    assignee: dict
    status: str = OPEN
    signer_name: str = ""
    signed_at: datetime | None = None
    signed_pdf_sha256: str = ""

    @property
    def signable(self) -> bool:
        return self.signature_requested and self.status == OPEN

    def check_signable(self) -> None:
        if self.status == SIGNED:
            raise NotSignable("signed")
        if self.status == SUPERSEDED:
            raise NotSignable("superseded")
        if not self.signature_requested:
            raise NotSignable("not_requested")

    def supersede(self) -> None:
        if self.status == OPEN:
            self.status = SUPERSEDED

    def mark_signed(self, signer_name: str, signed_at: datetime, signed_pdf_sha256: str = "") -> None:
        self.status = SIGNED
        self.signer_name = signer_name
        self.signed_at = signed_at
        if signed_pdf_sha256:
            self.signed_pdf_sha256 = signed_pdf_sha256


@dataclass
class GuessLimiter:
    """Counts failed link lookups per client address in a sliding window (one process)."""

    max_failures: int
    window: float
    clock: Callable[[], float] = time.monotonic
    _failures: dict[str, deque] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _recent(self, address: str, now: float) -> deque:
        hits = self._failures.setdefault(address, deque())
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        return hits

    def check(self, address: str) -> None:
        with self._lock:
            hits = self._recent(address, self.clock())
            if not hits:
                self._failures.pop(address, None)
            elif len(hits) >= self.max_failures:
                raise TooManyAttempts(address)

    def failed(self, address: str) -> None:
        with self._lock:
            now = self.clock()
            self._recent(address, now).append(now)
            if len(self._failures) > 100_000:  # bounded memory under a scan
                self._failures.clear()
