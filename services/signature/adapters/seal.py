"""Seals a signed quote: a signature page appended to the frozen PDF, then a PAdES seal (pyHanko).

The original PDF's bytes stay untouched as the first revision; the signature
page and the seal are an incremental update, so anyone can still recompute the
original document hash from the signed file's first revision.
"""
from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO
from pathlib import Path
from zoneinfo import ZoneInfo

from asn1crypto import cms
from babel.dates import format_datetime
from pyhanko.keys import load_cert_from_pemder, load_private_key_from_pemder
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.sign import fields, signers
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko.stamp import TextStampStyle
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from services.signature.adapters.keys import ensure_keypair
from services.signature.domain.model import SealDetails

FIELD_NAME = "QuoteflowSignature"


@dataclass(frozen=True)
class Verification:
    intact: bool
    signer: str = ""
    signed_at: datetime | None = None
    problem: str = ""


def french_date(moment: datetime, tz: str = "Europe/Paris") -> str:
    return format_datetime(moment, "d MMMM y 'à' HH:mm:ss", tzinfo=ZoneInfo(tz), locale="fr_FR") + f" ({tz})"


# The standard Helvetica font speaks WinAnsi (cp1252): accents, œ and € print;
# anything else is replaced by its closest Latin form.
def _winansi(text: str) -> bytes:
    out = bytearray()
    for char in unicodedata.normalize("NFC", text):
        try:
            out += char.encode("cp1252")
        except UnicodeEncodeError:
            fallback = unicodedata.normalize("NFKD", char).encode("ascii", "ignore") or b"?"
            out += fallback
    return bytes(out)


def _pdf_string(text: str) -> bytes:
    raw = _winansi(" ".join(text.split()))
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


_SPELLED = {"œ": "oe", "Œ": "OE", "€": "EUR", "’": "'", "‘": "'", "“": '"', "”": '"', "–": "-", "—": "-",
            "…": "...", "\u202f": " ", "\xa0": " "}


def _latin(text: str) -> str:
    """Text the simple stamp font renders the same in PDFDocEncoding and WinAnsi."""
    kept = []
    for char in unicodedata.normalize("NFC", " ".join(text.split())):
        code = ord(char)
        if 0x20 <= code < 0x7F or 0xA1 <= code <= 0xFF:
            kept.append(char)
        elif char in _SPELLED:
            kept.append(_SPELLED[char])
        else:
            kept.append(unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode() or "?")
    return "".join(kept)


def _wrap(text: str, width: int) -> list[str]:
    lines, current = [], ""
    for word in text.split():
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    if current:
        lines.append(current)
    return lines or [""]


class PdfSealer:
    """Appends the signature page and seals with the service's key (PAdES B-B)."""

    def __init__(self, key_dir: Path | str, timezone: str = "Europe/Paris"):
        self.key_path, self.cert_path = ensure_keypair(key_dir)
        self.timezone = timezone
        self.certificate = load_cert_from_pemder(str(self.cert_path))
        self._signer = signers.SimpleSigner(
            signing_cert=self.certificate,
            signing_key=load_private_key_from_pemder(str(self.key_path), passphrase=None),
            cert_registry=SimpleCertificateStore.from_certs([self.certificate]),
        )

    @property
    def certificate_sha256(self) -> str:
        return hashlib.sha256(self.certificate.dump()).hexdigest()

    def seal(self, pdf: bytes, details: SealDetails) -> bytes:
        writer = IncrementalPdfFileWriter(BytesIO(pdf), strict=False)
        page_ix, box = self._add_signature_page(writer, details)
        when = french_date(details.signed_at, self.timezone)
        meta = signers.PdfSignatureMetadata(
            field_name=FIELD_NAME,
            subfilter=SigSeedSubFilter.PADES,
            md_algorithm="sha256",
            reason=f"Acceptation du devis {details.number}".strip(),
            name=details.signer_name,
            location="Quoteflow",
        )
        stamp = TextStampStyle(
            stamp_text="Signé électroniquement par\n%(signer)s\nle %(when)s\nRéf. %(ref)s",
            text_box_style=TextBoxStyle(font_size=9),
            border_width=1,
        )
        signer = signers.PdfSigner(
            meta, self._signer, stamp_style=stamp,
            new_field_spec=fields.SigFieldSpec(sig_field_name=FIELD_NAME, on_page=page_ix, box=box),
        )
        out = signer.sign_pdf(writer, appearance_text_params={
            "signer": _latin(details.signer_name), "when": _latin(when), "ref": details.reference})
        return out.getvalue()

    def _add_signature_page(self, writer: IncrementalPdfFileWriter, d: SealDetails):
        pages = writer.root["/Pages"]
        count = int(pages["/Count"])
        last_ref, _ = writer.find_page_for_modification(count - 1)
        media_box = last_ref.get_object().get("/MediaBox") or generic.ArrayObject(
            map(generic.NumberObject, (0, 0, 595, 842)))
        x0, y0, x1, y1 = (float(v) for v in media_box)
        width, height = x1 - x0, y1 - y0
        left, top = x0 + 56, y1 - 72

        lines: list[tuple[str, int, str]] = [("F2", 16, "Certificat de signature électronique"), ("F1", 10, "")]
        rows = [
            ("Devis", f"n° {d.number} (version {d.version})"),
            ("Signé par", d.signer_name),
            ("Adresse e-mail", d.signer_email),
            ("Date", french_date(d.signed_at, self.timezone)),
            ("Référence", d.reference),
        ]
        for label, value in rows:
            lines.append(("F1", 10, f"{label} : {value}"))
        lines += [("F1", 10, ""), ("F1", 10, "Empreinte SHA-256 du devis envoyé :"), ("F3", 9, d.document_sha256),
                  ("F1", 10, ""), ("F1", 10, "Consentement :")]
        lines += [("F1", 10, chunk) for chunk in _wrap(d.consent_text, 90)]
        lines += [("F1", 10, "")]
        lines += [("F1", 9, chunk) for chunk in _wrap(
            "Ce document est scellé électroniquement (PAdES) : toute modification postérieure au scellement "
            "invalide le sceau. Le fichier de preuve (journal horodaté et chaîné par SHA-256) accompagne ce "
            "document.", 100)]

        ops = [b"BT"]
        y = top
        for font, size, text in lines:
            ops.append(f"/{font} {size} Tf 1 0 0 1 {left:.2f} {y:.2f} Tm".encode() + b" " + _pdf_string(text) + b" Tj")
            y -= size + 6
        ops.append(b"ET")
        content = generic.StreamObject(stream_data=b"\n".join(ops))
        content.compress()

        def font(base: str) -> generic.DictionaryObject:
            return generic.DictionaryObject({
                pdf_name("/Type"): pdf_name("/Font"), pdf_name("/Subtype"): pdf_name("/Type1"),
                pdf_name("/BaseFont"): pdf_name(base), pdf_name("/Encoding"): pdf_name("/WinAnsiEncoding")})

        page = generic.DictionaryObject({
            pdf_name("/Type"): pdf_name("/Page"),
            pdf_name("/MediaBox"): generic.ArrayObject(map(generic.FloatObject, (x0, y0, x1, y1))),
            pdf_name("/Resources"): generic.DictionaryObject({pdf_name("/Font"): generic.DictionaryObject({
                pdf_name("/F1"): writer.add_object(font("/Helvetica")),
                pdf_name("/F2"): writer.add_object(font("/Helvetica-Bold")),
                pdf_name("/F3"): writer.add_object(font("/Courier")),
            })}),
            pdf_name("/Contents"): writer.add_object(content),
        })
        writer.insert_page(page)
        box_bottom = max(y0 + 40, y - 110)
        box = (int(left), int(box_bottom), int(min(left + 300, x1 - 40)), int(box_bottom + 80))
        return count, box

    def verify_pdf(self, data: bytes) -> Verification:
        return verify_pdf(data, [self.certificate])


def _contents_untouched(data: bytes, sig) -> bool:
    """The bytes the seal cannot cover (its own /Contents) must be exactly the CMS, hex, zero-padded."""
    start, length, end, _ = (int(v) for v in sig.byte_range)
    gap = data[start + length:end]
    raw = bytes(sig.pkcs7_content)
    der = cms.ContentInfo.load(raw, strict=False).dump()
    if raw[:len(der)] != der or raw[len(der):].strip(b"\0"):
        return False
    return gap in (b"<" + raw.hex().encode() + b">", b"<" + raw.hex().upper().encode() + b">")


def _container_is_ours(sig, trusted: list) -> bool:
    """The CMS parts no signature covers must be exactly what our sealer writes."""
    signed_data = sig.signed_data
    ours = {cert.dump() for cert in trusted}
    certificates = [choice.chosen.dump() for choice in signed_data["certificates"]]
    signer_info = sig.signer_info
    digests = [alg.dump() for alg in signed_data["digest_algorithms"]]
    return (
        bool(certificates) and all(cert in ours for cert in certificates)
        and digests == [signer_info["digest_algorithm"].dump()]
        and signed_data["version"].native == "v1" and signer_info["version"].native == "v1"
        and signed_data["encap_content_info"].native == {"content_type": "data", "content": None}
        and not signer_info["unsigned_attrs"].native
    )


def verify_pdf(data: bytes, trusted: list) -> Verification:
    """Checks the last seal of ``data`` against ``trusted`` certificates; any change reads as altered."""
    try:
        reader = PdfFileReader(BytesIO(data), strict=False)
        signatures = reader.embedded_signatures
        if not signatures:
            return Verification(intact=False, problem="the PDF carries no signature")
        sig = signatures[-1]
        if not (_contents_untouched(data, sig) and _container_is_ours(sig, trusted)):
            return Verification(intact=False, problem="the signature container was changed")
        status = validate_pdf_signature(sig, ValidationContext(trust_roots=trusted))
    except Exception as exc:  # a damaged file is an altered file
        return Verification(intact=False, problem=f"{type(exc).__name__}: {exc}")
    name = str(sig.sig_object.get("/Name", ""))
    whole = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    # The certificates travel outside the signed bytes: the seal's own must be there, byte for byte.
    ours = status.signing_cert is not None and any(
        status.signing_cert.dump() == cert.dump() for cert in trusted)
    intact = bool(status.intact and status.valid and status.trusted and whole and ours)
    problem = "" if intact else (
        "the signed bytes were changed" if not status.intact else
        "the seal is not from a trusted certificate" if not (status.trusted and ours) else
        "content was added after the seal" if not whole else "the signature is invalid")
    return Verification(intact=intact, signer=name, signed_at=status.signer_reported_dt, problem=problem)
