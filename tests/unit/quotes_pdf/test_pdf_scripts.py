"""Every script a quote accepts prints as typed: Latin, Arabic joined and right to left, Hebrew, emoji."""

from __future__ import annotations

import io
import re
import unicodedata

import pypdf

from quoteflow.typeset import font_chain
from services.quotes.adapters.pdf import render_quote_pdf
from tests.unit.quotes_pdf.snapshots import make_snapshot, pdf_pages

TYPED = [
    "Maintenance annuelle",
    "Cœur de réseau — été à Noël",
    "مرحبا بكم في شركتنا",
    "الأسعار لا تشمل التركيب",  # lam-alef ligatures: one glyph for two letters
    "שלום עולם",
    "Réf. 12 — مرحبا",
    "Livraison 🚚 rapide 👍 ❤️ ✓",
]


def _as_read(text: str) -> str:
    """How extracted text compares: pypdf returns an Arabic joined form as the presentation-form code point
    only where /ToUnicode says so (ours gives the letters, NFKC is a no-op then); a variation selector is
    not a glyph (U+FE0F: the monochrome heart is the heart), so it is not read back."""
    return unicodedata.normalize("NFKC", text).replace("\ufe0f", "")


def _quote_pdf() -> bytes:
    snapshot = make_snapshot(len(TYPED))
    for line, text in zip(snapshot.lines, TYPED):
        line.description, line.product_ref = text, ""
    snapshot.account.name = "شركة الأمل"
    return render_quote_pdf(snapshot)


def test_each_line_reads_back_as_typed_and_no_glyph_is_missing():
    pdf = _quote_pdf()
    text = _as_read("\n".join(pdf_pages(pdf)))
    for typed in [*TYPED, "شركة الأمل"]:
        assert _as_read(typed) in text
    assert "?" not in text and "\ufffd" not in text
    for page in pypdf.PdfReader(io.BytesIO(pdf)).pages:
        content = page.get_contents().get_data().decode("latin-1")
        glyphs = [run[i : i + 4] for run in re.findall(r"<([0-9A-F]+)> Tj", content) for i in range(0, len(run), 4)]
        assert glyphs and "0000" not in glyphs  # glyph 0 is .notdef


def test_symbols_come_from_the_fallback_face_and_arabic_is_drawn_joined_right_to_left():
    chain = font_chain()
    assert [(p.face.key, p.text) for p in chain.pieces("ok 🚚")] == [("sans", "ok "), ("symbols", "🚚")]
    drawn = chain.visual("Réf. 12 — مرحبا (x)")
    assert drawn.startswith("Réf. 12 — ")
    arabic = drawn[len("Réf. 12 — "):].split(" ")[0]
    # right to left: the last letter (alef, final form) is drawn first; the first (meem, initial) last
    assert arabic == "\ufe8e\ufe92\ufea3\ufeae\ufee3" and unicodedata.normalize("NFKC", arabic)[::-1] == "مرحبا"
    assert chain.visual("مرحبا (réf. 3)").startswith("(réf. 3) ")  # brackets mirrored in a right-to-left line


def test_a_latin_document_embeds_no_fallback_font():
    pdf = render_quote_pdf(make_snapshot(3))
    fonts = {font.get_object()["/BaseFont"] for page in pypdf.PdfReader(io.BytesIO(pdf)).pages
             for font in page["/Resources"]["/Font"].values()}
    assert len(fonts) == 2 and all("DejaVuSans" in name for name in fonts)
