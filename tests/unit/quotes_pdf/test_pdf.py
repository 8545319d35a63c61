"""The quote PDF, rendered with borb and read back with pypdf."""

from __future__ import annotations

import io
import re
import signal

import pypdf
import pytest

from quoteflow import typeset
from services.quotes.adapters import pdf as pdf_adapter
from services.quotes.adapters.pdf import render_quote_pdf
from tests.unit.quotes_pdf.snapshots import eur, make_snapshot, pdf_pages


@pytest.fixture(scope="module")
def small():
    snapshot = make_snapshot(20)
    return snapshot, render_quote_pdf(snapshot)


def test_twenty_lines_print_the_quote_in_french(small):
    snapshot, data = small
    assert data.startswith(b"%PDF-")
    pages = pdf_pages(data)
    text = "\n".join(pages)
    n = len(pages)
    assert f"Devis {snapshot.number}" in text
    assert "Page 1 / %d" % n in pages[0]
    assert f"Page {n} / {n}" in pages[-1]
    assert "29 novembre 2026" in text and "29 décembre 2026" in text
    # company, client, salesperson blocks
    for expected in (
        "Réseaux & Cœurs SAS",
        "SIRET : 123 456 789 00012",
        "N° TVA : FR12 123456789",
        "Bœuf & Œufs SARL",
        "69002 Lyon",
        "Hélène Lefèvre",
        "helene@boeuf-oeufs.fr",
        "François Çelik",
        "francois@reseaux-coeurs.fr",
        "Bon pour accord, date et signature",
        "Paiement à 30 jours",
    ):
        assert expected in text, expected
    # œ, €, the em dash and the user's markup printed literally
    assert "Cœur de réseau — €uro <b>test</b> n°1" in text
    # totals the test computed itself, formatted the French way
    totals = snapshot.totals
    assert "1 234,56 €" == eur("1234.56")
    for amount in (totals.total_ht, totals.total_vat, totals.total_ttc):
        assert eur(amount) in text, amount
    assert re.search(r"Total TTC\s*" + re.escape(eur(totals.total_ttc)), text)
    # VAT breakdown: base and VAT per rate, rates like "5,5 %"
    assert "5,5 %" in text and "2,1 %" in text
    for vat in totals.vat:
        assert eur(vat.base_ht) in text and eur(vat.vat) in text
    first = snapshot.lines[0]
    assert eur(first.unit_price) in text and eur(first.total_ht) in text


def test_an_embedded_subset_font_carries_the_text(small):
    _, data = small
    assert b"/FontFile2" in data
    reader = pypdf.PdfReader(io.BytesIO(data))
    fonts = {}
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            fonts[font["/BaseFont"]] = font
    assert len(fonts) == 2  # regular and bold
    for base_name, font in fonts.items():
        assert re.fullmatch(r"/[A-Z]{6}\+DejaVuSans(-Bold)?", base_name)
        descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"]
        font_file = descriptor["/FontFile2"].get_object().get_data()
        full = (typeset.SANS_BOLD if "Bold" in base_name else typeset.SANS).stat().st_size
        assert 1000 < len(font_file) < full // 5  # subset, not the whole font
        assert "/ToUnicode" in font
        # /W lists only the glyphs this document prints, each with a real width
        widths = glyph_widths(font["/DescendantFonts"][0].get_object()["/W"])
        assert 20 < len(widths) < 150 and all(w > 0 for cid, w in widths.items() if cid)


def glyph_widths(w_array) -> dict[int, float]:
    """{glyph id: width} from a CIDFont's /W, in both its forms: ``c [w1 w2 …]`` and ``c_first c_last w``.

    Which form a run takes, and whether its array is written in place or as an indirect object (the
    writer shares equal arrays), depends on the text printed: a count of the direct arrays alone
    varied with the quote's random number and fell to 20 in one run in many."""
    items, widths, i = [item.get_object() for item in w_array], {}, 0
    while i < len(items):
        if isinstance(items[i + 1], list):
            widths.update((int(items[i]) + k, float(w)) for k, w in enumerate(items[i + 1]))
            i += 2
        else:
            widths.update((cid, float(items[i + 2])) for cid in range(int(items[i]), int(items[i + 1]) + 1))
            i += 3
    return widths


def test_rendering_is_byte_identical_for_the_same_snapshot():
    snapshot = make_snapshot(3)
    first = render_quote_pdf(snapshot)
    assert render_quote_pdf(snapshot) == first
    snapshot.totals.total_ttc = "1.00"
    assert render_quote_pdf(snapshot) != first


def test_odd_user_text_is_printed_not_interpreted():
    snapshot = make_snapshot(2)
    snapshot.lines[0].description = "Parenthèse ( \\ ) %% /Name <</Type>> 😀 fin\nligne\tdeux"
    snapshot.company.name = "Ça (coûte) \\ 100 %"
    snapshot.terms = ""
    snapshot.title = ""
    text = " ".join(" ".join(pdf_pages(render_quote_pdf(snapshot))).split())
    assert "Parenthèse ( \\ ) %% /Name <</Type>> 😀 fin ligne deux" in text
    assert "Ça (coûte) \\ 100 %" in text
    assert "\ufffd" not in text


def test_empty_snapshot_still_renders():
    from quoteflow.v1 import common_pb2

    text = "\n".join(pdf_pages(render_quote_pdf(common_pb2.QuoteSnapshot(number="D-0"))))
    assert "Devis D-0" in text and "Page 1 / 1" in text


def test_formatting_helpers():
    assert pdf_adapter.money("1234.56") == "1\u202f234,56\u00a0€"
    assert pdf_adapter.percent("5.5") == "5,5\u202f%"
    assert pdf_adapter.percent("20") == "20\u202f%"
    assert pdf_adapter.quantity("2.500") == "2,5"
    assert pdf_adapter.french_date("2026-11-29") == "29 novembre 2026"
    with pytest.raises(ValueError, match="amount"):
        pdf_adapter.money("12,5")


def test_borb_is_opted_out_and_keeps_the_signal_handlers(small):
    from borb.pdf import Chunk, UsageStatistics

    before = (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM))
    render_quote_pdf(make_snapshot(1))
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before
    assert UsageStatistics._UsageStatistics__HAS_OPTED_IN is False
    assert UsageStatistics._UsageStatistics__QUEUE == []
    # borb's functools caches would otherwise keep every laid-out element alive
    assert Chunk.get_size.cache_info().currsize == 0


def test_concurrent_renders_match_sequential_ones():
    from concurrent.futures import ThreadPoolExecutor

    snapshots = [make_snapshot(8) for _ in range(4)]
    expected = [render_quote_pdf(s) for s in snapshots]
    with ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(render_quote_pdf, snapshots)) == expected


def _logo_png() -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (900, 300), (0, 0, 0, 0))
    ImageDraw.Draw(image).ellipse((10, 10, 290, 290), fill=(200, 30, 60, 255))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def test_logo_colour_optional_products_and_documents_are_printed():
    from quoteflow.v1 import common_pb2

    snapshot = make_snapshot(4)
    snapshot.branding.color = "#F5D000"  # too light for white text: darkened until readable
    snapshot.optional_lines.append(common_pb2.QuoteLine(
        description="Extension de garantie — 3 ans", quantity="1", unit="u", unit_price="199.00",
        discount_percent="0", vat_rate="20", total_ht="199.00", product_ref="GAR-3"))
    snapshot.documents.append(common_pb2.Attachment(name="Fiche technique œuvre.pdf", content_type="application/pdf",
                                                    sha256="a" * 64, size=10))
    logo = _logo_png()
    data = render_quote_pdf(snapshot, logo=logo)
    assert render_quote_pdf(snapshot, logo=logo) == data  # still byte-identical
    reader = pypdf.PdfReader(io.BytesIO(data))
    [image] = reader.pages[0].images
    assert image.image.width <= 2 * pdf_adapter.LOGO_BOX[0]  # scaled down, not embedded at full size
    text = "\n".join(pdf_pages(data))
    options = text.index("Produits optionnels")
    assert text.index("Total TTC") < options < text.index("Bon pour accord")
    assert "Extension de garantie — 3 ans" in text[options:] and "Non compris dans le total" in text
    assert eur(snapshot.totals.total_ttc) in text  # the options' 199 € are in no total
    assert "Documents joints" in text and "Fiche technique œuvre.pdf" in text
    accent = pdf_adapter.accent_color("#F5D000").to_rgb_color()
    rgb = tuple(c / 255 for c in (accent.get_red(), accent.get_green(), accent.get_blue()))
    white_on_accent = 1.05 / (pdf_adapter._luminance(tuple(round(c * 255) for c in rgb)) + 0.05)
    assert white_on_accent >= 4.5
    assert pdf_adapter.accent_color("") is pdf_adapter.NAVY and pdf_adapter.accent_color("red") is pdf_adapter.NAVY


def test_a_damaged_logo_is_left_out_rather_than_failing_the_send():
    data = render_quote_pdf(make_snapshot(1), logo=b"\x89PNG\r\n\x1a\n broken")
    assert data.startswith(b"%PDF") and not pypdf.PdfReader(io.BytesIO(data)).pages[0].images


def test_many_optional_products_span_pages_with_the_header_repeated():
    from quoteflow.v1 import common_pb2

    snapshot = make_snapshot(10)
    for i in range(60):
        snapshot.optional_lines.append(common_pb2.QuoteLine(
            description=f"Option n°{i + 1}", quantity="1", unit_price="10.00", vat_rate="20", total_ht="10.00",
            product_ref=f"OPT-{i:03d}"))
    pages = pdf_pages(render_quote_pdf(snapshot))
    assert re.findall(r"OPT-(\d{3})", "\n".join(pages)) == [f"{i:03d}" for i in range(60)]
    for page in (p for p in pages if "OPT-" in p):
        assert "Désignation" in page
