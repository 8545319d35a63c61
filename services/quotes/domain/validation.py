"""Field checks that collect every violation of a request before raising one InvalidArgument."""
from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation

from quoteflow.errors import InvalidArgument

_PHONE = re.compile(r"^\+?[0-9 ().\-/]{4,40}$")
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


def has_control_characters(value: str, *, allow_newlines: bool = True) -> bool:
    allowed = "\n\t\r" if allow_newlines else ""
    return any((ord(c) < 32 and c not in allowed) or 0x7F <= ord(c) < 0xA0 or c in "\u2028\u2029"
               for c in value)


class Check:
    """``check = Check(); x = check.text(...); ...; check.done()`` raises with every field named."""

    def __init__(self, prefix: str = ""):
        self.prefix = prefix
        self.violations: dict[str, str] = {}

    def add(self, field: str, why: str) -> None:
        self.violations.setdefault(self.prefix + field, why)

    def merge(self, error: InvalidArgument) -> None:
        for field, why in error.violations.items():
            self.violations.setdefault(field, why)

    def done(self) -> None:
        if self.violations:
            raise InvalidArgument(self.violations)

    def text(self, value: str, field: str, *, maximum: int, required: bool = False,
             single_line: bool = False) -> str:
        value = (value or "").strip()
        if required and not value:
            self.add(field, "is required")
        elif len(value) > maximum:
            self.add(field, f"at most {maximum} characters")
        elif has_control_characters(value, allow_newlines=not single_line):
            self.add(field, "must be a single line without control characters" if single_line
                     else "contains control characters")
        return value

    def ident(self, value: str, field: str, *, required: bool = True) -> str:
        """A CRM id: 1 to 64 printable characters, no spaces around."""
        value = value or ""
        if not value:
            if required:
                self.add(field, "is required")
            return ""
        if len(value) > 64:
            self.add(field, "at most 64 characters")
        elif value != value.strip() or has_control_characters(value, allow_newlines=False):
            self.add(field, "must be printable characters without surrounding spaces")
        return value

    def email(self, value: str, field: str, *, required: bool = True) -> str:
        value = self.text(value, field, maximum=320, required=required, single_line=True)
        if value and field not in self.violations:
            local, at, domain = value.rpartition("@")
            if (not at or not local or "." not in domain or domain.startswith(".") or domain.endswith(".")
                    or any(c in value for c in " <>,;:\"()[]\\")):
                self.add(field, f"{value!r} is not an email address")
        return value

    def phone(self, value: str, field: str) -> str:
        value = self.text(value, field, maximum=40, single_line=True)
        if value and field not in self.violations:
            if not _PHONE.match(value) or sum(c.isdigit() for c in value) < 4:
                self.add(field, f"{value!r} is not a phone number")
        return value

    def iso_date(self, value: str, field: str, *, required: bool = False) -> date | None:
        value = (value or "").strip()
        if not value:
            if required:
                self.add(field, "is required")
            return None
        try:
            if len(value) != 10:
                raise ValueError
            return date.fromisoformat(value)
        except ValueError:
            self.add(field, f"{value[:40]!r} is not an ISO date (YYYY-MM-DD)")
            return None

    def decimal(self, text: str, field: str, *, places: int, minimum: Decimal | None = None,
                maximum: Decimal | None = None, default: str | None = None) -> Decimal | None:
        raw = (text or "").strip().replace(",", ".")
        if raw == "" and default is not None:
            raw = default
        if len(raw) > 40:
            self.add(field, "is not a decimal number")
            return None
        try:
            value = Decimal(raw)
        except InvalidOperation:
            self.add(field, f"{(text or '')[:40]!r} is not a decimal number")
            return None
        if not value.is_finite():
            self.add(field, "must be a finite number")
        elif -value.as_tuple().exponent > places:
            self.add(field, f"at most {places} decimal places")
        elif minimum is not None and value < minimum:
            self.add(field, f"must be at least {minimum}")
        elif maximum is not None and value > maximum:
            self.add(field, f"must be at most {maximum}")
        else:
            return value
        return None

    def color(self, value: str, field: str) -> str:
        value = (value or "").strip()
        if value and not _COLOR.match(value):
            self.add(field, f"{value[:20]!r} is not a #rrggbb colour")
            return ""
        return value.lower()

    def choice(self, value: str, field: str, choices: tuple[str, ...]) -> str:
        if value not in choices:
            self.add(field, f"{value[:20]!r} is not one of {', '.join(repr(c) for c in choices)}")
        return value


def lookup_id(value: str) -> bool:
    """Whether ``value`` could be an id at all (a lookup of anything else is simply not found)."""
    return bool(value) and len(value) <= 64 and not has_control_characters(value, allow_newlines=False)
