"""Errors a command can end with. Pure Python: domains raise them, entrypoints map them."""
from __future__ import annotations


class DomainError(Exception):
    """Base of every error a caller is meant to see."""


class NotFound(DomainError):
    pass


class InvalidArgument(DomainError):
    """One or more fields are wrong; ``violations`` maps each field to what is wrong with it."""

    def __init__(self, violations: dict[str, str] | str, message: str = ""):
        if isinstance(violations, str):
            violations = {violations: message or "is invalid"}
        self.violations = dict(violations)
        text = message or "; ".join(f"{field}: {why}" for field, why in self.violations.items())
        super().__init__(text)


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
