"""Every environment variable the portal reads, with embedded defaults."""
from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

from quoteflow.config import CommonConfig, ConfigError, env, env_int, var_dir


@dataclass(frozen=True)
class PortalConfig:
    common: CommonConfig
    secret_key: str                               # CSRF tokens are HMACs under this key
    http_address: str = "127.0.0.1:8080"
    signature_target: str = "127.0.0.1:50052"
    signature_timeout: float = 15.0               # seconds for one Sign / Decline / RequestCode call
    opened_timeout: float = 3.0                   # seconds for RecordOpened (best effort)
    language: str = "fr"                          # the text catalogue (services/portal/i18n/<language>.py)
    view_dwell_seconds: int = 4                   # a page visible this long confirms a view without interaction
    timezone: str = "Europe/Paris"                # how dates are written on the pages
    trusted_proxies: int = 0                      # X-Forwarded-For hops to trust (gunicorn behind a proxy)
    max_failed_lookups: int = 30                  # unknown links per client address …
    failed_lookup_window: float = 300.0           # … per this many seconds, then 429
    blob_cache_mb: int = 64                       # PDFs and documents kept in memory per web worker
    # Downloads are spooled here before the bytes go out, then sent to the broker a group at a time
    # (quoteflow/outbox.py: FactWriter); a file left by a worker that died is sent by the next one.
    spool_dir: Path = field(default_factory=lambda: var_dir() / "portal-spool")
    facts_linger_ms: int = 50                     # how long a download's event waits for others to go with it

    @property
    def service_key(self) -> str:
        return self.common.service_key

    @classmethod
    def from_env(cls) -> "PortalConfig":
        return cls(
            common=CommonConfig.from_env("portal"),
            secret_key=env("PORTAL_SECRET_KEY", required_in_production=True)
            or load_or_create_secret(var_dir() / "portal-secret"),
            http_address=env("PORTAL_HTTP_ADDRESS", "127.0.0.1:8080"),
            signature_target=env("SIGNATURE_GRPC_TARGET", "127.0.0.1:50052", required_in_production=True),
            signature_timeout=float(env_int("PORTAL_SIGNATURE_TIMEOUT", 15)),
            opened_timeout=float(env_int("PORTAL_OPENED_TIMEOUT", 3)),
            language=env("PORTAL_LANGUAGE", "fr"),
            view_dwell_seconds=env_int("PORTAL_VIEW_DWELL_SECONDS", 4),
            timezone=env("PORTAL_TIMEZONE", "Europe/Paris"),
            trusted_proxies=env_int("PORTAL_TRUSTED_PROXIES", 0),
            max_failed_lookups=env_int("PORTAL_MAX_FAILED_LOOKUPS", 30),
            failed_lookup_window=float(env_int("PORTAL_FAILED_LOOKUP_WINDOW", 300)),
            blob_cache_mb=env_int("PORTAL_BLOB_CACHE_MB", 64),
            spool_dir=Path(env("PORTAL_SPOOL_DIR", "") or var_dir() / "portal-spool"),
            facts_linger_ms=env_int("PORTAL_FACTS_LINGER_MS", 50),
        )


def load_or_create_secret(path: Path) -> str:
    """The embedded CSRF key: generated once, kept in ``path`` (mode 0600), shared by the processes."""
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process of the portal is writing it
        for _ in range(50):
            existing = path.read_text(encoding="ascii").strip()
            if existing:
                return existing
            time.sleep(0.02)
        raise ConfigError(f"{path} is empty: delete it or set PORTAL_SECRET_KEY") from None
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key + "\n")
    return key
