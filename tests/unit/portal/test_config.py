"""The portal's settings: the embedded CSRF key is generated once, private, and reused."""
from __future__ import annotations

import stat

from services.portal.config import PortalConfig, load_or_create_secret


def test_secret_is_created_private_and_reused(tmp_path):
    path = tmp_path / "var" / "portal-secret"
    first = load_or_create_secret(path)
    assert len(first) >= 43
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_secret(path) == first


def test_from_env_reads_the_portal_variables(tmp_path, monkeypatch):
    monkeypatch.setenv("QUOTEFLOW_VAR", str(tmp_path))
    monkeypatch.setenv("PORTAL_HTTP_ADDRESS", "0.0.0.0:9000")
    monkeypatch.setenv("SIGNATURE_GRPC_TARGET", "signature:50052")
    monkeypatch.delenv("PORTAL_SECRET_KEY", raising=False)
    config = PortalConfig.from_env()
    assert config.http_address == "0.0.0.0:9000"
    assert config.signature_target == "signature:50052"
    assert config.secret_key == (tmp_path / "portal-secret").read_text().strip()
    assert config.common.database_url == f"sqlite:///{tmp_path}/portal.db"
    monkeypatch.setenv("PORTAL_SECRET_KEY", "from-env")
    assert PortalConfig.from_env().secret_key == "from-env"
