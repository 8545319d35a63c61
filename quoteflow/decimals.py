"""Numbers on the wire: the one form every service reads a decimal string in (proto/quoteflow/v1/common.proto).

A number travels as text so no float rounds it, and in one form that no locale can misread: an optional
minus (only where the field allows negatives), ASCII digits, optionally a dot and more digits ("1500",
"1.5", "-20.00"). Everything else is refused rather than guessed: ``Decimal()`` alone reads "1e3", "+1",
".5", "NaN", "1_000" and Arabic-Indic or full-width digits, and a comma taken for a dot made "1,500" 1.5.
"""
from __future__ import annotations

import re
from decimal import Decimal

from quoteflow.errors import InvalidArgument

MAX_DECIMAL_CHARS = 40
HOW_TO_WRITE = 'write the number with a dot as the decimal mark and no thousands separator, e.g. "1500" or "1.5"'
_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_EXPONENT = re.compile(r"[-+]?[0-9.]+[eE][-+]?[0-9]+")
# What was written instead of the plain form, in the order a reader would notice it.
_HINTS = (
    (lambda t: "," in t, "has a comma"),
    (lambda t: any(c in "\n\r\u2028\u2029" for c in t), "has a line break"),
    (lambda t: any(c.isspace() for c in t), "has a space"),  # a no-break one too: U+00A0, U+202F
    (lambda t: "_" in t, "has an underscore"),
    (lambda t: t.strip().lower().lstrip("+-") in ("nan", "snan", "inf", "infinity"), "is not a finite number"),
    (lambda t: bool(_EXPONENT.fullmatch(t)), "has an exponent"),
    (lambda t: any(c.isdigit() and not "0" <= c <= "9" for c in t), "has digits other than 0-9"),
    (lambda t: t.startswith("+"), "has a plus sign"),
    (lambda t: t.lstrip("-").startswith(".") or t.endswith("."), "needs digits on both sides of the dot"),
)


def decimal_problem(text: str, *, negative: bool = False) -> str:
    """Why ``text`` is not a number in the wire form ('' when it is); ``negative``: the field takes a minus."""
    if not text:
        return "is required"
    if len(text) > MAX_DECIMAL_CHARS:
        return f"at most {MAX_DECIMAL_CHARS} characters"
    if _NUMBER.fullmatch(text):
        return "" if negative or not text.startswith("-") else "must not be negative"
    hint = next((why for applies, why in _HINTS if applies(text)), "is not a decimal number")
    return f"{text!r} {hint}: {HOW_TO_WRITE}"


def read_decimal(text: str, field: str, *, negative: bool = False) -> Decimal:
    """``text`` as the exact Decimal it writes; InvalidArgument naming ``field`` when it is not in the wire form."""
    problem = decimal_problem(text, negative=negative)
    if problem:
        raise InvalidArgument({field: problem})
    return Decimal(text)


def decimal_or_none(text: str) -> Decimal | None:
    """A number a service wrote itself (an event's total, a stored line), for display: None when absent or
    not in the wire form, so a page shows nothing rather than a misread figure."""
    return None if decimal_problem(text, negative=True) else Decimal(text)
