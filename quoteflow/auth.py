"""API keys: each bound to one tenant, known only by their SHA-256.

Keys come from two places: the service's ``api_keys`` table (``quoteflow apikey create``,
``revoke``, ``list``; see :mod:`quoteflow.apikeys`) and the static bootstrap keys of
``QUOTEFLOW_API_KEYS``, ``tenant:sha256`` pairs (comma or newline separated) that
``quoteflow apikey new TENANT`` makes, revoked only by editing the environment.
Internal callers (the portal calling signature) present the service key and
name the tenant in the request, which the portal takes from a link it verified.
Which kind of key may call an rpc is declared in the contract (``option (caller)``,
proto/quoteflow/v1/options.proto) and checked by :meth:`Principal.may_call`.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Protocol

from quoteflow.errors import InvalidArgument, NotFound, Unauthenticated
from quoteflow.v1.options_pb2 import CALLER_ANY, CALLER_CRM, CALLER_SERVICE


@dataclass(frozen=True)
class Principal:
    tenant: str | None
    service: bool = False

    def may_call(self, declared: int) -> bool:
        """Whether an rpc declaring ``declared`` (an options_pb2.Caller) accepts this key; declaring none: no key."""
        if declared == CALLER_ANY:
            return True
        if declared == CALLER_SERVICE:
            return self.service
        if declared == CALLER_CRM:
            return not self.service and bool(self.tenant)
        return False


_current: ContextVar[Principal | None] = ContextVar("quoteflow_principal", default=None)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_key() -> str:
    return "qf_" + secrets.token_urlsafe(32)


def parse_api_keys(text: str) -> dict[str, str]:
    """``tenant:sha256`` pairs -> {sha256: tenant}."""
    keys: dict[str, str] = {}
    for item in text.replace("\n", ",").split(","):
        item = item.strip()
        if not item:
            continue
        tenant, sep, digest = item.rpartition(":")
        digest = digest.strip().lower()
        if not sep or not tenant.strip() or len(digest) != 64:
            raise ValueError(f"QUOTEFLOW_API_KEYS entry {item[:20]!r}… is not 'tenant:sha256'")
        keys[digest] = tenant.strip()
    return keys


class KeyStore(Protocol):
    def tenant_of(self, digest: str) -> str | None: ...


class KeyRing:
    """The service key, the static keys, then the key store (the service's own table), in that order."""

    def __init__(self, tenant_keys: dict[str, str], service_key: str = "", store: KeyStore | None = None):
        self._tenant_keys = tenant_keys
        self._service_hash = hash_key(service_key) if service_key else ""
        self._store = store

    @classmethod
    def from_config(cls, api_keys: str, service_key: str, store: KeyStore | None = None) -> "KeyRing":
        return cls(parse_api_keys(api_keys), service_key, store)

    def resolve(self, key: str) -> Principal | None:
        digest = hash_key(key)
        if self._service_hash and hmac.compare_digest(digest, self._service_hash):
            return Principal(tenant=None, service=True)
        tenant = self._tenant_keys.get(digest)
        if tenant is None and self._store is not None:
            tenant = self._store.tenant_of(digest)
        return Principal(tenant=tenant) if tenant else None


def bind(principal: Principal):
    return _current.set(principal)


def unbind(token) -> None:
    _current.reset(token)


def current() -> Principal:
    principal = _current.get()
    if principal is None:
        raise Unauthenticated("no API key was presented")
    return principal


def tenant(requested: str = "") -> str:
    """The tenant this call acts for: the key's own, or the one a service caller names."""
    principal = current()
    if principal.service:
        if not requested:
            raise InvalidArgument({"tenant_id": "is required for service callers"})
        return requested
    if requested and requested != principal.tenant:
        raise NotFound("no such tenant for this key")
    return principal.tenant
