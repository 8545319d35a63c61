"""The seal's settings and key files: a timestamp authority in production, certificates never forgotten,
no key made behind the operator's back once quotes are signed."""
from __future__ import annotations

import pytest

from quoteflow.config import ConfigError
from services.signature.adapters import keys
from services.signature.config import Config, seal_certificate_files

PRODUCTION = {"QUOTEFLOW_ENV": "production", "DATABASE_URL": "sqlite:///x.db", "BROKER_URL": "memory://",
              "QUOTEFLOW_SERVICE_KEY": "svc", "CODE_SEAL_KEY": "k" * 48}


@pytest.fixture
def production(monkeypatch, tmp_path):
    monkeypatch.setenv("QUOTEFLOW_VAR", str(tmp_path))
    for name, value in PRODUCTION.items():
        monkeypatch.setenv(name, value)
    for name in ("SIGNATURE_TSA_URL", "SIGNATURE_KEY_FILE", "SIGNATURE_CERT_FILE", "SIGNATURE_TRUSTED_CERTS",
                 "SIGNATURE_KEY_DIR", "SIGNATURE_CA_CERTS"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_production_refuses_to_start_without_a_timestamp_authority(production):
    with pytest.raises(ConfigError, match="SIGNATURE_TSA_URL is required when QUOTEFLOW_ENV=production"):
        Config.from_env()
    production.setenv("SIGNATURE_TSA_URL", "https://tsa.example.com/tsr")
    assert Config.from_env().tsa_url == "https://tsa.example.com/tsr"
    production.setenv("SIGNATURE_TSA_URL", "none")  # on purpose: seals without a timestamp
    assert Config.from_env().tsa_url == ""


def test_a_missing_secret_is_still_named_first(production):
    production.delenv("CODE_SEAL_KEY")
    with pytest.raises(ConfigError, match="CODE_SEAL_KEY"):
        Config.from_env()


def test_embedded_mode_needs_no_timestamp_authority(monkeypatch, tmp_path):
    monkeypatch.setenv("QUOTEFLOW_VAR", str(tmp_path))
    for name in ("QUOTEFLOW_ENV", "SIGNATURE_TSA_URL", "DATABASE_URL", "BROKER_URL", "SIGNATURE_KEY_FILE",
                 "SIGNATURE_CERT_FILE"):
        monkeypatch.delenv(name, raising=False)
    assert Config.from_env().tsa_url == ""


def test_trusted_certificates_are_a_comma_separated_list_read_without_the_serving_settings(production, tmp_path):
    production.delenv("CODE_SEAL_KEY")  # what verify reads needs no secret, even in production
    production.setenv("SIGNATURE_TRUSTED_CERTS", f"{tmp_path}/old-1.pem, {tmp_path}/old-2.pem,")
    production.setenv("SIGNATURE_KEY_DIR", str(tmp_path / "seal"))
    key_dir, cert_file, trusted = seal_certificate_files()
    assert (key_dir, cert_file) == (tmp_path / "seal", None)
    assert trusted == (tmp_path / "old-1.pem", tmp_path / "old-2.pem")


def test_an_issuing_chain_needs_a_configured_certificate_and_is_a_comma_separated_list(production, tmp_path):
    production.setenv("SIGNATURE_TSA_URL", "https://tsa.example.com/tsr")
    production.setenv("SIGNATURE_CA_CERTS", f"{tmp_path}/interm.pem, {tmp_path}/root.pem")
    with pytest.raises(ConfigError, match="SIGNATURE_CA_CERTS .* set SIGNATURE_KEY_FILE and SIGNATURE_CERT_FILE"):
        Config.from_env()
    production.setenv("SIGNATURE_KEY_FILE", str(tmp_path / "seal.key"))
    production.setenv("SIGNATURE_CERT_FILE", str(tmp_path / "seal.pem"))
    assert Config.from_env().ca_cert_files == (tmp_path / "interm.pem", tmp_path / "root.pem")


def test_a_lost_key_is_not_remade_once_quotes_are_signed(tmp_path):
    folder = tmp_path / "seal"
    with pytest.raises(keys.SealKeyMissing) as refused:
        keys.ensure_keypair(folder, signed_before=lambda: 3)
    message = str(refused.value)
    assert str(folder / keys.KEY_FILE) in message and "3 quote(s) were already signed" in message
    assert "new-seal-key" in message and "SIGNATURE_TRUSTED_CERTS" in message
    assert not (folder / keys.KEY_FILE).exists() and not (folder / keys.CERT_FILE).exists()

    key_path, cert_path = keys.ensure_keypair(folder, signed_before=lambda: 0)  # a first start
    first = cert_path.read_bytes()
    assert keys.ensure_keypair(folder, signed_before=lambda: 3) == (key_path, cert_path)  # present: no question
    key_path.unlink()
    with pytest.raises(keys.SealKeyMissing, match=str(key_path)):
        keys.ensure_keypair(folder, signed_before=lambda: 1)
    assert cert_path.read_bytes() == first


def test_a_replaced_certificate_is_kept_in_retired(tmp_path):
    folder = tmp_path / "seal"
    _, cert_path = keys.ensure_keypair(folder)
    first = cert_path.read_bytes()
    _, _, kept = keys.new_keypair(folder)
    assert kept is not None and kept.parent == folder / keys.RETIRED_DIR and kept.read_bytes() == first
    assert cert_path.read_bytes() != first
    (folder / keys.KEY_FILE).unlink()  # lost while nothing is signed: remade, the certificate kept all the same
    keys.ensure_keypair(folder, signed_before=lambda: 0)
    assert len(list((folder / keys.RETIRED_DIR).glob("*.pem"))) == 2
    assert keys.known_certificate_files(folder)[0] == cert_path
    assert len(keys.known_certificate_files(folder)) == 3


def test_a_configured_certificate_that_changes_is_retired_not_forgotten(tmp_path):
    _, issued_a = keys.ensure_keypair(tmp_path / "a")
    _, issued_b = keys.ensure_keypair(tmp_path / "b")
    folder = tmp_path / "seal"
    assert keys.remember_configured(folder, issued_a) is None
    assert keys.remember_configured(folder, issued_a) is None  # the same one again: nothing moves
    kept = keys.remember_configured(folder, issued_b)
    assert kept is not None and kept.read_bytes() == issued_a.read_bytes()
    assert (folder / keys.CONFIGURED_COPY).read_bytes() == issued_b.read_bytes()
    assert not (folder / keys.KEY_FILE).exists()
    assert set(keys.known_certificate_files(folder)) == {folder / keys.CONFIGURED_COPY, kept}
