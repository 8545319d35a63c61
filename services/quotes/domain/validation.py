"""Field checks that collect every violation of a request before raising one InvalidArgument."""
from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Protocol

from quoteflow.addresses import email_problem, phone_problem
from quoteflow.errors import InvalidArgument
from quoteflow.ids import ID_MAX, has_control_characters, id_problem

_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")


class Printable(Protocol):
    """What the PDFs can print, read from their fonts by an adapter (quoteflow.typeset.FontChain)."""

    def unprintable(self, text: str) -> str:
        """Why the first character of ``text`` no PDF can print cannot be printed; '' when all can."""


class Check:
    """``check = Check(); x = check.text(...); ...; check.done()`` raises with every field named.

    ``printable``: the PDFs' rule for the texts checked with ``printed=True`` (the handlers pass the one
    bootstrap gives them; without it those texts are checked for everything else).
    """

    def __init__(self, prefix: str = "", printable: Printable | None = None):
        self.prefix = prefix
        self.printable = printable
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
             single_line: bool = False, printed: bool = False) -> str:
        """``printed``: the text goes into a PDF, so each of its characters must be printable there."""
        value = (value or "").strip()
        if required and not value:
            self.add(field, "is required")
        elif len(value) > maximum:
            self.add(field, f"at most {maximum} characters")
        elif has_control_characters(value, allow_newlines=not single_line):
            self.add(field, "must be a single line without control characters" if single_line
                     else "contains control characters")
        elif printed and self.printable is not None:
            problem = self.printable.unprintable(value)
            if problem:
                self.add(field, problem)
        return value

    def ident(self, value: str, field: str, *, required: bool = True) -> str:
        """A CRM id: 1 to 64 printable characters, no spaces around."""
        value = value or ""
        problem = id_problem(value)
        if problem and (value or required):
            self.add(field, problem)
        return value

    def email(self, value: str, field: str, *, required: bool = True) -> str:
        """An address the notifier can deliver to (quoteflow.addresses), kept as written."""
        value = self.text(value, field, maximum=254, required=required, single_line=True)
        if value and field not in self.violations:
            problem = email_problem(value)
            if problem:
                self.add(field, f"{value[:80]!r} is not an email address: {problem}")
        return value

    def phone(self, value: str, field: str) -> str:
        """A number that becomes E.164 (quoteflow.addresses), kept as written: the notifier normalises it
        when it sends, so numbers stored before this check still work."""
        value = self.text(value, field, maximum=40, single_line=True)
        if value and field not in self.violations:
            problem = phone_problem(value)
            if problem:
                self.add(field, f"{value!r} is not a phone number: {problem}")
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
                maximum: Decimal | None = None, default: str | None = None,
                trim_zeros: bool = False) -> Decimal | None:
        """Plain decimal text (a comma for the dot is fine), never an exponent. The value prints in
        canonical form: no exponent, no '+', no negative zero; ``trim_zeros`` also drops the zeros that end
        the fraction (rates and quantities: '5.50' -> 5.5, '20.0' -> 20)."""
        raw = (text or "").strip().replace(",", ".")
        if raw == "" and default is not None:
            raw = default
        if len(raw) > 40:
            self.add(field, "is not a decimal number")
            return None
        if not _DECIMAL.fullmatch(raw):
            self.add(field, _not_decimal(raw, (text or "")[:40]))
            return None
        value = Decimal(raw)
        if -value.as_tuple().exponent > places:
            self.add(field, f"at most {places} decimal places")
        elif minimum is not None and value < minimum:
            self.add(field, f"must be at least {minimum}")
        elif maximum is not None and value > maximum:
            self.add(field, f"must be at most {maximum}")
        else:
            return canonical_decimal(value, trim_zeros=trim_zeros)
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


def canonical_decimal(value: Decimal, *, trim_zeros: bool = False) -> Decimal:
    """``value`` as it should print: never an exponent or a negative zero; without the zeros ending its
    fraction when ``trim_zeros``."""
    if trim_zeros:
        value = value.normalize()
        if value.as_tuple().exponent > 0:
            value = value.quantize(Decimal(1))  # 1E+1 -> 10
    return value.copy_abs() if value.is_zero() else value


def _not_decimal(raw: str, typed: str) -> str:
    try:
        value = Decimal(raw)
    except InvalidOperation:
        return f"{typed!r} is not a decimal number"
    if not value.is_finite():
        return "must be a finite number"
    if "e" in raw.lower():
        return f"{typed!r} has an exponent: write the number in full (like 10 or 0.5, not 1e1)"
    return f"{typed!r} is not a decimal number (digits 0-9 and one dot or comma)"


def lookup_id(value: str) -> bool:
    """Whether ``value`` could be an id at all (a lookup of anything else is simply not found)."""
    return bool(value) and len(value) <= ID_MAX and not has_control_characters(value, allow_newlines=False)
