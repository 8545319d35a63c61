"""Every environment variable the quotes service reads."""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from quoteflow import sealing, validity
from quoteflow.config import CommonConfig, env, env_int, env_zone


@dataclass(frozen=True)
class Config:
    common: CommonConfig
    grpc_address: str
    portal_base_url: str
    # Key of the link tokens of sends made with an idempotency key (recomputed on a replay, never stored).
    link_secret: str = "embedded-link-secret"
    # How often the quotes process moves Envoyé quotes past their validity to Expiré.
    expiry_sweep_seconds: int = 300
    # Where the business is: a quote valid until a date is valid to the end of that day there (its status,
    # its links and its signature alike: quoteflow.validity).
    timezone: str = validity.DEFAULT_ZONE
    # Seals each quote.sent's portal link for the notifier (quoteflow/sealing.py): events, the outbox and the
    # queues never carry a link in clear. "" = derived from the service key (embedded mode).
    code_seal_key: str = ""

    @property
    def seal_key(self) -> str:
        return sealing.seal_key(self.code_seal_key, self.common.service_key)

    @classmethod
    def from_env(cls) -> "Config":
        common = CommonConfig.from_env("quotes")
        return cls(
            common=common,
            grpc_address=env("QUOTES_GRPC_ADDRESS", "127.0.0.1:50051"),
            portal_base_url=env("PORTAL_BASE_URL", "http://127.0.0.1:8080", required_in_production=True).rstrip("/"),
            # QUOTES_LINK_SECRET, else a key derived from the service key (itself required in production).
            link_secret=env("QUOTES_LINK_SECRET")
            or hmac.new(common.service_key.encode(), b"quoteflow quotes link tokens", hashlib.sha256).hexdigest(),
            expiry_sweep_seconds=max(1, env_int("QUOTES_EXPIRY_SWEEP_SECONDS", 300)),
            timezone=env_zone("QUOTES_TIMEZONE", validity.DEFAULT_ZONE),
            code_seal_key=env("CODE_SEAL_KEY", required_in_production=True),
        )
