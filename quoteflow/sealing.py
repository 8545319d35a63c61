"""Sealed one-time codes: a code travels in an event only as AES-256-GCM ciphertext.

The signature service seals each one-time code with the code seal key; the
notifier, the only other holder of that key, opens it to send it. The outbox
row, the broker message and every queue bound to ``signature.#`` only ever see
the ciphertext. The sealed code is bound to its tenant, request and expiry
(GCM associated data), so it cannot be replayed into another request, and is
refused once expired.

Portal links travel the same way: a link ``/d/<token>`` opens, downloads, signs
or declines the client's quote, so quotes seals it in ``quote.sent`` for the
notifier (which writes it in the email) under a key derived for links only,
bound to the tenant, quote, version and the token's SHA-256 (the link of one
send cannot be moved onto another send, quote or tenant).

``CODE_SEAL_KEY`` (quotes, signature and notifier, required in production) is the
key material; in the embedded mode it defaults to one derived from the service
key, which every embedded process shares anyway.

The signature service also keys what it keeps of each code with it: an
HMAC-SHA256 under ``code_digest_key`` (a key derived for that use only), so a
copy of its database alone does not give the codes back.
"""
from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


_INFO = b"quoteflow one-time code seal v1"
_DIGEST_INFO = b"quoteflow one-time code digest v1"
_LINK_INFO = b"quoteflow portal link seal v1"
_NONCE = 12


class SealBroken(ValueError):
    """The sealed value was altered, sealed for another request, or with another key."""


def seal_key(configured: str, service_key: str) -> str:
    """The configured ``CODE_SEAL_KEY``, else (embedded mode) one derived from the service key."""
    return configured or "derived-from-service-key:" + service_key


def _derive(key_material: str, info: bytes) -> bytes:
    if not key_material:
        raise ValueError("CODE_SEAL_KEY is empty")
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(key_material.encode("utf-8"))


def _aead(key_material: str) -> AESGCM:
    return AESGCM(_derive(key_material, _INFO))


def code_digest_key(key_material: str) -> bytes:
    """The HMAC key the signature service keeps one-time codes under: from the same material as the
    seal, for this use only (the notifier, which holds the material, sees the codes in clear anyway)."""
    return _derive(key_material, _DIGEST_INFO)


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


def _link_context(tenant: str, quote_id: str, version: int, token_sha256: str) -> bytes:
    return "\x1f".join(("quote.sent link", tenant, quote_id, str(int(version)), token_sha256.lower())).encode("utf-8")


def seal_link(key_material: str, url: str, *, tenant: str, quote_id: str, version: int, token_sha256: str) -> str:
    """The portal link of a quote.sent, sealed for the notifier only (``open_link``), as URL-safe base64."""
    nonce = os.urandom(_NONCE)
    sealed = nonce + AESGCM(_derive(key_material, _LINK_INFO)).encrypt(
        nonce, url.encode("utf-8"), _link_context(tenant, quote_id, version, token_sha256))
    return base64.urlsafe_b64encode(sealed).decode("ascii")


def open_link(key_material: str, sealed: str, *, tenant: str, quote_id: str, version: int,
              token_sha256: str) -> str:
    try:
        raw = base64.urlsafe_b64decode(sealed.encode("ascii"))
    except ValueError:  # not base64, or not ASCII
        raise SealBroken(f"the sealed link of quote {quote_id!r} is not base64") from None
    if len(raw) <= _NONCE:
        raise SealBroken("no sealed link in the event")
    try:
        return AESGCM(_derive(key_material, _LINK_INFO)).decrypt(
            raw[:_NONCE], raw[_NONCE:], _link_context(tenant, quote_id, version, token_sha256)).decode("utf-8")
    except InvalidTag:
        raise SealBroken(f"the sealed link of quote {quote_id!r} version {version} cannot be opened: sealed for "
                         "another quote, version or send, or with another CODE_SEAL_KEY") from None
