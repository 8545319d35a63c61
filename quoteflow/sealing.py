"""Sealed one-time codes: a code travels in an event only as AES-256-GCM ciphertext.

The signature service seals each one-time code with the code seal key; the
notifier, the only other holder of that key, opens it to send it. The outbox
row, the broker message and every queue bound to ``signature.#`` only ever see
the ciphertext. The sealed code is bound to its tenant, request and expiry
(GCM associated data), so it cannot be replayed into another request, and is
refused once expired.

``CODE_SEAL_KEY`` (signature and notifier only, required in production) is the
key material; in the embedded mode it defaults to one derived from the service
key, which every embedded process shares anyway.
"""
from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


_INFO = b"quoteflow one-time code seal v1"
_NONCE = 12


class SealBroken(ValueError):
    """The sealed value was altered, sealed for another request, or with another key."""


def seal_key(configured: str, service_key: str) -> str:
    """The configured ``CODE_SEAL_KEY``, else (embedded mode) one derived from the service key."""
    return configured or "derived-from-service-key:" + service_key


def _aead(key_material: str) -> AESGCM:
    if not key_material:
        raise ValueError("CODE_SEAL_KEY is empty")
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(key_material.encode("utf-8"))
    return AESGCM(key)


def _context(tenant: str, request_id: str, expires_at: str) -> bytes:
    return "\x1f".join((tenant, request_id, expires_at)).encode("utf-8")


def seal_code(key_material: str, code: str, *, tenant: str, request_id: str, expires_at: str) -> bytes:
    nonce = os.urandom(_NONCE)
    return nonce + _aead(key_material).encrypt(nonce, code.encode("utf-8"),
                                               _context(tenant, request_id, expires_at))


def open_code(key_material: str, sealed: bytes, *, tenant: str, request_id: str, expires_at: str) -> str:
    if len(sealed) <= _NONCE:
        raise SealBroken("no sealed code in the event")
    try:
        return _aead(key_material).decrypt(sealed[:_NONCE], sealed[_NONCE:],
                                           _context(tenant, request_id, expires_at)).decode("utf-8")
    except InvalidTag:
        raise SealBroken(f"the sealed code of request {request_id!r} cannot be opened with this key") from None

