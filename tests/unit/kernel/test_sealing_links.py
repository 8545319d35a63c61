"""Sealed portal links: only the seal key and the same tenant, quote, version and token hash open them."""
import base64

import pytest

from quoteflow import sealing
from quoteflow.config import ConfigError

KEY = sealing.seal_key("k" * 48, "service-key")
LINK = "https://devis.example/d/tgS8hYysZd634zvcQoFKj29jvUJNI3mbrySwQrghyls"
WHERE = dict(tenant="t1", quote_id="q1", version=2, token_sha256="ab" * 32)


def test_a_sealed_link_opens_with_its_key_and_shows_nothing_in_clear():
    sealed = sealing.seal_link(KEY, LINK, **WHERE)
    assert "tgS8hYysZd634" not in sealed and "/" not in sealed and sealed != sealing.seal_link(KEY, LINK, **WHERE)
    assert sealing.open_link(KEY, sealed, **WHERE) == LINK


@pytest.mark.parametrize("change", [dict(tenant="t2"), dict(quote_id="q2"), dict(version=3),
                                    dict(token_sha256="cd" * 32)])
def test_a_sealed_link_moved_to_another_send_does_not_open(change):
    sealed = sealing.seal_link(KEY, LINK, **WHERE)
    with pytest.raises(sealing.SealBroken):
        sealing.open_link(KEY, sealed, **{**WHERE, **change})


def test_another_key_an_altered_or_missing_seal_or_a_sealed_code_does_not_open():
    sealed = sealing.seal_link(KEY, LINK, **WHERE)
    raw = base64.urlsafe_b64decode(sealed)
    code = sealing.seal_code(KEY, LINK, tenant="t1", request_id="q1", expires_at="2")  # the code key is another
    other_first = ("B" if sealed[0] == "A" else "A") + sealed[1:]
    for key, text in ((sealing.seal_key("", "service-key"), sealed), (KEY, other_first),
                      (KEY, base64.urlsafe_b64encode(raw[:-1] + bytes([raw[-1] ^ 1])).decode()),
                      (KEY, ""), (KEY, base64.urlsafe_b64encode(raw[:12]).decode()), (KEY, "pas du base64 é"),
                      (KEY, base64.urlsafe_b64encode(code).decode())):
        with pytest.raises(sealing.SealBroken):
            sealing.open_link(key, text, **WHERE)


def test_quotes_requires_the_key_in_production_and_derives_it_from_the_service_key_embedded(monkeypatch, tmp_path):
    from services.quotes.config import Config

    for name, value in {"QUOTEFLOW_ENV": "production", "DATABASE_URL": "sqlite:///x.db", "BROKER_URL": "memory://",
                        "QUOTEFLOW_API_KEYS": "t:" + "a" * 64, "QUOTEFLOW_SERVICE_KEY": "svc",
                        "PORTAL_BASE_URL": "https://devis.example", "QUOTEFLOW_VAR": str(tmp_path)}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("CODE_SEAL_KEY", raising=False)
    with pytest.raises(ConfigError, match="CODE_SEAL_KEY"):
        Config.from_env()
    monkeypatch.setenv("CODE_SEAL_KEY", "s" * 48)
    assert Config.from_env().seal_key == "s" * 48
    monkeypatch.delenv("QUOTEFLOW_ENV")
    monkeypatch.delenv("CODE_SEAL_KEY")
    assert Config.from_env().seal_key == sealing.seal_key("", "svc")
