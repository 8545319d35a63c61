"""Long-term evidence (PAdES B-LT, B-LTA): what a sealed PDF carries to stay checkable once its certificates have
expired and their revocation status can no longer be fetched.

The validation data (chain, OCSP responses, CRLs) sits in the PDF's document security store (DSS); a document
timestamp covers the whole file, that data included. Before the timestamp authority's certificate expires, a fresh
document timestamp is added over the previous one with the previous one's validation data
(``python -m services.signature extend-archive``). Each addition is an incremental update: every earlier revision,
the file as it was at signing among them, stays a prefix of the file, so every hash recorded before still names
one of its revisions (``revision_sha256s``).
"""
from __future__ import annotations

import asyncio
import hashlib
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from io import BytesIO

from asn1crypto import cms
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.ades.report import AdESStatus
from pyhanko.sign.signers import PdfTimeStamper
from pyhanko.sign.validation.ades import ades_lta_validation
from pyhanko.sign.validation.policy_decl import (CertificateFetchingRule, PdfSignatureValidationSpec,
                                                 RevinfoOnlineFetchingRule, RevocationInfoGatheringSpec,
                                                 SignatureValidationSpec)
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.context import CertValidationPolicySpec
from pyhanko_certvalidator.policy_decl import REQUIRE_REVINFO, CertRevTrustPolicy
from pyhanko_certvalidator.registry import SimpleTrustManager

from services.signature.domain.model import pades_level

_END_OF_REVISION = re.compile(rb"%%EOF[ \t]*(?:\r\n|\r|\n)?")


def off_any_loop(call, *args, **kwargs):
    """pyHanko's sync API runs asyncio.run(): it cannot run on a thread whose event loop is running
    (an asyncio or greenlet host, e.g. Playwright's sync API); there it runs on a thread of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return call(*args, **kwargs)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="seal") as pool:
        return pool.submit(call, *args, **kwargs).result()


def revision_sha256s(data: bytes) -> list[str]:
    """The SHA-256 of each revision of ``data`` as the file it was (its bytes up to that revision's %%EOF), oldest
    first, then of the whole file. A signed PDF extended later still matches the hash recorded at signing."""
    ends = [match.end() for match in _END_OF_REVISION.finditer(data)]
    return list(dict.fromkeys(hashlib.sha256(data[:end]).hexdigest() for end in [*ends, len(data)]))


def ends_with_a_revision(data: bytes) -> bool:
    """Nothing after the last %%EOF: bytes appended without a revision are a change no signature covers."""
    return data.rstrip(b"\r\n\t ").endswith(b"%%EOF")


def archive_timestamps(reader: PdfFileReader, seal) -> list:
    """The document timestamps added after ``seal``, oldest first."""
    return [ts for ts in reader.embedded_timestamp_signatures if ts.signed_revision > seal.signed_revision]


def has_validation_data(reader: PdfFileReader) -> bool:
    return "/DSS" in reader.root


def _signature_token(seal) -> cms.ContentInfo | None:
    """The RFC 3161 token the seal's CMS carries (PAdES B-T), if any."""
    attrs = seal.signer_info["unsigned_attrs"]
    for attr in attrs if attrs.native else []:
        if attr["type"].native == "signature_time_stamp_token":
            return attr["values"][0]
    return None


def seal_level(reader: PdfFileReader, seal) -> str:
    """The PAdES level the file gives ``seal``: B-B, B-T, B-LT or B-LTA."""
    return pades_level(timestamped=_signature_token(seal) is not None, validation_data=has_validation_data(reader),
                       archive_timestamps=len(archive_timestamps(reader, seal)))


@dataclass(frozen=True)
class LastTimestamp:
    at: datetime                  # the token's time
    tsa_expires: datetime | None  # when the certificate of the authority that signed it expires


def _tsa_certificate(signed_data: cms.SignedData):
    sid = signed_data["signer_infos"][0]["sid"]
    for choice in signed_data["certificates"]:
        cert = choice.chosen
        if sid.name == "issuer_and_serial_number":
            if cert.issuer == sid.chosen["issuer"] and cert.serial_number == sid.chosen["serial_number"].native:
                return cert
        elif cert.key_identifier == sid.chosen.native:
            return cert
    return None


def last_timestamp(data: bytes) -> LastTimestamp | None:
    """The newest timestamp of a sealed PDF: its last document timestamp, else its seal's; None without any."""
    reader = PdfFileReader(BytesIO(data), strict=False)
    stamps = reader.embedded_timestamp_signatures
    if stamps:
        signed_data = stamps[-1].signed_data
    else:
        seals = reader.embedded_regular_signatures
        token = _signature_token(seals[-1]) if seals else None
        if token is None:
            return None
        signed_data = token["content"]
    tst = signed_data["encap_content_info"]["content"].parsed
    tsa = _tsa_certificate(signed_data)
    return LastTimestamp(at=tst["gen_time"].native, tsa_expires=tsa.not_valid_after if tsa is not None else None)


def archive_due(last: LastTimestamp, now: datetime, *, older_than: timedelta, tsa_margin: timedelta) -> bool:
    """A fresh document timestamp is due when the last one is ``older_than``, or its authority's certificate
    expires within ``tsa_margin`` (after that, the last timestamp could no longer be checked to renew it)."""
    return now - last.at >= older_than or (last.tsa_expires is not None and last.tsa_expires - now <= tsa_margin)


def add_archive_timestamp(data: bytes, timestamper, *, trust_roots: list, other_certs: list = ()) -> bytes:
    """``data`` plus the last timestamp's validation data and a new document timestamp (an incremental update).

    ``trust_roots`` must reach the authority that signed the last timestamp: its validation data is fetched now,
    while it can be."""
    context = ValidationContext(trust_roots=list(trust_roots), other_certs=list(other_certs), allow_fetching=True)
    reader = PdfFileReader(BytesIO(data), strict=False)
    out = off_any_loop(PdfTimeStamper(timestamper).update_archival_timestamp_chain, reader, context,
                       in_place=False)
    return out.getvalue()


def long_term_problem(seal, trust_roots: list) -> str:
    """"" when the data the file carries, and nothing fetched, shows the seal's certificate chaining to
    ``trust_roots`` and unrevoked when it was sealed, every timestamp of the chain likewise; else what fails."""
    policy = CertValidationPolicySpec(trust_manager=SimpleTrustManager.build(trust_roots=list(trust_roots)),
                                      revinfo_policy=CertRevTrustPolicy(REQUIRE_REVINFO))
    spec = PdfSignatureValidationSpec(SignatureValidationSpec(
        cert_validation_policy=policy,
        revinfo_gathering_policy=RevocationInfoGatheringSpec(
            online_fetching_rule=RevinfoOnlineFetchingRule.LOCAL_ONLY,
            certificate_fetching_rule=CertificateFetchingRule.NEVER_FETCH)))
    result = off_any_loop(asyncio.run, ades_lta_validation(seal, spec))
    if result.ades_subindic.status == AdESStatus.PASSED:
        return ""
    return f"{result.ades_subindic.name}" + (f": {result.failure_msg}" if result.failure_msg else "")
