"""Seals signed quotes and proof files with PAdES (pyHanko), and checks seals.

The original PDF's bytes stay untouched as the first revision; the signature
page and the seal are an incremental update, so anyone can still recompute the
original document hash from the signed file's first revision. With a
timestamp authority configured, each seal carries an RFC 3161 token.
"""
from __future__ import annotations

import asyncio
import hashlib
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO
from pathlib import Path

from asn1crypto import cms
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

from services.signature.adapters import documents
from services.signature.adapters.keys import ensure_keypair
from services.signature.domain.model import SealDetails

french_date = documents.french_date  # one way to write a date, on every page and in the verify command

FIELD_NAME = "QuoteflowSignature"
PROOF_FIELD_NAME = "QuoteflowProofSeal"


@dataclass(frozen=True)
class Verification:
    intact: bool
    signer: str = ""
    signed_at: datetime | None = None        # the timestamp's time when there is one, else the signer's
    problem: str = ""
    reason: str = ""                         # the seal's /Reason (what was sealed)
    timestamped_at: datetime | None = None   # RFC 3161 token time, when the seal carries one
    timestamp_trusted: bool = False


_SPELLED = {"œ": "oe", "Œ": "OE", "€": "EUR", "’": "'", "‘": "'", "“": '"', "”": '"', "–": "-", "—": "-",
            "…": "...", "\u202f": " ", "\xa0": " "}


def _off_any_loop(call, *args, **kwargs):
    """pyHanko's sync API runs asyncio.run(): it cannot run on a thread whose event loop is running
    (an asyncio or greenlet host, e.g. Playwright's sync API); there it runs on a thread of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return call(*args, **kwargs)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="seal") as pool:
        return pool.submit(call, *args, **kwargs).result()


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


class PdfSealer:
    """Seals PDFs with the service's key (PAdES B-B, or B-T with a timestamp authority)."""

    def __init__(self, key_dir: Path | str, timezone: str = "Europe/Paris", *, key_file: Path | str | None = None,
                 cert_file: Path | str | None = None, passphrase: bytes | None = None, timestamper=None,
                 tsa_trust: list | None = None):
        if key_file and cert_file:
            self.key_path, self.cert_path = Path(key_file), Path(cert_file)
        else:
            self.key_path, self.cert_path = ensure_keypair(key_dir)
        self.timezone = timezone
        self.timestamper = timestamper
        self.tsa_trust = list(tsa_trust or [])
        self.certificate = load_cert_from_pemder(str(self.cert_path))
        self._signer = signers.SimpleSigner(
            signing_cert=self.certificate,
            signing_key=load_private_key_from_pemder(str(self.key_path), passphrase=passphrase),
            cert_registry=SimpleCertificateStore.from_certs([self.certificate]),
        )

    @property
    def certificate_sha256(self) -> str:
        return hashlib.sha256(self.certificate.dump()).hexdigest()

    @property
    def _reserved(self) -> int | None:
        """Room for the CMS: known without a timestamp (saves pyHanko a trial signature), else estimated."""
        return None if self.timestamper is not None else 4096 + 2 * len(self.certificate.dump())

    def seal(self, pdf: bytes, details: SealDetails) -> bytes:
        """The quote plus a signature certificate page, sealed with a visible signature block."""
        writer = IncrementalPdfFileWriter(BytesIO(pdf), strict=False)
        page_ix, box = self._add_signature_page(writer, details)
        when = french_date(details.signed_at, self.timezone)
        meta = signers.PdfSignatureMetadata(
            field_name=FIELD_NAME, subfilter=SigSeedSubFilter.PADES, md_algorithm="sha256",
            reason=f"Acceptation du devis {details.number}".strip(), name=details.signer_name,
            location="Quoteflow")
        stamp = TextStampStyle(
            stamp_text="Signé électroniquement par\n%(signer)s\nle %(when)s\nRéf. %(ref)s",
            text_box_style=TextBoxStyle(font_size=9), border_width=1)
        signer = signers.PdfSigner(
            meta, self._signer, stamp_style=stamp, timestamper=self.timestamper,
            new_field_spec=fields.SigFieldSpec(sig_field_name=FIELD_NAME, on_page=page_ix, box=box))
        out = _off_any_loop(signer.sign_pdf, writer, bytes_reserved=self._reserved, appearance_text_params={
            "signer": _latin(details.signer_name), "when": _latin(when), "ref": details.reference})
        return out.getvalue()

    def seal_document(self, pdf: bytes, *, name: str, reason: str) -> bytes:
        """An invisible seal over a whole document (the proof file)."""
        writer = IncrementalPdfFileWriter(BytesIO(pdf), strict=False)
        meta = signers.PdfSignatureMetadata(
            field_name=PROOF_FIELD_NAME, subfilter=SigSeedSubFilter.PADES, md_algorithm="sha256",
            reason=reason, name=name, location="Quoteflow")
        signer = signers.PdfSigner(meta, self._signer, timestamper=self.timestamper,
                                   new_field_spec=fields.SigFieldSpec(sig_field_name=PROOF_FIELD_NAME))
        return _off_any_loop(signer.sign_pdf, writer, bytes_reserved=self._reserved).getvalue()

    def seal_proof(self, proof: dict, *, proof_json_sha256: str, signature_png: bytes | None = None) -> bytes:
        """The proof file ("Dossier de preuve") as a PDF, sealed like the signed quote."""
        pdf = documents.proof_pdf(proof, proof_json_sha256=proof_json_sha256, signature_png=signature_png,
                                  tz=self.timezone)
        return self.seal_document(pdf, name=proof["signer"]["name"],
                                  reason=f"Dossier de preuve du devis {proof['request']['number']}".strip())

    def _add_signature_page(self, writer: IncrementalPdfFileWriter, d: SealDetails):
        pages = writer.root["/Pages"]
        count = int(pages["/Count"])
        last_ref, _ = writer.find_page_for_modification(count - 1)
        media_box = last_ref.get_object().get("/MediaBox") or generic.ArrayObject(
            map(generic.NumberObject, (0, 0, 595, 842)))
        x0, y0, x1, y1 = (float(v) for v in media_box)
        page = documents.certificate_page(d, x1 - x0, y1 - y0, self.timezone)
        form = writer.import_page_as_xobject(PdfFileReader(BytesIO(page.pdf)))
        content = generic.StreamObject(stream_data=f"q 1 0 0 1 {x0:.2f} {y0:.2f} cm /Cert Do Q".encode())
        new_page = generic.DictionaryObject({
            pdf_name("/Type"): pdf_name("/Page"),
            pdf_name("/MediaBox"): generic.ArrayObject(map(generic.FloatObject, (x0, y0, x1, y1))),
            pdf_name("/Resources"): generic.DictionaryObject({
                pdf_name("/XObject"): generic.DictionaryObject({pdf_name("/Cert"): form})}),
            pdf_name("/Contents"): writer.add_object(content),
        })
        writer.insert_page(new_page)
        bx0, by0, bx1, by1 = page.seal_box
        return count, (int(bx0 + x0), int(by0 + y0), int(bx1 + x0), int(by1 + y0))

    def verify_pdf(self, data: bytes) -> Verification:
        return verify_pdf(data, [self.certificate], self.tsa_trust)


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
    """The CMS parts no signature covers must be exactly what our sealer writes.

    The only unsigned attribute allowed is an RFC 3161 token, itself signed by its authority.
    """
    signed_data = sig.signed_data
    ours = {cert.dump() for cert in trusted}
    certificates = [choice.chosen.dump() for choice in signed_data["certificates"]]
    signer_info = sig.signer_info
    digests = [alg.dump() for alg in signed_data["digest_algorithms"]]
    unsigned = [attr["type"].native for attr in signer_info["unsigned_attrs"]] \
        if signer_info["unsigned_attrs"].native else []
    return (
        bool(certificates) and all(cert in ours for cert in certificates)
        and digests == [signer_info["digest_algorithm"].dump()]
        and signed_data["version"].native == "v1" and signer_info["version"].native == "v1"
        and signed_data["encap_content_info"].native == {"content_type": "data", "content": None}
        and unsigned in ([], ["signature_time_stamp_token"])
    )


def verify_pdf(data: bytes, trusted: list, tsa_trust: list | None = None) -> Verification:
    """Checks the last seal of ``data`` against ``trusted`` certificates; any change reads as altered.

    A timestamp token, when present, must be intact and valid (its authority need not be trusted:
    ``timestamp_trusted`` says whether it is, against ``tsa_trust``).
    """
    try:
        reader = PdfFileReader(BytesIO(data), strict=False)
        signatures = reader.embedded_signatures
        if not signatures:
            return Verification(intact=False, problem="the PDF carries no signature")
        sig = signatures[-1]
        if not (_contents_untouched(data, sig) and _container_is_ours(sig, trusted)):
            return Verification(intact=False, problem="the signature container was changed")
        status = _off_any_loop(
            validate_pdf_signature, sig, signer_validation_context=ValidationContext(trust_roots=trusted),
            ts_validation_context=ValidationContext(trust_roots=[*trusted, *(tsa_trust or [])]))
    except Exception as exc:  # a damaged file is an altered file
        return Verification(intact=False, problem=f"{type(exc).__name__}: {exc}")
    name = str(sig.sig_object.get("/Name", ""))
    reason = str(sig.sig_object.get("/Reason", ""))
    whole = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    # The certificates travel outside the signed bytes: the seal's own must be there, byte for byte.
    ours = status.signing_cert is not None and any(
        status.signing_cert.dump() == cert.dump() for cert in trusted)
    token = status.timestamp_validity
    token_ok = token is None or bool(token.intact and token.valid)
    intact = bool(status.intact and status.valid and status.trusted and whole and ours and token_ok)
    problem = "" if intact else (
        "the signed bytes were changed" if not status.intact else
        "the seal is not from a trusted certificate" if not (status.trusted and ours) else
        "content was added after the seal" if not whole else
        "the timestamp token was changed" if not token_ok else "the signature is invalid")
    stamped = token.timestamp if token is not None else None
    return Verification(intact=intact, signer=name, signed_at=stamped or status.signer_reported_dt,
                        problem=problem, reason=reason, timestamped_at=stamped,
                        timestamp_trusted=bool(token is not None and token.trusted))
