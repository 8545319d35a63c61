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
