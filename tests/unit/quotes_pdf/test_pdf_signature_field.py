"""The quote PDF carries an empty signature field over the blank part of its « Bon pour accord » box.

The signature service signs into that field (tests/integration/signature/test_seal_in_box.py), so the
signature shows where the client signs. Empty, the field draws nothing: the frozen quote looks as before.
"""

from __future__ import annotations

import io

import pypdf
import pypdfium2
import pytest

from services.quotes.adapters.pdf import MARGIN_X, PAGE_W, SIGNATURE_FIELD, render_quote_pdf
from tests.unit.quotes_pdf.snapshots import make_snapshot

TITLE = "Bon pour accord, date et signature"


def signature_fields(data: bytes) -> list[tuple[int, dict]]:
    """(page index, field dictionary) of every signature field of the form, found through /AcroForm /Fields."""
    reader = pypdf.PdfReader(io.BytesIO(data))
    pages = {page.indirect_reference.idnum: ix for ix, page in enumerate(reader.pages)}
    found = []
    for ref in reader.trailer["/Root"]["/AcroForm"]["/Fields"]:
        field = ref.get_object()
        if field.get("/FT") == "/Sig":
            found.append((pages[field.raw_get("/P").idnum], field))
    return found


def title_box(data: bytes, page_ix: int) -> tuple[float, float, float, float]:
    """(left, bottom, right, top) of the box's title, as pdfium reads the page."""
    pdf = pypdfium2.PdfDocument(data)
    text = pdf[page_ix].get_textpage()
    searcher = text.search(TITLE)
    start, count = searcher.get_next()
    boxes = [text.get_charbox(i) for i in range(start, start + count)]
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


@pytest.mark.parametrize("lines, page", [(3, "first"), (40, "last")])
def test_one_empty_signature_field_covers_the_blank_part_of_the_box(lines, page):
    data = render_quote_pdf(make_snapshot(lines))
    reader = pypdf.PdfReader(io.BytesIO(data))
    [(page_ix, field)] = signature_fields(data)
    assert page_ix == (0 if page == "first" else len(reader.pages) - 1)
    if page == "last":
        assert len(reader.pages) > 1
    assert field["/T"] == SIGNATURE_FIELD == "Signature"
    assert field["/Subtype"] == "/Widget" and field["/F"] == 4
    assert "/V" not in field and "/AP" not in field  # unsigned; draws nothing
    assert "/NeedAppearances" not in reader.trailer["/Root"]["/AcroForm"]
    # the widget is in its page's /Annots, and no other page has any
    for ix, p in enumerate(reader.pages):
        annots = [a.idnum for a in p.get("/Annots", [])]
        assert annots == ([field.indirect_reference.idnum] if ix == page_ix else [])
    x0, y0, x1, y1 = (float(v) for v in field["/Rect"])
    left, bottom, right, top = title_box(data, page_ix)
    assert x1 == pytest.approx(PAGE_W - MARGIN_X - 1) and left - 10 < x0 < left  # inside the box's borders
    assert bottom - 8 < y1 < bottom  # just under the title, never over it
    assert y1 - y0 > 60 and x1 - x0 > 230  # room for a name, a date and a drawn signature


def test_the_empty_field_draws_nothing():
    data = render_quote_pdf(make_snapshot(3))
    [(page_ix, field)] = signature_fields(data)
    x0, y0, x1, y1 = (float(v) for v in field["/Rect"])
    pdf = pypdfium2.PdfDocument(data)
    pdf.init_forms()  # pdfium draws form widgets only with a form environment
    image = pdf[page_ix].render(scale=1).to_pil().convert("L")
    height = image.height
    blank = image.crop((int(x0) + 2, int(height - y1) + 2, int(x1) - 2, int(height - y0) - 2))
    assert blank.getextrema()[0] > 240, "the unsigned field shows something"


def test_the_field_keeps_the_render_byte_identical():
    snapshot = make_snapshot(5)
    assert render_quote_pdf(snapshot) == render_quote_pdf(snapshot)
