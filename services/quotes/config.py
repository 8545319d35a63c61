"""Every environment variable the quotes service reads."""
from __future__ import annotations

from dataclasses import dataclass

from quoteflow.config import CommonConfig, env


@dataclass(frozen=True)
class Config:
    common: CommonConfig
    grpc_address: str
    portal_base_url: str

    @classmethod
    def from_env(cls) -> "Config":
        return cls(
            common=CommonConfig.from_env("quotes"),
            grpc_address=env("QUOTES_GRPC_ADDRESS", "127.0.0.1:50051"),
            portal_base_url=env("PORTAL_BASE_URL", "http://127.0.0.1:8080", required_in_production=True).rstrip("/"),
        )
