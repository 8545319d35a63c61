"""Sealed one-time codes: only the seal key and the same tenant, request and expiry open them."""
import pytest

from quoteflow import sealing
from quoteflow.config import ConfigError

KEY = sealing.seal_key("k" * 48, "service-key")
WHERE = dict(tenant="t1", request_id="r1", expires_at="2030-01-01T00:00:00Z")


def test_a_sealed_code_opens_with_its_key_and_shows_nothing_in_clear():
    sealed = sealing.seal_code(KEY, "482913", **WHERE)
    assert b"482913" not in sealed and sealed != sealing.seal_code(KEY, "482913", **WHERE)  # a fresh nonce each time
    assert sealing.open_code(KEY, sealed, **WHERE) == "482913"


@pytest.mark.parametrize("change", [dict(tenant="t2"), dict(request_id="r2"), dict(expires_at="2099-01-01T00:00:00Z")])
def test_a_sealed_code_moved_to_another_request_does_not_open(change):
    sealed = sealing.seal_code(KEY, "482913", **WHERE)
    with pytest.raises(sealing.SealBroken):
        sealing.open_code(KEY, sealed, **{**WHERE, **change})


def test_another_key_an_altered_or_missing_seal_does_not_open():
    sealed = sealing.seal_code(KEY, "482913", **WHERE)
    for key, blob in ((sealing.seal_key("", "service-key"), sealed), (KEY, sealed[:-1] + bytes([sealed[-1] ^ 1])),
                      (KEY, b""), (KEY, sealed[:12])):
        with pytest.raises(sealing.SealBroken):
            sealing.open_code(key, blob, **WHERE)


def test_the_embedded_default_is_derived_from_the_service_key_and_production_requires_a_key(monkeypatch, tmp_path):
    from services.notifier.config import NotifierConfig
    from services.signature.config import Config

    assert sealing.seal_key("", "a") != sealing.seal_key("", "b") and sealing.seal_key("own", "a") == "own"
    for name, value in {"QUOTEFLOW_ENV": "production", "DATABASE_URL": "sqlite:///x.db", "BROKER_URL": "memory://",
                        "QUOTEFLOW_API_KEYS": "t:" + "a" * 64, "QUOTEFLOW_SERVICE_KEY": "svc", "QUOTEFLOW_VAR": str(tmp_path)}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("CODE_SEAL_KEY", raising=False)
    for config in (Config, NotifierConfig):
        with pytest.raises(ConfigError, match="CODE_SEAL_KEY"):
            config.from_env()
