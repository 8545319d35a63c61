"""Contacts' and users' addresses, and decimal input: refused at once with the field named, canonical when taken."""
import pytest

from quoteflow.errors import InvalidArgument
from services.quotes.domain import model
from services.quotes.domain.validation import Check


def refused(run) -> dict[str, str]:
    check = Check()
    run(check)
    with pytest.raises(InvalidArgument) as caught:
        check.done()
    return caught.value.violations


@pytest.mark.parametrize("address", ["a@b@example.fr", "a..b@example..fr", "a@b.c", "zoé@exemple.fr", "a b@x.fr"])
def test_an_address_the_notifier_cannot_deliver_to_is_refused_naming_the_field(address):
    violations = refused(lambda check: check.email(address, "email"))
    assert list(violations) == ["email"] and "is not an email address: " in violations["email"]


def test_the_refusal_of_an_accented_address_says_accents_are_not_accepted_before_the_at():
    why = refused(lambda check: check.email("zoé@exemple.fr", "email"))["email"]
    assert why == "'zoé@exemple.fr' is not an email address: accents and other non-ASCII characters are not " \
                  "accepted before the @"


def test_an_address_is_kept_as_written():
    check = Check()
    assert check.email("  chloe.lefevre@example.fr ", "email") == "chloe.lefevre@example.fr"
    assert check.email("zoe@exémple.fr", "email") == "zoe@exémple.fr"  # the notifier sends it as xn--exmple-cva
    assert check.email("", "email", required=False) == ""
    check.done()
    assert refused(lambda c: c.email("", "email")) == {"email": "is required"}
    assert refused(lambda c: c.email("a" * 250 + "@x.fr", "email")) == {"email": "at most 254 characters"}


@pytest.mark.parametrize("number, why", [
    ("+33 (0)6 12 34 56 78 poste 2", "only digits"),
    ("6 12 34 56 78", "a French number starts with 0"),
    ("1234", "a French number starts with 0"),
    ("06 12 34 56", "a French number has 10 digits"),
])
def test_a_number_that_would_be_misrouted_is_refused_naming_the_field(number, why):
    violations = refused(lambda check: check.phone(number, "mobile"))
    assert list(violations) == ["mobile"]
    assert violations["mobile"].startswith(f"{number!r} is not a phone number: ") and why in violations["mobile"]


def test_numbers_that_become_e164_are_kept_as_written():
    check = Check()
    for number in ("+33 (0)6 12 34 56 78", "0696 12 34 56", "06 12 34 56 78", "+1 (415) 555-0100", ""):
        assert check.phone(number, "phone") == number
    check.done()


@pytest.mark.parametrize("typed", ["1e1", "1E+1", "2.5e0", "1E2"])
def test_an_exponent_is_refused_naming_the_field(typed):
    why = refused(lambda check: check.decimal(typed, "vat_rate", places=2))["vat_rate"]
    assert why == f"{typed!r} has an exponent: write the number in full (like 10 or 0.5, not 1e1)"


@pytest.mark.parametrize("typed, why", [
    ("1_000", "is not a decimal number"), ("١٢", "is not a decimal number"), ("x", "is not a decimal number"),
    (".", "is not a decimal number"), ("NaN", "must be a finite number"), ("Infinity", "must be a finite number"),
])
def test_only_plain_decimal_text_is_a_number(typed, why):
    assert why in refused(lambda check: check.decimal(typed, "quantity", places=3))["quantity"]


@pytest.mark.parametrize("typed, trimmed, kept", [
    ("5.50", "5.5", "5.50"), ("5,5", "5.5", "5.5"), ("20.00", "20", "20.00"), ("100", "100", "100"),
    ("+7", "7", "7"), ("-0", "0", "0"), ("-0.00", "0", "0.00"), (".5", "0.5", "0.5"), ("007.10", "7.1", "7.10"),
])
def test_a_decimal_prints_canonically(typed, trimmed, kept):
    check = Check()
    assert str(check.decimal(typed, "x", places=2, trim_zeros=True)) == trimmed
    assert str(check.decimal(typed, "x", places=2)) == kept  # money keeps its cents as written
    check.done()


def test_a_line_parses_rates_quantities_and_discounts_canonically():
    line = model.Line.parse(0, description="Pose", quantity="2.500", unit_price="389.90", vat_rate="5.50",
                            discount_percent="10.00")
    assert (str(line.quantity), str(line.unit_price), str(line.vat_rate), str(line.discount_percent)) == \
        ("2.5", "389.90", "5.5", "10")
    assert [str(v.rate) for v in model.compute_totals([line]).vat] == ["5.5"]  # the VAT line's label
    with pytest.raises(InvalidArgument) as caught:
        model.Line.parse(3, description="x", quantity="1E+2", unit_price="1", vat_rate="1e1")
    assert set(caught.value.violations) == {"lines[3].quantity", "lines[3].vat_rate"}
    assert "exponent" in caught.value.violations["lines[3].quantity"]


def test_extra_vat_rates_never_print_with_an_exponent():
    check = Check()
    assert [str(r) for r in model.parse_extra_vat_rates(["30", "8.50", "30.0", "13,00"], check)] == \
        ["30", "8.5", "13"]
    check.done()
