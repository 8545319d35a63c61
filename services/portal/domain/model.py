"""The portal's read model: links (capabilities) and the versions they show. Pure Python."""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import threading
import time
from array import array
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

from quoteflow import validity
from quoteflow.errors import DomainError
from services.portal.domain.guessing import SharedFailures, client_key

# Version statuses (what happened to the quote version); withdrawn: the salesperson withdrew the quote.
OPEN, SUPERSEDED, SIGNED, DECLINED, WITHDRAWN = "open", "superseded", "signed", "declined", "withdrawn"

# Page states (what the holder of one link sees), in the order they win over each other.
STATE_SIGNED, STATE_REVOKED, STATE_SUPERSEDED, STATE_WITHDRAWN = "signed", "revoked", "superseded", "withdrawn"
STATE_DECLINED, STATE_EXPIRED, STATE_OPEN = "declined", "expired", "open"
READABLE = frozenset({STATE_OPEN, STATE_SIGNED, STATE_DECLINED})   # the quote itself is shown

# A link token is secrets.token_urlsafe(32): 43 url-safe characters. Accept a
# little slack, refuse anything else before touching the database.
_TOKEN = re.compile(r"[A-Za-z0-9_-]{32,128}")
_VIEW_ID = re.compile(r"([A-Za-z0-9_-]{22})\.([0-9a-f]{32})")
_SHA256 = re.compile(r"[0-9a-f]{64}")
# Control characters, C1 included, and the bidirectional embeddings, overrides and isolates (U+202A-202E,
# U+2066-2069): a signer name ending in U+202E would show the text after it reversed, on the page, in the
# evidence and on the signed PDF. Marks a right-to-left name needs (U+200E, U+200F) stay.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_MULTILINE_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_PNG_DATA_URL = "data:image/png;base64,"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MAX_SIGNATURE_PNG = 512 * 1024
MAX_NAME, MAX_REASON = 200, 2000
OTP_CHANNELS = frozenset({"email", "sms"})


class LinkNotFound(DomainError):
    """Unknown or malformed link: the page says the same for both, and the address is counted."""


class LinkClosed(DomainError):
    """A real link whose page is a state page (superseded, expired, revoked): nothing else is served."""

    def __init__(self, state: str, link: "Link", version: "Version"):
        self.state = state
        self.link = link
        self.version = version
        super().__init__(state)


class NotSignable(DomainError):
    """The version shown by this link cannot be signed or declined now; ``reason`` says why."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


class SignatureUnavailable(DomainError):
    """The signature service could not be reached; the client may try again."""


class SignatureThrottled(DomainError):
    """The signature service refuses more requests for now (e.g. too many codes)."""


class DocumentMissing(DomainError):
    """The file named by the version is not in the blob store (or not part of this version)."""


class TooManyAttempts(DomainError):
    """This client address guessed too many links."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def well_formed(token: str) -> bool:
    return bool(_TOKEN.fullmatch(token or ""))


def is_sha256(value: str) -> bool:
    return bool(_SHA256.fullmatch(value or ""))


def _mac(secret: str, message: str) -> str:
    return hmac.new(secret.encode("utf-8"), message.encode("utf-8"), hashlib.sha256).hexdigest()


def csrf_token(secret: str, link_hash: str) -> str:
    """Session-free CSRF token for every POST of one link: only pages served for this link carry it."""
    return _mac(secret, f"post:{link_hash}")


def csrf_valid(secret: str, link_hash: str, presented: str) -> bool:
    return bool(presented) and hmac.compare_digest(csrf_token(secret, link_hash), presented)


def new_view_id(secret: str, link_hash: str) -> str:
    """A page view's id: 128 random bits and a MAC binding them to the link (checked when confirmed)."""
    nonce = secrets.token_urlsafe(16)
    return f"{nonce}.{_mac(secret, f'view:{link_hash}:{nonce}')[:32]}"


def view_id_valid(secret: str, link_hash: str, view_id: str) -> bool:
    match = _VIEW_ID.fullmatch(view_id or "")
    if not match:
        return False
    expected = _mac(secret, f"view:{link_hash}:{match.group(1)}")[:32]
    return hmac.compare_digest(expected, match.group(2))


def clean_line(raw: str) -> str:
    """One line typed by a client: control and bidirectional-override characters out, runs of spaces folded."""
    return " ".join(_CONTROL.sub(" ", raw or "").split())


def clean_text(raw: str) -> str:
    """A few lines typed by a client: control and bidirectional-override characters out, line breaks kept,
    edges trimmed."""
    lines = _MULTILINE_CONTROL.sub(" ", (raw or "").replace("\r\n", "\n").replace("\r", "\n")).split("\n")
    return "\n".join(" ".join(line.split()) for line in lines).strip()


def signer_name_problem(name: str) -> str:
    """"" when the cleaned name is acceptable, else the field problem's key."""
    if len(name) < 2:
        return "signer_name"
    if len(name) > MAX_NAME:
        return "signer_name_long"
    return ""


def reason_problem(reason: str) -> str:
    if len(reason) < 2:
        return "reason"
    if len(reason) > MAX_REASON:
        return "reason_long"
    return ""


# What attached documents may be served as; anything else goes out as application/octet-stream.
SERVABLE_TYPES = frozenset({
    "application/pdf", "image/png", "image/jpeg", "image/gif", "image/webp", "text/plain", "text/csv",
    "application/zip", "application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text", "application/vnd.oasis.opendocument.spreadsheet",
})
LOGO_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "image/svg+xml"})


def served_type(content_type: str) -> str:
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    return kind if kind in SERVABLE_TYPES else "application/octet-stream"


def document_filename(name: str, fallback: str = "document") -> str:
    """A file name safe in a Content-Disposition header: no path, no control characters."""
    base = _CONTROL.sub("", (name or "").replace("\\", "/").rsplit("/", 1)[-1]).strip().strip(".")
    return base[:150] or fallback


def drawn_signature(data_url: str) -> bytes:
    """The PNG bytes of a canvas ``data:image/png;base64,...`` ("" -> b"").

    Raises ValueError when it is not a PNG, or larger than the signature service accepts.
    """
    if not data_url:
        return b""
    if not data_url.startswith(_PNG_DATA_URL) or len(data_url) > MAX_SIGNATURE_PNG * 4 // 3 + 64:
        raise ValueError("not a PNG data URL of an acceptable size")
    try:
        png = base64.b64decode(data_url[len(_PNG_DATA_URL):], validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not base64") from None
    if not png.startswith(PNG_MAGIC) or len(png) > MAX_SIGNATURE_PNG:
        raise ValueError("not a PNG of an acceptable size")
    return png


@dataclass
class CodeSent:
    """The one-time code the signature service sent for this link (shown: where, until when)."""

    channel: str
    to: str
    expires_at: datetime | None


@dataclass
class Link:
    token_sha256: str
    tenant: str
    quote_id: str
    version: int
    recipient: dict
    expires_at: datetime | None
    superseded: bool = False       # a newer version of the quote was sent to this recipient
    revoked: bool = False          # the link was switched off (a newer version went to someone else)
    code: CodeSent | None = None

    def expired(self, now: datetime) -> bool:
        """Past the instant quotes gave (the end of the last valid day where the business is): the rule the
        quote's own status follows (quoteflow.validity)."""
        return validity.ended(self.expires_at, now)

    def code_pending(self, now: datetime) -> bool:
        return self.code is not None and (self.code.expires_at is None or now < self.code.expires_at)

    @property
    def recipient_email(self) -> str:
        return (self.recipient.get("email") or "").strip().lower()


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
    signature_otp: str = ""        # "" (none), "email" or "sms": a one-time code before signing
    declined_at: datetime | None = None
    decline_reason: str = ""
    decliner_name: str = ""

    @property
    def signable(self) -> bool:
        return self.signature_requested and self.status == OPEN

    @property
    def otp_channel(self) -> str:
        return self.signature_otp if self.signature_otp in OTP_CHANNELS else ""

    def check_signable(self) -> None:
        if self.status in (SIGNED, DECLINED, SUPERSEDED, WITHDRAWN):
            raise NotSignable(self.status)
        if not self.signature_requested:
            raise NotSignable("not_requested")

    def supersede(self) -> None:
        if self.status == OPEN:
            self.status = SUPERSEDED

    def withdraw(self) -> None:
        """The quote was withdrawn: a version still open, or superseded, closes (signed or declined, it stays)."""
        if self.status in (OPEN, SUPERSEDED):
            self.status = WITHDRAWN

    def mark_signed(self, signer_name: str, signed_at: datetime, signed_pdf_sha256: str = "") -> None:
        self.status = SIGNED
        self.signer_name = signer_name
        self.signed_at = signed_at
        if signed_pdf_sha256:
            self.signed_pdf_sha256 = signed_pdf_sha256

    def mark_declined(self, reason: str, declined_at: datetime, name: str = "") -> None:
        if self.status == SIGNED:
            return
        self.status = DECLINED
        self.decline_reason = reason
        self.declined_at = declined_at
        self.decliner_name = name

    def document(self, sha256: str) -> dict | None:
        """The attached document of this version named by ``sha256`` (only those of this version)."""
        for doc in self.snapshot.get("documents") or []:
            if doc.get("sha256") == sha256:
                return doc
        return None

    @property
    def logo(self) -> tuple[str, str]:
        branding = self.snapshot.get("branding") or {}
        return branding.get("logo_sha256", ""), branding.get("logo_content_type", "")


def page_state(link: Link, version: Version, now: datetime) -> str:
    """What the holder of ``link`` sees.

    A signed quote stays readable through its link even past its validity, so the client
    can always fetch the signed copy; every other link dies with the quote's validity, when a
    newer version is sent (superseded if it went to this recipient, revoked if not), and when
    the salesperson withdraws the quote (unless a newer version went to this recipient since).
    """
    if version.status == SIGNED:
        return STATE_SIGNED
    if link.revoked:
        return STATE_REVOKED
    if link.superseded:
        return STATE_SUPERSEDED
    if version.status == WITHDRAWN:
        return STATE_WITHDRAWN
    if version.status == SUPERSEDED:
        return STATE_SUPERSEDED
    if link.expired(now):
        return STATE_EXPIRED
    if version.status == DECLINED:
        return STATE_DECLINED
    return STATE_OPEN


@dataclass
class GuessLimiter:
    """Failed link lookups per client (:func:`client_key`: an IPv6 client is its /64) in a sliding window.

    ``check()`` answers from memory, with no query: the clients this process knows are blocked, and until
    when. ``failed()`` counts the failure here and, given ``shared``, in the portal's database, where every
    worker and replica counts together and says when the client may try again. A process that has not yet
    seen a client blocked lets one more guess through; that guess fails, the shared count blocks it here
    too. Without ``shared``, or while it cannot record, this process's own count decides.
    Memory stays bounded: at most ``max_clients`` counts and as many blocks, the least recent out first,
    never all at once; clients that fail without being blocked never push a blocked one out."""

    max_failures: int
    window: float
    clock: Callable[[], float] = time.monotonic
    shared: SharedFailures | None = None
    max_clients: int = 100_000
    _counts: OrderedDict[str, array] = field(default_factory=OrderedDict, repr=False)  # last failures, recent last
    _blocked: OrderedDict[str, float] = field(default_factory=OrderedDict, repr=False)  # blocked until (clock)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def check(self, address: str) -> None:
        until = self._blocked.get(client_key(address))  # one dict read: safe without the lock
        if until is not None and until > self.clock():
            raise TooManyAttempts(address)

    def failed(self, address: str) -> None:
        key = client_key(address)
        limit = max(1, self.max_failures)
        with self._lock:
            now = self.clock()
            hits = self._counts.pop(key, None) or array("d")  # 8 bytes a failure: memory under a scan
            hits.append(now)
            if len(hits) > limit:
                del hits[0]
            self._counts[key] = hits
            if len(self._counts) > self.max_clients:
                self._counts.popitem(last=False)
            until = hits[0] + self.window if len(hits) == limit else now
        if self.shared is not None:
            wait = self.shared.record(key, self.window, limit)  # outside the lock: a database round trip
            if wait:  # None (not recorded: this process's count decides) or 0.0: no block from it
                until = max(until, self.clock() + wait)
        if until > now:
            self._block(key, until)

    def _block(self, key: str, until: float) -> None:
        with self._lock:
            if self._blocked.get(key, float("-inf")) >= until:  # already blocked as long or longer
                return
            self._blocked.pop(key, None)
            self._blocked[key] = until
            now = self.clock()
            while self._blocked:  # the oldest blocks first: those that ended, then any beyond the bound
                first, first_until = next(iter(self._blocked.items()))
                if first_until > now and len(self._blocked) <= self.max_clients:
                    break
                del self._blocked[first]

    def retry_after(self, address: str) -> int:
        """Seconds until this address may try again (0 when it may now)."""
        until = self._blocked.get(client_key(address))
        now = self.clock()
        if until is None or until <= now:
            return 0
        return max(1, int(until - now) + 1)
