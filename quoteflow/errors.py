"""Errors a command can end with. Pure Python: domains raise them, entrypoints map them."""
from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType


class DomainError(Exception):
    """Base of every error a caller is meant to see.

    ``reason`` (UPPER_SNAKE_CASE) and ``info`` make a refusal machine-readable where one status covers
    several cases a caller treats apart (a wrong one-time code, an expired one, one asked too soon): they
    travel as a ``google.rpc.ErrorInfo`` in the gRPC status details (quoteflow/grpcserver.py).
    """

    reason: str = ""
    info: Mapping[str, str] = MappingProxyType({})

    def __init__(self, *args, reason: str = "", info: Mapping | None = None):
        super().__init__(*args)
        if reason:  # else the class's (a subclass may have set its own already)
            self.reason = reason
        if info:
            self.info = {str(k): str(v) for k, v in info.items()}


class NotFound(DomainError):
    pass


class InvalidArgument(DomainError):
    """One or more fields are wrong; ``violations`` maps each field to what is wrong with it."""

    def __init__(self, violations: dict[str, str] | str, message: str = "", *, reason: str = "",
                 info: Mapping | None = None):
        if isinstance(violations, str):
            violations = {violations: message or "is invalid"}
        self.violations = dict(violations)
        text = message or "; ".join(f"{field}: {why}" for field, why in self.violations.items())
        super().__init__(text, reason=reason, info=info)


class FailedPrecondition(DomainError):
    """The request is well formed but a rule forbids it now; the message names the rule."""


class ResourceExhausted(DomainError):
    """Too many requests of this kind for now (e.g. a code asked too soon); the message says when to retry."""


class Conflict(DomainError):
    """Someone else changed the same thing first (e.g. a concurrent signature)."""


class Unauthenticated(DomainError):
    pass


class PermissionDenied(DomainError):
    pass


class DataLoss(DomainError):
    """Stored data was found corrupted or altered (DATA_LOSS): nothing is done with it, nothing is served."""
