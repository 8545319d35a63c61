"""Field checks that collect every violation of a request before raising one InvalidArgument."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Protocol

from quoteflow.addresses import email_problem, phone_problem
from quoteflow.decimals import decimal_problem
from quoteflow.errors import InvalidArgument
from quoteflow.ids import ID_MAX, has_control_characters, id_problem

_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


@dataclass(frozen=True)
class DecimalRule:
    """What a number field takes besides the wire form: its places, its range, what an empty string means
    (``default``; None: it is required) and whether zeros ending the fraction are dropped. Each rule is
    written beside its fields in proto/ (a test compares them)."""

    places: int
    minimum: Decimal
    maximum: Decimal
    default: str | None = None
    trim_zeros: bool = False


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

    def decimal(self, text: str, field: str, rule: DecimalRule) -> Decimal | None:
        """A number in the contract's one form (quoteflow.decimals) within ``rule``, printed canonically: no
        negative zero; with ``rule.trim_zeros`` no zeros ending the fraction either ('5.50' -> 5.5)."""
        if not text and rule.default is not None:
            text = rule.default
        problem = decimal_problem(text, negative=rule.minimum < 0)
        if problem:
            self.add(field, problem)
            return None
        value = Decimal(text)
        if -value.as_tuple().exponent > rule.places:
            self.add(field, f"at most {rule.places} decimal places")
        elif value < rule.minimum:
            self.add(field, f"must be at least {rule.minimum}")
        elif value > rule.maximum:
            self.add(field, f"must be at most {rule.maximum}")
        else:
            return canonical_decimal(value, trim_zeros=rule.trim_zeros)
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


def lookup_id(value: str) -> bool:
    """Whether ``value`` could be an id at all (a lookup of anything else is simply not found)."""
    return bool(value) and len(value) <= ID_MAX and not has_control_characters(value, allow_newlines=False)
