"""The lines' canonical form and SHA-256 (domain/purchase.py), and how a request chains them."""
import hashlib
from decimal import Decimal

import pytest

from services.signature.domain import purchase
from tests.unit.signature.builders import request

LINE = {"description": "Pompe à chaleur", "product_ref": "PAC-12", "quantity": "1.50", "unit": "u",
        "unit_price": "8500.00", "discount_percent": "0", "vat_rate": "5.5", "total_ht": "12750.00"}


def lines(**line) -> dict:
    return purchase.snapshot(lines=[{**LINE, **line}], optional_lines=[], currency="EUR",
                             totals={"total_ht": "12750.00", "total_vat": "701.25", "total_ttc": "13451.25"},
                             vat=[{"rate": "5.5", "base_ht": "12750.00", "vat": "701.25"}])


def reordered(value):
    """The same JSON value with every object's keys in reverse order."""
    if isinstance(value, dict):
        return {key: reordered(value[key]) for key in reversed(list(value))}
    if isinstance(value, list):
        return [reordered(inner) for inner in value]
    return value


def test_the_hash_is_the_sha256_of_sorted_key_json_in_utf8():
    text = purchase.canonical_text(lines())
    assert text.startswith('{"currency":"EUR","format":"quoteflow-lines/1","lines":[{"description":"Pompe à chaleur"')
    assert purchase.lines_sha256(lines()) == hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_the_hash_does_not_depend_on_key_order():
    snapshot = lines()
    assert list(reordered(snapshot)) != list(snapshot)
    assert purchase.lines_sha256(reordered(snapshot)) == purchase.lines_sha256(snapshot)


def test_decimals_are_kept_as_the_contract_writes_them_and_never_read_as_numbers():
    assert '"quantity":"1.50"' in purchase.canonical_text(lines())
    assert purchase.lines_sha256(lines(quantity="1.5")) != purchase.lines_sha256(lines())
    for not_text in (1.5, Decimal("1.50"), 2):
        with pytest.raises(purchase.NotCanonical, match=r"lines\.lines\[0\]\.quantity"):
            purchase.canonical_text(lines(quantity=not_text))


def test_any_changed_line_field_changes_the_hash():
    reference = purchase.lines_sha256(lines())
    for field, value in (("description", "Pompe à chaleur 16 kW"), ("unit_price", "8500.01"), ("quantity", "2"),
                         ("discount_percent", "5"), ("vat_rate", "10")):
        assert purchase.lines_sha256(lines(**{field: value})) != reference, field


def test_a_request_chains_the_hash_of_its_lines_and_its_proof_carries_them():
    opened = request(lines=lines())
    assert opened.evidence[0].data["lines_sha256"] == purchase.lines_sha256(lines())
    assert purchase.check(lines(), opened.evidence) == purchase.lines_sha256(lines())
    with pytest.raises(purchase.LinesAltered, match="quote lines were altered"):
        purchase.check(lines(quantity="3"), opened.evidence)
    with pytest.raises(purchase.LinesAltered, match="were removed"):
        purchase.check(None, opened.evidence)


def test_a_request_without_lines_chains_none_and_refuses_lines_added_later():
    opened = request()
    assert "lines_sha256" not in opened.evidence[0].data and opened.lines is None
    assert purchase.check(None, opened.evidence) == ""
    with pytest.raises(purchase.LinesAltered, match="holds no lines_sha256"):
        purchase.check(lines(), opened.evidence)
