"""Reading configuration from the environment, with embedded defaults.

Each service declares every variable it reads in its own ``config.py`` using
these helpers. In production (``QUOTEFLOW_ENV=production``) a setting declared
``required_in_production`` that is missing stops the service at start with its
name.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the message names it."""


def production() -> bool:
    return os.environ.get("QUOTEFLOW_ENV", "embedded").strip().lower() == "production"


def var_dir() -> Path:
    return Path(os.environ.get("QUOTEFLOW_VAR", "var")).resolve()


def env(name: str, default: str = "", *, required_in_production: bool = False) -> str:
    value = os.environ.get(name)
    if value is None or value == "":
        if required_in_production and production():
            raise ConfigError(f"{name} is required when QUOTEFLOW_ENV=production")
        return default
    return value


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    if raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None


def env_zone(name: str, default: str) -> str:
    """An IANA time zone name (Europe/Paris), checked at start rather than when a date is first judged."""
    value = env(name, default).strip()
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{name} must be an IANA time zone such as Europe/Paris, got {value!r}") from None
    return value


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if raw == "":
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


@dataclass(frozen=True)
class CommonConfig:
    """Settings every service shares: where its data lives and how it talks."""

    service: str
    database_url: str
    broker_url: str
    blob_dir: Path
    api_keys: str
    service_key: str
    max_attempts: int

    @classmethod
    def from_env(cls, service: str) -> "CommonConfig":
        var = var_dir()
        prefix = service.upper()
        database_url = env(f"{prefix}_DATABASE_URL") or env(
            "DATABASE_URL", f"sqlite:///{var / service}.db", required_in_production=True
        )
        return cls(
            service=service,
            database_url=database_url,
            broker_url=env("BROKER_URL", f"filesystem://{var / 'bus'}", required_in_production=True),
            blob_dir=Path(env("BLOB_DIR", str(var / "blobs"))),
            api_keys=env("QUOTEFLOW_API_KEYS", ""),  # optional: keys live in the database (quoteflow apikey)
            service_key=env("QUOTEFLOW_SERVICE_KEY", "embedded-service-key", required_in_production=True),
            max_attempts=env_int("BUS_MAX_ATTEMPTS", 5),
        )
