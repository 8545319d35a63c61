"""The wire form of a decimal: every other spelling is refused with what to send, every valid one is read exactly."""
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, strategies as st

from quoteflow.decimals import HOW_TO_WRITE, MAX_DECIMAL_CHARS, decimal_or_none, decimal_problem, read_decimal
from quoteflow.errors import InvalidArgument

ASCII_DIGITS = "0123456789"


def in_grammar(text: str) -> bool:
    """The contract's grammar, spelled out without a regex: [-] digits [. digits]."""
    whole, dot, fraction = text.removeprefix("-").partition(".")
    digits = lambda part: bool(part) and all(c in ASCII_DIGITS for c in part)  # noqa: E731
    return digits(whole) and (not dot or digits(fraction))


# Characters a CRM, a spreadsheet or a locale might put in a number, and a few that only look like digits.
NEAR_NUMBERS = st.lists(st.sampled_from(list("0123456789.,-+eE _'\u00a0\u202f١٢１۳\n²") + ["NaN", "inf"]),
                        max_size=12).map("".join)
VALID = st.builds(lambda minus, whole, fraction: minus + whole + (f".{fraction}" if fraction else ""),
                  st.sampled_from(["", "-"]), st.text(ASCII_DIGITS, min_size=1, max_size=15),
                  st.text(ASCII_DIGITS, max_size=15))


@given(st.one_of(NEAR_NUMBERS, st.text(max_size=MAX_DECIMAL_CHARS)))
def test_a_text_is_taken_exactly_when_it_is_in_the_grammar(text):
    assert (decimal_problem(text, negative=True) == "") == in_grammar(text)
    assert (decimal_problem(text) == "") == (in_grammar(text) and not text.startswith("-"))
    if not in_grammar(text):
        with pytest.raises(InvalidArgument) as caught:
            read_decimal(text, "lines[0].quantity", negative=True)
        assert list(caught.value.violations) == ["lines[0].quantity"]
        assert decimal_or_none(text) is None


@given(VALID)
def test_a_valid_text_round_trips_exactly(text):
    value = read_decimal(text, "x", negative=True)
    assert Fraction(value) == Fraction(text)  # no rounding, whatever the context's precision
    whole = text.removeprefix("-").partition(".")[0]
    if whole == "0" or not whole.startswith("0"):
        assert str(value) == text  # the same digits, trailing zeros and sign included
    assert decimal_or_none(text) == value


@pytest.mark.parametrize("text, hint", [
    ("1,500", "has a comma"), ("1 500", "has a space"), ("1\u00a0500", "has a space"),
    ("1\u202f500", "has a space"), (" 1500", "has a space"), ("1500\n", "has a line break"),
    ("1e3", "has an exponent"), ("1E+3", "has an exponent"), ("١٢", "has digits other than 0-9"),
    ("１", "has digits other than 0-9"), ("+1", "has a plus sign"), (".5", "needs digits on both sides of the dot"),
    ("1.", "needs digits on both sides of the dot"), ("-.5", "needs digits on both sides of the dot"),
    ("NaN", "is not a finite number"),
    ("Infinity", "is not a finite number"), ("-inf", "is not a finite number"), ("1_000", "has an underscore"),
    ("1.2.3", "is not a decimal number"), ("0x10", "is not a decimal number"), ("--1", "is not a decimal number"),
])
def test_each_other_spelling_is_refused_saying_what_to_send(text, hint):
    why = decimal_problem(text, negative=True)
    assert why == f"{text!r} {hint}: {HOW_TO_WRITE}"


def test_empty_long_and_negative_texts_say_so():
    assert decimal_problem("") == "is required"
    assert decimal_problem("1" * (MAX_DECIMAL_CHARS + 1)) == f"at most {MAX_DECIMAL_CHARS} characters"
    assert decimal_problem("-1") == "must not be negative"
    assert read_decimal("-20.00", "unit_price", negative=True) == Decimal("-20.00")
    assert decimal_or_none("") is None
