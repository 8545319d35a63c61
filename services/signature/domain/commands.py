"""What callers ask of the signature service (imperative names)."""
from __future__ import annotations

from dataclasses import dataclass


class Command:
    pass


@dataclass(frozen=True)
class Sign(Command):
    tenant: str
    quote_id: str
    version: int
    document_sha256: str
    signer_name: str
    consent: bool
    consent_text: str = ""
    ip: str = ""
    user_agent: str = ""
    signer_email: str = ""
    otp_code: str = ""
    signature_png: bytes = b""


@dataclass(frozen=True)
class Decline(Command):
    tenant: str
    quote_id: str
    version: int
    reason: str
    signer_name: str = ""
    signer_email: str = ""
    ip: str = ""
    user_agent: str = ""


@dataclass(frozen=True)
class RequestCode(Command):
    tenant: str
    quote_id: str
    version: int
    ip: str = ""
    user_agent: str = ""


@dataclass(frozen=True)
class RecordOpened(Command):
    tenant: str
    quote_id: str
    version: int
    ip: str = ""
    user_agent: str = ""
