"""Seals signed quotes and proof files with PAdES (pyHanko), and checks seals.

The original PDF's bytes stay untouched as the first revision; the signature
page and the seal are an incremental update, so anyone can still recompute the
original document hash from the signed file's first revision. With a
timestamp authority configured, each seal carries an RFC 3161 token. With a CA-issued certificate and its
issuing chain (SIGNATURE_CA_CERTS), the seal also carries its validation data and, with a timestamp authority,
a document timestamp: PAdES B-LTA (see ``archive.py`` for how it is kept alive and checked).

Where the seal shows: a quote PDF carries an empty signature field named
``Signature`` over the blank part of its « Bon pour accord » box (written by
``services/quotes/adapters/pdf.py``); the seal signs into that field, so the
signature is seen where the client signs, and the certificate page says where it
is. A quote frozen before that field existed is sealed as it always was: the
visible seal sits on the certificate page.

Which certificates a check trusts: the one the service seals with, every one it sealed with before (kept by
``keys.py`` beside the key: ``retired/``, the copy of a configured one) and ``SIGNATURE_TRUSTED_CERTS``. A
seal by any other certificate is reported as such (``unknown_certificate``), not as a changed file.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from io import BytesIO
from pathlib import Path
from typing import Callable, Iterable

from asn1crypto import cms
from pyhanko.keys import load_cert_from_pemder, load_certs_from_pemder, load_private_key_from_pemder
from pyhanko.pdf_utils import generic, layout
from pyhanko.pdf_utils.content import PdfContent
from pyhanko.pdf_utils.form_tools import annot_width_height, get_single_field_annot
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko.stamp import StaticStampStyle
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from quoteflow.config import ConfigError
from services.signature.adapters import archive, documents
from services.signature.adapters.archive import off_any_loop as _off_any_loop
from services.signature.adapters.keys import ensure_keypair, known_certificate_files, remember_configured
from services.signature.domain.model import SealDetails, pades_level

log = logging.getLogger(__name__)

french_date = documents.french_date  # one way to write a date, on every page and in the verify command

FIELD_NAME = "QuoteflowSignature"          # the field the seal creates on the certificate page (older quotes)
QUOTE_FIELD_NAME = "Signature"             # the empty field a quote PDF carries in its signature box
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
    certificate_sha256: str = ""             # the sealing certificate's, when the seal could be read
    certificate_subject: str = ""
    unknown_certificate: bool = False        # sealed, unchanged since, but by a certificate not trusted here
    level: str = ""                          # the PAdES level the file gives the seal (B-B … B-LTA)
    archived_at: tuple[datetime, ...] = ()   # the document timestamps after the seal, oldest first
    long_term_checked: bool = False          # its embedded validation data proved it against SIGNATURE_CA_CERTS


def _unique(certs: Iterable) -> list:
    """Each certificate once (by its DER), first seen first."""
    return list({cert.dump(): cert for cert in certs}.values())


def load_certificates(paths: Iterable[Path | str], *, setting: str = "") -> list:
    """The certificates in ``paths`` (PEM or DER, several per file), each once, in order."""
    found = []
    for path in paths:
        try:
            found += load_certs_from_pemder([str(path)])
        except (OSError, ValueError) as exc:
            where = f"{setting} names {path}" if setting else str(path)
            raise ConfigError(f"{where}: not a readable certificate file ({exc})") from None
    return _unique(found)


class _PdfPage(PdfContent):
    """The first page of a PDF in memory, as the background of a stamp (pyHanko's ImportedPdfPage reads a file)."""

    def __init__(self, pdf: bytes):
        super().__init__()
        self.pdf = pdf

    def render(self) -> bytes:
        xobject = self._ensure_writer.import_page_as_xobject(PdfFileReader(BytesIO(self.pdf)))
        self.resources.xobject["/Look"] = xobject
        x1, y1, x2, y2 = xobject.get_object()["/BBox"]
        self.box = layout.BoxConstraints(width=abs(x2 - x1), height=abs(y2 - y1))
        return b"/Look Do"


def _look(pdf: bytes) -> StaticStampStyle:
    """A stamp that is exactly ``pdf``'s page (drawn the size of the box it fills): no border, opaque."""
    return StaticStampStyle(
        background=_PdfPage(pdf), background_opacity=1.0, border_width=0,
        background_layout=layout.SimpleBoxLayoutRule(
            x_align=layout.AxisAlignment.ALIGN_MID, y_align=layout.AxisAlignment.ALIGN_MID,
            margins=layout.Margins.uniform(0)))


@dataclass(frozen=True)
class _Field:
    page_ix: int
    width: float
    height: float


def _quote_field(writer: IncrementalPdfFileWriter) -> _Field | None:
    """The quote's empty ``Signature`` field, its page and size; None when the PDF has none (frozen before it)."""
    try:
        found = list(fields.enumerate_sig_fields(writer, filled_status=False, with_name=QUOTE_FIELD_NAME))
        if len(found) != 1:
            return None
        annot = get_single_field_annot(found[0][2].get_object())
        width, height = annot_width_height(annot)
        page = annot.raw_get("/P") if "/P" in annot else None
    except Exception:  # an odd form is not ours: seal as for an older quote
        return None
    if width < 40 or height < 20 or not isinstance(page, generic.IndirectObject):
        return None
    for ix in range(int(writer.root["/Pages"]["/Count"])):
        if writer.find_page_for_modification(ix)[0].idnum == page.idnum:
            return _Field(ix, float(width), float(height))
    return None


class _DatedSigner(signers.PdfSigner):
    """A ``PdfSigner`` whose CMS signing time is the signature's (``signing_time``, the service's clock when
    the signer signed), not the moment pyHanko starts its session a few hundred milliseconds later: the
    seal then shows the time the evidence and the proof give, to the second (it could show the next second)."""

    def __init__(self, *args, signing_time: datetime, **kwargs):
        super().__init__(*args, **kwargs)
        self._signing_time = signing_time

    def init_signing_session(self, pdf_out, existing_fields_only=False):
        session = super().init_signing_session(pdf_out, existing_fields_only=existing_fields_only)
        session.system_time = self._signing_time
        return session


def split_chain(ca_certs: list) -> tuple[list, list]:
    """(roots, intermediates) of an issuing chain: the self-signed certificates are its roots."""
    return [c for c in ca_certs if c.self_signed != "no"], [c for c in ca_certs if c.self_signed == "no"]


class PdfSealer:
    """Seals PDFs with the service's key: PAdES B-B, B-T with a timestamp authority; with a CA-issued certificate
    (``ca_certs``, its issuing chain up to the root) the validation data goes in too, and with a timestamp
    authority a document timestamp over all of it: B-LTA."""

    def __init__(self, key_dir: Path | str, timezone: str = "Europe/Paris", *, key_file: Path | str | None = None,
                 cert_file: Path | str | None = None, passphrase: bytes | None = None, timestamper=None,
                 tsa_trust: list | None = None, trusted_certs: Iterable[Path | str] = (),
                 signed_before: Callable[[], int] | None = None, ca_certs: Iterable[Path | str] = ()):
        """``trusted_certs``: more certificates to accept when checking (SIGNATURE_TRUSTED_CERTS);
        ``signed_before``: counts the quotes already signed, so a lost key is not replaced unseen (keys.py);
        ``ca_certs``: the configured certificate's issuing chain, root included (SIGNATURE_CA_CERTS)."""
        if key_file and cert_file:
            self.key_path, self.cert_path = Path(key_file), Path(cert_file)
            try:
                retired = remember_configured(key_dir, self.cert_path)
            except OSError as exc:
                log.warning("cannot keep a copy of the seal certificate in %s (%s): when you replace "
                            "SIGNATURE_CERT_FILE, list the old one in SIGNATURE_TRUSTED_CERTS", key_dir, exc)
            else:
                if retired is not None:
                    log.warning("the configured seal certificate changed: the previous one is kept in %s and "
                                "still trusted when checking", retired)
        else:
            self.key_path, self.cert_path = ensure_keypair(key_dir, signed_before=signed_before)
        self.timezone = timezone
        self.timestamper = timestamper
        self.tsa_trust = list(tsa_trust or [])
        self.certificate = load_cert_from_pemder(str(self.cert_path))
        self.trusted = _unique([self.certificate, *load_certificates(known_certificate_files(key_dir)),
                                *load_certificates(trusted_certs, setting="SIGNATURE_TRUSTED_CERTS")])
        self.ca_chain = load_certificates(ca_certs, setting="SIGNATURE_CA_CERTS")
        self.ca_roots, intermediates = split_chain(self.ca_chain)
        if self.ca_chain and not self.ca_roots:
            raise ConfigError("SIGNATURE_CA_CERTS names no root certificate (a self-signed one): give the seal "
                              "certificate's whole issuing chain, up to its root")
        if self.ca_chain and not any(cert.subject == self.certificate.issuer for cert in self.ca_chain):
            raise ConfigError(f"SIGNATURE_CA_CERTS does not hold the issuer of the seal certificate "
                              f"({self.certificate.issuer.human_friendly}): give its issuing chain")
        self._carried = [self.certificate, *intermediates]  # what the seal's CMS carries: itself and its chain
        self._signer = signers.SimpleSigner(
            signing_cert=self.certificate,
            signing_key=load_private_key_from_pemder(str(self.key_path), passphrase=passphrase),
            cert_registry=SimpleCertificateStore.from_certs(intermediates),
        )

    @property
    def certificate_sha256(self) -> str:
        return hashlib.sha256(self.certificate.dump()).hexdigest()

    @property
    def level(self) -> str:
        """The PAdES level this sealer's seals reach. With a CA chain, sealing fails rather than reach less:
        the validation data must be fetched (OCSP, CRL) when sealing."""
        return pades_level(timestamped=self.timestamper is not None, validation_data=bool(self.ca_chain),
                           archive_timestamps=int(bool(self.ca_chain)))

    @property
    def _reserved(self) -> int | None:
        """Room for the CMS: known without a timestamp (saves pyHanko a trial signature), else estimated."""
        return None if self.timestamper is not None else 4096 + 2 * sum(len(c.dump()) for c in self._carried)

    def _validation_context(self) -> ValidationContext | None:
        """A fresh context per seal (it keeps what it fetched): the CA's roots, and the authority's for its
        timestamps; fetching the OCSP responses and CRLs that go into the PDF, failing without them."""
        if not self.ca_chain:
            return None
        return ValidationContext(trust_roots=_unique([*self.ca_roots, *self.tsa_trust]),
                                 other_certs=self._carried[1:], allow_fetching=True, revocation_mode="hard-fail")

    def _long_term(self) -> dict:
        """What PdfSignatureMetadata needs for B-LT (validation data) and B-LTA (a document timestamp)."""
        context = self._validation_context()
        if context is None:
            return {}
        return dict(embed_validation_info=True, validation_context=context,
                    use_pades_lta=self.timestamper is not None)

    def seal(self, pdf: bytes, details: SealDetails) -> bytes:
        """The quote plus a signature certificate page, sealed with a visible signature.

        The signature shows in the quote's own signature box when the PDF has the empty field for it, else on
        the certificate page.
        """
        writer = IncrementalPdfFileWriter(BytesIO(pdf), strict=False)
        quote_field = _quote_field(writer)
        meta = dict(subfilter=SigSeedSubFilter.PADES, md_algorithm="sha256",
                    reason=f"Acceptation du devis {details.number}".strip(), name=details.signer_name,
                    location="Quoteflow", **self._long_term())
        if quote_field is not None:
            cert_ix, _ = self._add_signature_page(writer, details, signature_page=quote_field.page_ix + 1)
            look = documents.signature_stamp(details, quote_field.width, quote_field.height, self.timezone,
                                             footnote=f"Certificat de signature : page {cert_ix + 1}")
            signer = _DatedSigner(signers.PdfSignatureMetadata(field_name=QUOTE_FIELD_NAME, **meta),
                                  self._signer, stamp_style=_look(look), timestamper=self.timestamper,
                                  signing_time=details.signed_at)
            out = _off_any_loop(signer.sign_pdf, writer, existing_fields_only=True, bytes_reserved=self._reserved)
            return out.getvalue()
        page_ix, box = self._add_signature_page(writer, details)
        x0, y0, x1, y1 = box
        look = documents.signature_stamp(details, x1 - x0, y1 - y0, self.timezone, drawing=False, framed=True,
                                         footnote=f"Réf. {details.reference}")
        signer = _DatedSigner(
            signers.PdfSignatureMetadata(field_name=FIELD_NAME, **meta), self._signer, stamp_style=_look(look),
            timestamper=self.timestamper, signing_time=details.signed_at,
            new_field_spec=fields.SigFieldSpec(sig_field_name=FIELD_NAME, on_page=page_ix, box=box))
        return _off_any_loop(signer.sign_pdf, writer, bytes_reserved=self._reserved).getvalue()

    def seal_document(self, pdf: bytes, *, name: str, reason: str) -> bytes:
        """An invisible seal over a whole document (the proof file)."""
        writer = IncrementalPdfFileWriter(BytesIO(pdf), strict=False)
        meta = signers.PdfSignatureMetadata(
            field_name=PROOF_FIELD_NAME, subfilter=SigSeedSubFilter.PADES, md_algorithm="sha256",
            reason=reason, name=name, location="Quoteflow", **self._long_term())
        signer = signers.PdfSigner(meta, self._signer, timestamper=self.timestamper,
                                   new_field_spec=fields.SigFieldSpec(sig_field_name=PROOF_FIELD_NAME))
        return _off_any_loop(signer.sign_pdf, writer, bytes_reserved=self._reserved).getvalue()

    def seal_proof(self, proof: dict, *, proof_json_sha256: str, signature_png: bytes | None = None) -> bytes:
        """The proof file ("Dossier de preuve") as a PDF, sealed like the signed quote."""
        pdf = documents.proof_pdf(proof, proof_json_sha256=proof_json_sha256, signature_png=signature_png,
                                  tz=self.timezone)
        return self.seal_document(pdf, name=proof["signer"]["name"],
                                  reason=f"Dossier de preuve du devis {proof['request']['number']}".strip())

    def _add_signature_page(self, writer: IncrementalPdfFileWriter, d: SealDetails, *,
                            signature_page: int | None = None):
        pages = writer.root["/Pages"]
        count = int(pages["/Count"])
        last_ref, _ = writer.find_page_for_modification(count - 1)
        media_box = last_ref.get_object().get("/MediaBox") or generic.ArrayObject(
            map(generic.NumberObject, (0, 0, 595, 842)))
        x0, y0, x1, y1 = (float(v) for v in media_box)
        page = documents.certificate_page(d, x1 - x0, y1 - y0, self.timezone, signature_page=signature_page)
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
        if page.seal_box is None:
            return count, None
        bx0, by0, bx1, by1 = page.seal_box
        return count, (int(bx0 + x0), int(by0 + y0), int(bx1 + x0), int(by1 + y0))

    def verify_pdf(self, data: bytes) -> Verification:
        return verify_pdf(data, self.trusted, self.tsa_trust, ca_certs=self.ca_chain)

    def archive_due(self, data: bytes, now: datetime, *, older_than: timedelta, tsa_margin: timedelta) -> bool | None:
        """Whether ``data`` needs a fresh document timestamp (archive.archive_due); None when it carries no
        timestamp at all (a B-B seal: there is no timestamp chain to keep alive)."""
        last = archive.last_timestamp(data)
        if last is None:
            return None
        return archive.archive_due(last, now, older_than=older_than, tsa_margin=tsa_margin)

    def add_archive_timestamp(self, data: bytes) -> bytes:
        """``data`` with its last timestamp's validation data and a fresh document timestamp (B-LTA)."""
        if self.timestamper is None:
            raise ConfigError("SIGNATURE_TSA_URL is not set: a document timestamp needs a timestamp authority")
        roots = _unique([*self.ca_roots, *self.tsa_trust])
        if not roots:
            raise ConfigError("neither SIGNATURE_TSA_TRUST nor SIGNATURE_CA_CERTS is set: the last timestamp's "
                              "authority must be trusted to embed its validation data before timestamping anew")
        return archive.add_archive_timestamp(data, self.timestamper, trust_roots=roots,
                                             other_certs=self._carried[1:])


def _contents_untouched(data: bytes, sig) -> bool:
    """The bytes the seal cannot cover (its own /Contents) must be exactly the CMS, hex, zero-padded."""
    start, length, end, _ = (int(v) for v in sig.byte_range)
    gap = data[start + length:end]
    raw = bytes(sig.pkcs7_content)
    der = cms.ContentInfo.load(raw, strict=False).dump()
    if raw[:len(der)] != der or raw[len(der):].strip(b"\0"):
        return False
    return gap in (b"<" + raw.hex().encode() + b">", b"<" + raw.hex().upper().encode() + b">")


def _container_is_ours(sig, allowed: list) -> bool:
    """The CMS parts no signature covers must be exactly what our sealer writes: only ``allowed`` certificates.

    The only unsigned attribute allowed is an RFC 3161 token, itself signed by its authority.
    """
    signed_data = sig.signed_data
    ours = {cert.dump() for cert in allowed}
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


UNKNOWN_CERTIFICATE = "sealed by a certificate unknown here"


def verify_pdf(data: bytes, trusted: list, tsa_trust: list | None = None, *, ca_certs: list = ()) -> Verification:
    """Checks the last seal of ``data`` against ``trusted`` certificates; any change reads as altered.

    A seal by a certificate not in ``trusted`` is checked for changes against its own certificate: unchanged,
    it reads as ``unknown_certificate`` (a key replaced without keeping its certificate, or someone else's
    seal); it is never intact. A timestamp token, when present, must be intact and valid (its authority need
    not be trusted: ``timestamp_trusted`` says whether it is, against ``tsa_trust``).

    What may follow the seal, and nothing else: validation data (the DSS) and document timestamps (B-LT, B-LTA),
    each timestamp intact over the bytes it covers. With ``ca_certs`` (the seal's issuing chain) a file carrying
    validation data must also prove, with that data alone and nothing fetched, that the seal's certificate chained
    to their root and was not revoked when sealed.
    """
    ca_roots, intermediates = split_chain(list(ca_certs))
    try:
        reader = PdfFileReader(BytesIO(data), strict=False)
        seals = reader.embedded_regular_signatures
        if not seals:
            return Verification(intact=False, problem="the PDF carries no signature")
        sig = seals[-1]
        signer_cert = sig.signer_cert
        known = any(signer_cert.dump() == cert.dump() for cert in trusted)
        roots = list(trusted) if known else [signer_cert]
        if not (_contents_untouched(data, sig) and _container_is_ours(sig, [*roots, *intermediates])):
            return Verification(intact=False, problem="the signature container was changed")
        status = _off_any_loop(
            validate_pdf_signature, sig, signer_validation_context=ValidationContext(trust_roots=roots),
            ts_validation_context=ValidationContext(trust_roots=[*roots, *(tsa_trust or []), *ca_roots]))
        stamps = [(ts, _off_any_loop(validate_pdf_timestamp, ts, validation_context=ValidationContext(
            trust_roots=[*roots, *(tsa_trust or []), *ca_roots]))) for ts in archive.archive_timestamps(reader, sig)]
        level = archive.seal_level(reader, sig)
        long_term = archive.long_term_problem(sig, ca_roots) if ca_roots and archive.has_validation_data(reader) \
            else None
    except Exception as exc:  # a damaged file is an altered file
        return Verification(intact=False, problem=f"{type(exc).__name__}: {exc}")
    name = str(sig.sig_object.get("/Name", ""))
    reason = str(sig.sig_object.get("/Reason", ""))
    # Covered to the end, or followed only by validation data and document timestamps, ending with a revision.
    whole = status.coverage == SignatureCoverageLevel.ENTIRE_FILE or (
        status.coverage == SignatureCoverageLevel.ENTIRE_REVISION
        and status.modification_level == ModificationLevel.LTA_UPDATES and archive.ends_with_a_revision(data))
    # The certificates travel outside the signed bytes: the seal's own must be there, byte for byte.
    ours = status.signing_cert is not None and any(
        status.signing_cert.dump() == cert.dump() for cert in roots)
    token = status.timestamp_validity
    token_ok = token is None or bool(token.intact and token.valid)
    swapped = next((ts for ts, checked in stamps if not (checked.intact and checked.valid)), None)
    unchanged = bool(status.intact and whole and token_ok and swapped is None)
    intact = bool(known and unchanged and status.valid and status.trusted and ours and not long_term)
    fingerprint = hashlib.sha256(signer_cert.dump()).hexdigest()
    problem = "" if intact else (
        "the signed bytes were changed" if not status.intact else
        f"{UNKNOWN_CERTIFICATE} (certificate SHA-256 {fingerprint})" if not known and unchanged else
        "the seal is not from a trusted certificate" if not (status.trusted and ours) else
        "content was added after the seal" if not whole else
        "the timestamp token was changed" if not token_ok else
        f"the document timestamp {swapped.field_name!r} does not match the bytes it covers: it was swapped or "
        f"what it covers was changed" if swapped is not None else
        f"the validation data embedded in the file (DSS) no longer proves the seal certificate valid when it "
        f"sealed ({long_term})" if long_term else "the signature is invalid")
    stamped = token.timestamp if token is not None else None
    return Verification(intact=intact, signer=name, signed_at=stamped or status.signer_reported_dt,
                        problem=problem, reason=reason, timestamped_at=stamped,
                        timestamp_trusted=bool(token is not None and token.trusted),
                        certificate_sha256=fingerprint, certificate_subject=signer_cert.subject.human_friendly,
                        unknown_certificate=not known and unchanged, level=level,
                        archived_at=tuple(checked.timestamp for _, checked in stamps),
                        long_term_checked=long_term == "")
