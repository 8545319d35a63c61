"""What the client agreed to buy: the frozen lines and totals of the version sent, in ONE canonical form. Pure Python.

The request's first evidence entry ("sent") holds ``lines_sha256``, the SHA-256 of :func:`canonical_text`: the
snapshot as sorted-key JSON without spaces, UTF-8, every figure the contract's decimal string exactly as quotes
wrote it ("1.50" stays "1.50": no number is ever re-read, so none is rounded). The snapshot itself travels in
the proof file, which says what was bought even when the quote PDF is lost; a snapshot that does not hash to the
chained value was altered.

Requests opened before the lines entered the chain have no ``lines_sha256``: their proof says so, and verifies.
"""
from __future__ import annotations

from services.signature.domain import evidence

FORMAT = "quoteflow-lines/1"
LINE_FIELDS = ("description", "product_ref", "quantity", "unit", "unit_price", "discount_percent", "vat_rate",
               "total_ht")
VAT_FIELDS = ("rate", "base_ht", "vat")
TOTAL_FIELDS = ("total_ht", "total_vat", "total_ttc")
CHAIN_KEY = "lines_sha256"   # where the "sent" entry's data keeps the hash


class NotCanonical(ValueError):
    """A snapshot with a value that is not text (a float would round): it has no canonical form."""


class LinesAltered(ValueError):
    """A proof's lines do not hash to the value its evidence chain holds; the message says how."""


def snapshot(*, lines: list[dict], optional_lines: list[dict], totals: dict, vat: list[dict], currency: str) -> dict:
    """The canonical snapshot: each line and VAT amount reduced to its known fields, each value as given (text)."""
    def line(values: dict) -> dict:
        return {name: values.get(name, "") for name in LINE_FIELDS}

    return {
        "format": FORMAT,
        "currency": currency or "EUR",
        "lines": [line(values) for values in lines],
        "optional_lines": [line(values) for values in optional_lines],
        "totals": {**{name: totals.get(name, "") for name in TOTAL_FIELDS},
                   "vat": [{name: amount.get(name, "") for name in VAT_FIELDS} for amount in vat]},
    }


def _check_text(value, where: str) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            _check_text(inner, f"{where}.{key}")
    elif isinstance(value, list):
        for position, inner in enumerate(value):
            _check_text(inner, f"{where}[{position}]")
    elif not isinstance(value, str):
        raise NotCanonical(f"{where} is {type(value).__name__}: every value of the lines is text, decimals as "
                           "the contract writes them")


def canonical_text(lines: dict) -> str:
    """Sorted-key JSON, no spaces, characters as themselves (UTF-8 once encoded): what ``lines_sha256`` hashes."""
    _check_text(lines, "lines")
    return evidence.canonical_json(lines)


def lines_sha256(lines: dict) -> str:
    return evidence.sha256_text(canonical_text(lines))


def chained_sha256(chain: list[evidence.Entry]) -> str:
    """The ``lines_sha256`` the chain's first entry holds; "" for a request opened before lines were chained."""
    return str(chain[0].data.get(CHAIN_KEY, "")) if chain else ""


def check(lines: dict | None, chain: list[evidence.Entry]) -> str:
    """The chained SHA-256 ``lines`` hash to ("" when neither chain nor proof has lines); else LinesAltered."""
    chained = chained_sha256(chain)
    if not chained:
        if lines:
            raise LinesAltered("the proof shows quote lines but its evidence chain holds no lines_sha256: "
                               "they were added to the proof")
        return ""
    if not lines:
        raise LinesAltered(f"the evidence chain holds lines_sha256 {chained} but the proof shows no quote lines: "
                           "they were removed from the proof")
    try:
        actual = lines_sha256(lines)
    except NotCanonical as exc:
        raise LinesAltered(f"the proof's quote lines were altered: {exc}") from None
    if actual != chained:
        raise LinesAltered(f"the proof's quote lines were altered (a description, quantity, price or total differs "
                           f"from what was sent): their SHA-256 is {actual}, the evidence chain (entry 1, "
                           f"{CHAIN_KEY}) holds {chained}")
    return chained
