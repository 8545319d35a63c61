"""The seal's key pair: a self-signed certificate made at first start, kept as PEM files (0600).

A certificate that stops being the seal's is never forgotten: it moves to ``retired/`` beside the key,
so the PDFs it sealed still verify (``known_certificate_files``). A key is made only on a first start
(no quote signed yet) or on purpose (``new_keypair``, ``python -m services.signature new-seal-key``):
a seal key that vanished after quotes were signed stops the service instead of being replaced unseen.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from quoteflow.config import ConfigError

KEY_FILE = "seal-key.pem"
CERT_FILE = "seal-cert.pem"
RETIRED_DIR = "retired"                    # certificates that sealed before and seal no more
CONFIGURED_COPY = "configured-cert.pem"    # a copy of the configured certificate (SIGNATURE_CERT_FILE) last used
COMMON_NAME = "Quoteflow - sceau de signature"


class SealKeyMissing(ConfigError):
    """The seal's key is gone although quotes were signed with it: the message names the path and the ways out."""


def _write_private(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def _generate(common_name: str) -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Quoteflow"),
    ])
    now = datetime.now(timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=True, key_cert_sign=True, crl_sign=False,
            key_encipherment=False, data_encipherment=False, key_agreement=False, encipher_only=False,
            decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return key_pem, cert.public_bytes(serialization.Encoding.PEM)


@contextmanager
def _locked(folder: Path):
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    with open(folder / ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _fingerprint(data: bytes) -> str:
    """The SHA-256 of a certificate's DER (PEM or DER given); of the bytes themselves when they are neither."""
    for load in (x509.load_pem_x509_certificate, x509.load_der_x509_certificate):
        try:
            return hashlib.sha256(load(data).public_bytes(serialization.Encoding.DER)).hexdigest()
        except ValueError:
            continue
    return hashlib.sha256(data).hexdigest()


def _retire(folder: Path, pem: bytes) -> Path:
    """Keeps ``pem`` in ``retired/``, named by its SHA-256."""
    digest = _fingerprint(pem)
    retired = folder / RETIRED_DIR
    retired.mkdir(mode=0o700, exist_ok=True)
    path = retired / f"seal-cert-{digest[:16]}.pem"
    if not path.exists():
        _write_private(path, pem)
    return path


def _make(folder: Path, common_name: str) -> Path | None:
    """A new key pair in ``folder``; the certificate it replaces, if any, goes to ``retired/`` (returned)."""
    key_path, cert_path = folder / KEY_FILE, folder / CERT_FILE
    kept = _retire(folder, cert_path.read_bytes()) if cert_path.exists() else None
    key_pem, cert_pem = _generate(common_name)
    _write_private(key_path, key_pem)
    _write_private(cert_path, cert_pem)
    return kept


def ensure_keypair(key_dir: Path | str, common_name: str = COMMON_NAME, *,
                   signed_before: Callable[[], int] | None = None) -> tuple[Path, Path]:
    """Returns (key path, certificate path), creating both on first use (under a lock).

    ``signed_before`` counts the quotes already signed: when the key or its certificate is missing and that
    count is not 0, no key is made (:class:`SealKeyMissing`): the folder was lost or not mounted, and a new
    key would make every PDF sealed before unverifiable here.
    """
    folder = Path(key_dir)
    key_path, cert_path = folder / KEY_FILE, folder / CERT_FILE
    with _locked(folder):
        if not (key_path.exists() and cert_path.exists()):
            signed = signed_before() if signed_before is not None else 0
            if signed:
                missing = key_path if not key_path.exists() else cert_path
                raise SealKeyMissing(
                    f"the seal key is missing ({missing} does not exist) but {signed} quote(s) were already "
                    f"signed: restore {folder} ({KEY_FILE}, {CERT_FILE}, {RETIRED_DIR}/) from a backup, or check "
                    f"that its volume is mounted (SIGNATURE_KEY_DIR). If the key is lost for good, make a new one "
                    f"on purpose with `python -m services.signature new-seal-key`, and give the lost certificate "
                    f"(taken from your archive) to SIGNATURE_TRUSTED_CERTS so the quotes signed with it still verify")
            _make(folder, common_name)
    return key_path, cert_path


def new_keypair(key_dir: Path | str, common_name: str = COMMON_NAME) -> tuple[Path, Path, Path | None]:
    """Replaces the seal's key on purpose: (key path, certificate path, where the previous certificate is kept)."""
    folder = Path(key_dir)
    with _locked(folder):
        kept = _make(folder, common_name)
    return folder / KEY_FILE, folder / CERT_FILE, kept


def remember_configured(key_dir: Path | str, cert_path: Path | str) -> Path | None:
    """Keeps a copy of the configured certificate in ``key_dir``; when it changed since the last start, the copy
    of the previous one moves to ``retired/``. Returns where the previous one went, if it changed."""
    folder = Path(key_dir)
    pem = Path(cert_path).read_bytes()
    copy = folder / CONFIGURED_COPY
    with _locked(folder):
        previous = copy.read_bytes() if copy.exists() else None
        if previous is not None and _fingerprint(previous) == _fingerprint(pem):
            return None
        kept = _retire(folder, previous) if previous is not None else None
        _write_private(copy, pem)
    return kept


def known_certificate_files(key_dir: Path | str) -> list[Path]:
    """Every certificate file of ``key_dir`` that sealed or seals: the current one, the copy of a configured
    one, the retired ones."""
    folder = Path(key_dir)
    found = [folder / CERT_FILE, folder / CONFIGURED_COPY, *sorted((folder / RETIRED_DIR).glob("*.pem"))]
    return [path for path in found if path.is_file()]
