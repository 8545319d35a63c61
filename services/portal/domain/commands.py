"""What a client asks the portal to do, and what the portal asks the signature service, as dataclasses."""
from __future__ import annotations

from dataclasses import dataclass


class Command:
    pass


@dataclass(frozen=True)
class Visitor:
    """Who is asking: address, browser, and whatever says it is a machine (prefetch headers)."""

    ip: str
    user_agent: str
    purpose: dict  # Purpose / Sec-Purpose / X-Purpose / X-Moz headers as sent


@dataclass(frozen=True)
class ConfirmView(Command):
    """A page view confirmed by the page itself (beacon) or by the client acting from it."""

    token_sha256: str
    view_id: str
    visitor: Visitor
    trigger: str = "page"          # page, download, document, sign, code, decline


@dataclass(frozen=True)
class RecordDownload(Command):
    token_sha256: str
    visitor: Visitor
    view_id: str = ""


@dataclass(frozen=True)
class GetSignedCopy(Command):
    """The client asks for the signed copy of the quote their link shows."""

    token_sha256: str


@dataclass(frozen=True)
class Sign(Command):
    token_sha256: str
    signer_name: str
    consent: bool
    visitor: Visitor
    otp_code: str = ""
    signature_data_url: str = ""   # "data:image/png;base64,..." from the canvas, or ""
    view_id: str = ""


@dataclass(frozen=True)
class RequestCode(Command):
    token_sha256: str
    visitor: Visitor
    view_id: str = ""


@dataclass(frozen=True)
class Decline(Command):
    token_sha256: str
    reason: str
    visitor: Visitor
    name: str = ""
    view_id: str = ""


# --- the signature service's side (the outside boundary) ----------------------------------

@dataclass(frozen=True)
class SignatureRequest:
    tenant_id: str
    quote_id: str
    version: int
    document_sha256: str
    signer_name: str
    consent: bool
    consent_text: str
    ip: str
    user_agent: str
    signer_email: str
    otp_code: str = ""
    signature_png: bytes = b""


@dataclass(frozen=True)
class SignatureResult:
    request_id: str
    signed_at: str
    signer_name: str
    signed_pdf_sha256: str


@dataclass(frozen=True)
class DeclineRequest:
    tenant_id: str
    quote_id: str
    version: int
    reason: str
    signer_name: str
    signer_email: str
    ip: str
    user_agent: str


@dataclass(frozen=True)
class DeclineResult:
    request_id: str
    declined_at: str


@dataclass(frozen=True)
class CodeRequest:
    tenant_id: str
    quote_id: str
    version: int
    ip: str
    user_agent: str


@dataclass(frozen=True)
class CodeResult:
    channel: str
    masked_recipient: str
    expires_at: str


@dataclass(frozen=True)
class OpenedNotice:
    tenant_id: str
    quote_id: str
    version: int
    ip: str
    user_agent: str
