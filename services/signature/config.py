"""Every environment variable the signature service reads, with embedded defaults."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from quoteflow.config import CommonConfig, env, var_dir


@dataclass(frozen=True)
class Config:
    common: CommonConfig
    grpc_address: str = "127.0.0.1:50052"
    key_dir: Path = Path("var/signature")   # the seal's key and self-signed certificate (PEM, 0600)
    timezone: str = "Europe/Paris"          # how the date is written on the signature block

    @classmethod
    def from_env(cls) -> "Config":
        return cls(
            common=CommonConfig.from_env("signature"),
            grpc_address=env("SIGNATURE_GRPC_ADDRESS", "127.0.0.1:50052"),
            key_dir=Path(env("SIGNATURE_KEY_DIR", str(var_dir() / "signature"))),
            timezone=env("SIGNATURE_TIMEZONE", "Europe/Paris"),
        )
