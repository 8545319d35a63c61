"""The one-line rule every service applies to a subject or a header (quoteflow.ids)."""
import pytest

from quoteflow.ids import has_line_break


@pytest.mark.parametrize("value", ["a\nb", "a\r", "\r\nb", "a\x0bb", "a\x0cb", "a\x1cb", "a\x85b", "a\u2028b",
                                   "a\u2029"])
def test_every_kind_of_line_break_counts_even_at_the_ends(value):
    assert has_line_break(value)


@pytest.mark.parametrize("value", ["", "Devis DV-1 – Acme", "tab\there", "Zoé « Accepté »", None])
def test_one_line_text_has_none(value):
    assert not has_line_break(value)
