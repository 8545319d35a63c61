"""Where the signature shows in the signed quote, and what the client reads about it.

A quote PDF carries an empty « Signature » field over its « Bon pour accord, date et signature » box
(services/quotes/adapters/pdf.py): the seal signs into it, with the signer, the date and time (Paris) and the
drawn signature, as an incremental update over the frozen bytes. A quote frozen before that field existed keeps
the visible seal on the certificate page. Both carry the certificate page, whose wording a client can act on.
"""
import hashlib
from datetime import datetime, timezone
from io import BytesIO

import pypdfium2
import pypdfium2.raw as pdfium_c
import pytest
from pypdf import PdfReader
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from services.quotes.adapters.pdf import render_quote_pdf
from services.signature import verify_cli
from services.signature.adapters.documents import VERIFY_NOTE
from services.signature.adapters.seal import FIELD_NAME, QUOTE_FIELD_NAME, PdfSealer, _off_any_loop
from services.signature.domain.model import SealDetails
from tests.integration.signature.support import drawn_signature, quote_pdf
from tests.integration.signature.test_timestamp import tsa_identity
from tests.unit.quotes_pdf.snapshots import make_snapshot

AT = datetime(2026, 11, 29, 14, 5, 9, tzinfo=timezone.utc)  # 15:05 in Paris
SIGNER = "Zoë Lœwy (Société « Œuvre »)"


@pytest.fixture(scope="module")
def sealer(tmp_path_factory):
    return PdfSealer(tmp_path_factory.mktemp("keys"))


@pytest.fixture(scope="module")
def frozen():
    return render_quote_pdf(make_snapshot(3, number="DV-2026-00042"))


def details(pdf: bytes, *, name: str = SIGNER, png: bytes | None = None) -> SealDetails:
    return SealDetails(signer_name=name, signer_email="zoe@client.fr", signed_at=AT, reference="5f0c7a8e-request",
                       number="DV-2026-00042", version=1, document_sha256=hashlib.sha256(pdf).hexdigest(),
                       consent_text="En signant, j'accepte le devis n° DV-2026-00042.", signature_png=png)


@pytest.fixture(scope="module")
def signed(sealer, frozen):
    return sealer.seal(frozen, details(frozen, png=drawn_signature()))


def the_signature(data: bytes, trusted):
    """(field name, page index of its widget, widget, pyHanko's validation status) of the file's only signature."""
    reader = PdfFileReader(BytesIO(data), strict=False)
    [sig] = reader.embedded_signatures
    widget = sig.sig_field if "/Subtype" in sig.sig_field else sig.sig_field["/Kids"][0].get_object()
    pages = [page.idnum for page, _ in (reader.find_page_for_modification(i) for i in range(
        int(reader.root["/Pages"]["/Count"])))]
    status = _off_any_loop(validate_pdf_signature, sig,
                           signer_validation_context=ValidationContext(trust_roots=trusted))
    return sig.field_name, pages.index(widget.raw_get("/P").idnum), widget, status


def flattened_text(data: bytes, page_ix: int) -> tuple[str, list[tuple[float, float, float, float]]]:
    """The page's text with its widgets' appearances merged in (as printed), and each character's box."""
    pdf = pypdfium2.PdfDocument(data)
    page = pdf[page_ix]
    assert pdfium_c.FPDFPage_Flatten(page.raw, pdfium_c.FLAT_PRINT) != pdfium_c.FLATTEN_FAIL
    page.close()
    text = pdf[page_ix].get_textpage()
    return text.get_text_range(), [text.get_charbox(i) for i in range(text.count_chars())]


def ink(data: bytes, page_ix: int, rect) -> int:
    """Dark pixels inside ``rect`` when a viewer shows the page (form widgets drawn)."""
    pdf = pypdfium2.PdfDocument(data)
    pdf.init_forms()
    image = pdf[page_ix].render(scale=1).to_pil().convert("L")
    x0, y0, x1, y1 = (float(v) for v in rect)
    crop = image.crop((int(x0) + 2, int(image.height - y1) + 2, int(x1) - 2, int(image.height - y0) - 2))
    return sum(1 for value in crop.get_flattened_data() if value < 128)


def images_and_fonts(xobject) -> tuple[list[tuple[int, int]], list[str]]:
    """Image sizes and font names reachable from a form XObject (an appearance stream)."""
    def resolved(value):
        return value.get_object() if hasattr(value, "get_object") else value

    images, fonts = [], []
    resources = resolved(xobject.get("/Resources", {}))
    for font in resolved(resources.get("/Font", {})).values():
        fonts.append(str(resolved(font).get("/BaseFont")))
    for child in resolved(resources.get("/XObject", {})).values():
        child = resolved(child)
        if child["/Subtype"] == "/Image":
            images.append((int(child["/Width"]), int(child["/Height"])))
        else:
            more_images, more_fonts = images_and_fonts(child)
            images += more_images
            fonts += more_fonts
    return images, fonts


def test_the_quote_is_signed_in_its_signature_box_over_the_frozen_bytes(sealer, frozen, signed):
    assert signed.startswith(frozen)  # the evidence's document_sha256 is the frozen file's: it still checks
    name, page_ix, widget, status = the_signature(signed, [sealer.certificate])
    assert (name, page_ix) == (QUOTE_FIELD_NAME, 0)
    assert status.intact and status.valid and status.trusted
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    assert sealer.verify_pdf(signed).intact
    ok, lines = verify_cli.check_pdf(signed, [sealer.certificate])
    assert ok and f"  signataire : {SIGNER}" in lines
    # the certificate page is still added, after the quote, and no second signature field appears
    assert len(PdfReader(BytesIO(signed)).pages) == len(PdfReader(BytesIO(frozen)).pages) + 1
    assert FIELD_NAME.encode() not in signed


def test_the_box_shows_who_signed_when_and_the_drawn_signature(sealer, frozen, signed):
    _, page_ix, widget, _ = the_signature(signed, [sealer.certificate])
    rect = widget["/Rect"]
    assert ink(frozen, page_ix, rect) == 0 and ink(signed, page_ix, rect) > 300
    text, _ = flattened_text(signed, page_ix)
    shown = " ".join(text.split())
    assert f"Signé électroniquement par {SIGNER} le 29 novembre 2026 à 15:05 (heure de Paris)" in shown
    short = sealer.seal(frozen, details(frozen, name="Zoë Lœwy", png=drawn_signature()))
    shown = " ".join(flattened_text(short, page_ix)[0].split())
    assert "Zoë Lœwy le 29 novembre 2026 à 15:05 (heure de Paris) Certificat de signature : page 2" in shown
    images, fonts = images_and_fonts(widget["/AP"]["/N"].get_object())
    assert (600, 200) in images  # the drawn signature, as the signer drew it
    assert any("DejaVuSans" in font for font in fonts) and not any("Courier" in font for font in fonts)


def test_the_certificate_page_says_where_the_signature_is_and_how_a_client_checks_it(signed, frozen):
    last = PdfReader(BytesIO(signed)).pages[-1].extract_text()
    flat = " ".join(last.split())
    assert "Certificat de signature électronique" in flat and SIGNER in flat
    assert "page 1, dans le cadre « Bon pour accord, date et signature »" in flat
    assert hashlib.sha256(frozen).hexdigest() in flat
    assert " ".join(VERIFY_NOTE.split()) in flat and "panneau Signatures" in flat
    assert "python" not in flat and "verify" not in flat


def test_a_quote_frozen_before_the_field_keeps_the_seal_on_the_certificate_page(sealer):
    older = quote_pdf()  # no form at all, like every quote frozen before the field existed
    sealed = sealer.seal(older, details(older, png=drawn_signature()))
    assert sealed.startswith(older)
    name, page_ix, widget, status = the_signature(sealed, [sealer.certificate])
    assert (name, page_ix) == (FIELD_NAME, 1)
    assert status.intact and status.valid and status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    assert sealer.verify_pdf(sealed).intact
    assert ink(sealed, 1, widget["/Rect"]) > 100
    first, _ = flattened_text(sealed, 0)
    assert "Signé électroniquement" not in first  # the quote's page is left as it was
    text, _ = flattened_text(sealed, 1)
    shown = " ".join(text.split())
    assert "Signé électroniquement par " + SIGNER in shown and "Réf. 5f0c7a8e-request" in shown
    assert "Signature visible" not in shown and " ".join(VERIFY_NOTE.split()) in shown
    assert "python" not in shown
    _, fonts = images_and_fonts(widget["/AP"]["/N"].get_object())
    assert any("DejaVuSans" in font for font in fonts) and not any("Courier" in font for font in fonts)


@pytest.mark.parametrize("where", ["box", "certificate page"])
def test_the_seal_text_is_padded_centred_and_stays_inside_its_box(sealer, frozen, where):
    long_name = "Marie-Thérèse de La Rochefoucauld-Montmorency (Société « Œuvre & Cœur » — Direction générale)"
    pdf = frozen if where == "box" else quote_pdf()
    one_word = "Wolfeschlegelsteinhausenbergerdorffwelchevoralternwarengewissenhaftschaferswessenschafe"
    for name in (SIGNER, long_name, one_word):
        sealed = sealer.seal(pdf, details(pdf, name=name))
        _, page_ix, widget, _ = the_signature(sealed, [sealer.certificate])
        x0, y0, x1, y1 = (float(v) for v in widget["/Rect"])
        _, boxes = flattened_text(sealed, page_ix)
        inside = [b for b in boxes if x0 <= b[0] and b[2] <= x1 and y0 <= b[1] and b[3] <= y1 and b[2] > b[0]]
        assert inside, "no text in the seal"
        left, bottom, top = min(b[0] for b in inside), min(b[1] for b in inside), max(b[3] for b in inside)
        assert left - x0 >= 12  # padded, clear of the rule on its left
        assert abs((bottom + top) / 2 - (y0 + y1) / 2) < 6  # centred vertically
        spill = [b for b in boxes if b[0] < x1 and b[2] > x0 and b[1] < y1 and b[3] > y0 and b[2] > b[0]
                 and b not in inside]
        assert not spill, f"text crosses the seal's edge: {spill[:3]}"


def test_a_timestamped_seal_signs_into_the_box_too(tmp_path, frozen):
    _, tsa_cert, tsa_key = tsa_identity()
    sealer = PdfSealer(tmp_path / "keys", timestamper=DummyTimeStamper(tsa_cert=tsa_cert, tsa_key=tsa_key),
                       tsa_trust=[tsa_cert])
    sealed = sealer.seal(frozen, details(frozen))
    assert sealed.startswith(frozen)
    name, page_ix, _, _ = the_signature(sealed, [sealer.certificate])
    assert (name, page_ix) == (QUOTE_FIELD_NAME, 0)
    result = sealer.verify_pdf(sealed)
    assert result.intact and result.timestamped_at is not None and result.timestamp_trusted
