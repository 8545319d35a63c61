"""A quote's numbers: only the wire form is read (quoteflow.decimals), within each field's places and range,
and printed canonically; an empty quantity or discount keeps meaning 1 and 0."""
from decimal import Decimal

import pytest
from hypothesis import given, strategies as st

from quoteflow.decimals import HOW_TO_WRITE
from quoteflow.errors import InvalidArgument
from services.quotes.domain import model
from services.quotes.domain.validation import Check


def line_refusal(**fields) -> dict[str, str]:
    values = dict(description="Pose", quantity="1", unit_price="10", vat_rate="20") | fields
    with pytest.raises(InvalidArgument) as caught:
        model.Line.parse(0, **values)
    return caught.value.violations


@pytest.mark.parametrize("typed", ["1,500", "1 500", "1e3", "١٢", "+1", ".5", "1.", "NaN", "１", "1_000", " 2"])
def test_a_quantity_in_another_form_is_refused_naming_the_line_and_saying_what_to_send(typed):
    why = line_refusal(quantity=typed)["lines[0].quantity"]
    assert why.startswith(repr(typed)) and why.endswith(HOW_TO_WRITE)


@pytest.mark.parametrize("name", ["unit_price", "discount_percent", "vat_rate"])
def test_every_number_of_a_line_takes_only_the_wire_form(name):
    assert line_refusal(**{name: "12,5"}) == {f"lines[0].{name}": f"'12,5' has a comma: {HOW_TO_WRITE}"}


def test_a_minus_is_read_only_where_a_negative_is_allowed():
    assert line_refusal(quantity="-1") == {"lines[0].quantity": "must not be negative"}
    assert line_refusal(discount_percent="-0") == {"lines[0].discount_percent": "must not be negative"}
    credit = model.Line.parse(0, description="Avoir", quantity="1", unit_price="-20.00", vat_rate="20")
    assert credit.unit_price == Decimal("-20.00") and credit.total_ht == Decimal("-20.00")


def test_empty_keeps_its_meaning_quantity_one_discount_zero_price_and_rate_required():
    line = model.Line.parse(0, description="Pose", quantity="", unit_price="10", vat_rate="20", discount_percent="")
    assert (line.quantity, line.discount_percent) == (Decimal(1), Decimal(0))
    assert line_refusal(unit_price="", vat_rate="") == {"lines[0].unit_price": "is required",
                                                        "lines[0].vat_rate": "is required"}


def test_places_and_ranges_are_those_the_contract_states():
    assert line_refusal(quantity="1.0005") == {"lines[0].quantity": "at most 3 decimal places"}
    assert line_refusal(unit_price="1.005") == {"lines[0].unit_price": "at most 2 decimal places"}
    assert line_refusal(quantity="0") == {"lines[0].quantity": "must be at least 0.001"}
    assert line_refusal(discount_percent="100.01") == {"lines[0].discount_percent": "must be at most 100"}


@pytest.mark.parametrize("typed, rule, printed", [
    ("5.50", model.VAT_RATE, "5.5"), ("20.00", model.VAT_RATE, "20"), ("100", model.DISCOUNT_PERCENT, "100"),
    ("007.10", model.VAT_RATE, "7.1"), ("5.50", model.UNIT_PRICE, "5.50"), ("-0", model.UNIT_PRICE, "0"),
    ("-0.00", model.UNIT_PRICE, "0.00"), ("2.500", model.QUANTITY, "2.5"),
])
def test_a_decimal_prints_canonically(typed, rule, printed):
    check = Check()
    assert str(check.decimal(typed, "x", rule)) == printed  # money keeps its cents as written
    check.done()


def test_extra_vat_rates_take_the_wire_form_and_print_canonically():
    check = Check()
    assert [str(r) for r in model.parse_extra_vat_rates(["30", "8.50", "30.0"], check)] == ["30", "8.5"]
    check.done()
    assert model.parse_extra_vat_rates(["13,00"], check) == ()
    assert check.violations == {"extra_vat_rates[0]": f"'13,00' has a comma: {HOW_TO_WRITE}"}


@given(st.decimals(min_value=Decimal("-10000000"), max_value=Decimal("10000000"), places=2, allow_nan=False))
def test_any_price_the_contract_allows_round_trips_exactly(price):
    text = f"{price:f}"
    line = model.Line.parse(0, description="x", quantity="1", unit_price=text, vat_rate="20")
    assert line.unit_price == price and str(line.unit_price) == ("0.00" if price.is_zero() else text)
