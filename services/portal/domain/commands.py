"""What a client asks the portal to do, as small dataclasses."""
from __future__ import annotations

from dataclasses import dataclass


class Command:
    pass


@dataclass(frozen=True)
class RecordView(Command):
    token_sha256: str
    ip: str
    user_agent: str


@dataclass(frozen=True)
class RecordDownload(Command):
    token_sha256: str
    ip: str
    user_agent: str


@dataclass(frozen=True)
class Sign(Command):
    token_sha256: str
    signer_name: str
    consent: bool
    ip: str
    user_agent: str


@dataclass(frozen=True)
class SignatureRequest:
    """What the portal sends the signature service (the outside boundary)."""

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


@dataclass(frozen=True)
class SignatureResult:
    request_id: str
    signed_at: str
    signer_name: str
    signed_pdf_sha256: str
