"""PAdES B-LTA against a real PKI (certomancer on loopback): the seal carries its validation data and a document
timestamp, stays valid as of its signing once its certificate is revoked, is extended by extend-archive, and a
removed DSS entry or a swapped timestamp reads as altered."""
import asyncio
import json
import shutil
import subprocess
from datetime import datetime, timedelta, timezone
from functools import partial
from io import BytesIO

import pytest
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.ades.report import AdESStatus
from pyhanko.sign.timestamps.requests_client import RequestsHTTPTimeStamper
from pyhanko.sign.validation.ades import ades_lta_validation
from pyhanko.sign.validation.policy_decl import (CertificateFetchingRule, PdfSignatureValidationSpec,
                                                 RevinfoOnlineFetchingRule, RevocationInfoGatheringSpec,
                                                 SignatureValidationSpec)
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.context import CertValidationPolicySpec
from pyhanko_certvalidator.errors import RevokedError
from pyhanko_certvalidator.policy_decl import REQUIRE_REVINFO, CertRevTrustPolicy
from pyhanko_certvalidator.registry import SimpleTrustManager
from pypdf import PdfReader

from quoteflow.v1 import signature_pb2
from services.signature import handlers, verify_cli
from services.signature.adapters.seal import PdfSealer, _off_any_loop
from tests.integration.signature.pki import start_pki
from tests.integration.signature.support import AUTH, make_config, sign_request

LTA_TEXT = "PAdES B-LTA (données de validation et horodatage d'archive intégrés)"


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    running = start_pki(tmp_path_factory.mktemp("pki"))
    yield running
    running.stop()


@pytest.fixture
def cfg(tmp_path, pki):
    return make_config(tmp_path, key_file=pki.key("seal"), cert_file=pki.pem("seal"),
                       ca_cert_files=(pki.pem("interm"), pki.pem("root")), tsa_url=pki.tsa_url,
                       tsa_trust_file=pki.pem("root"))


def lta_validation(pdf: bytes, root):
    """pyHanko's own PAdES LTA validation (ETSI EN 319 102-1 § 5.6.3) with ``root`` trusted and nothing fetched."""
    seal = PdfFileReader(BytesIO(pdf), strict=False).embedded_regular_signatures[-1]
    spec = PdfSignatureValidationSpec(SignatureValidationSpec(
        cert_validation_policy=CertValidationPolicySpec(trust_manager=SimpleTrustManager.build(trust_roots=[root]),
                                                        revinfo_policy=CertRevTrustPolicy(REQUIRE_REVINFO)),
        revinfo_gathering_policy=RevocationInfoGatheringSpec(
            online_fetching_rule=RevinfoOnlineFetchingRule.LOCAL_ONLY,
            certificate_fetching_rule=CertificateFetchingRule.NEVER_FETCH)))
    return _off_any_loop(asyncio.run, ades_lta_validation(seal, spec))


def assert_lta_valid(pdf: bytes, root) -> None:
    result = lta_validation(pdf, root)
    status = result.api_status
    print(f"pyHanko LTA validation: {result.ades_subindic} (evidence record from "
          f"{result.oldest_evidence_record_timestamp})\n{status.pretty_print_details()}")
    assert result.ades_subindic.status == AdESStatus.PASSED, result.failure_msg
    assert status.intact and status.valid and status.trusted and status.bottom_line
    assert status.timestamp_validity is not None and status.timestamp_validity.intact \
        and status.timestamp_validity.trusted
    assert result.signature_timestamp_status.ades_subindic.status == AdESStatus.PASSED
    assert result.oldest_evidence_record_timestamp is not None   # a validated document timestamp chain: LTA


def signed(app, grpc_stub, send, blobs):
    response = grpc_stub.Sign(sign_request(send()), metadata=AUTH)
    return response, blobs.get(response.signed_pdf_sha256), blobs.get(response.proof_sha256)


def test_the_seal_and_the_proof_reach_b_lta_valid_with_embedded_data_only(app, grpc_stub, send, blobs, pki):
    response, quote, proof = signed(app, grpc_stub, send, blobs)
    for pdf in (quote, proof):
        assert_lta_valid(pdf, pki.cert("root"))
        verdict = app.dependencies["sealer"].verify_pdf(pdf)
        assert verdict.intact and verdict.level == "B-LTA" and verdict.long_term_checked, verdict.problem
        assert len(verdict.archived_at) == 1
    proof_json = json.loads(blobs.get(response.proof_json_sha256))
    assert proof_json["document"]["seal_level"] == "B-LTA"
    proof_text = " ".join(" ".join(page.extract_text().split()) for page in PdfReader(BytesIO(proof)).pages)
    assert f"Niveau du cachet {LTA_TEXT}" in proof_text
    certificate_page = " ".join(PdfReader(BytesIO(quote)).pages[-1].extract_text().split())
    assert f"Niveau du cachet {LTA_TEXT}" in certificate_page


def test_pdfsig_validates_the_seal_against_the_root(app, grpc_stub, send, blobs, pki, tmp_path):
    _, quote, _ = signed(app, grpc_stub, send, blobs)
    if shutil.which("pdfsig") is None or shutil.which("certutil") is None:
        pytest.fail("pdfsig and certutil are needed: scripts/ensure-debian-packages.sh /usr/bin/pdfsig poppler-utils;"
                    " scripts/ensure-debian-packages.sh /usr/bin/certutil libnss3-tools")
    nss = tmp_path / "nss"
    nss.mkdir()
    subprocess.run(["certutil", "-N", "-d", f"sql:{nss}", "--empty-password"], check=True)
    subprocess.run(["certutil", "-A", "-d", f"sql:{nss}", "-n", "racine", "-t", "CT,C,C", "-i",
                    str(pki.pem("root"))], check=True)
    (tmp_path / "quote.pdf").write_bytes(quote)
    out = subprocess.run(["pdfsig", "-nssdir", f"sql:{nss}", str(tmp_path / "quote.pdf")], capture_output=True,
                         text=True, timeout=30)
    print(out.stdout, out.stderr)
    seal, timestamp = out.stdout.split("Signature #2:")
    assert "Signer Certificate Common Name: Quoteflow - cachet de test" in seal
    assert "Signature Type: ETSI.CAdES.detached" in seal
    assert "Signature Validation: Signature is Valid." in seal
    # Without the root in its NSS database pdfsig says "Certificate issuer is unknown."; with it, the chain is
    # built to the root. pdfsig 22.12 (NSS) then still answers "Unknown issue with Certificate or corrupted data."
    # for every seal, the self-signed default's too: not a verdict on this PKI's chain.
    assert "Certificate issuer is unknown" not in seal and "Certificate issuer isn't Trusted" not in seal
    assert "Certificate has been Revoked" not in seal
    assert "Signer Certificate Common Name: Horodatage de test" in timestamp   # the document timestamp


def test_a_seal_revoked_after_signing_stays_valid_as_of_its_signing(app, grpc_stub, send, blobs, pki):
    _, quote, _ = signed(app, grpc_stub, send, blobs)
    with pki.revoked("seal", since=datetime.now(timezone.utc)):
        asked_now = ValidationContext(trust_roots=[pki.cert("root")], other_certs=[pki.cert("interm")],
                                      allow_fetching=True, revocation_mode="hard-fail")
        with pytest.raises(RevokedError):  # the responder says so today
            _off_any_loop(asyncio.run, CertificateValidator(pki.cert("seal"), validation_context=asked_now)
                          .async_validate_usage({"non_repudiation"}))
        assert_lta_valid(quote, pki.cert("root"))   # what the file carries proves it good when sealed
        verdict = app.dependencies["sealer"].verify_pdf(quote)
        assert verdict.intact and verdict.long_term_checked, verdict.problem


def _verify(tmp_path, pki, pdf: bytes, capsys) -> tuple[int, str]:
    path = tmp_path / "checked.pdf"
    path.write_bytes(pdf)
    code = verify_cli.main([str(path), "--cert", str(pki.pem("seal")), "--ca", str(pki.pem("interm")),
                            "--ca", str(pki.pem("root"))])
    return code, capsys.readouterr().out


def test_verify_reads_the_intact_file_with_its_level(app, grpc_stub, send, blobs, pki, tmp_path, capsys):
    _, quote, _ = signed(app, grpc_stub, send, blobs)
    code, out = _verify(tmp_path, pki, quote, capsys)
    print(out)
    assert code == 0 and ": intact" in out and f"niveau du cachet : {LTA_TEXT}" in out
    assert "horodatage d'archive (document)" in out and "données de validation intégrées" in out


def test_a_removed_dss_entry_reads_as_altered(app, grpc_stub, send, blobs, pki, tmp_path, capsys):
    _, quote, _ = signed(app, grpc_stub, send, blobs)
    writer = IncrementalPdfFileWriter(BytesIO(quote), strict=False)
    dss = writer.root["/DSS"]
    assert "/OCSPs" in dss and "/CRLs" in dss
    del dss["/OCSPs"]
    del dss["/CRLs"]
    writer.update_container(dss)
    out_buf = BytesIO()
    writer.write(out_buf)
    code, out = _verify(tmp_path, pki, out_buf.getvalue(), capsys)
    print(out)
    assert code == 1 and ": altered" in out
    assert "the validation data embedded in the file (DSS) no longer proves the seal certificate valid" in out


def test_a_swapped_document_timestamp_reads_as_altered(app, grpc_stub, send, blobs, pki, tmp_path, capsys):
    _, quote, _ = signed(app, grpc_stub, send, blobs)
    stamp = PdfFileReader(BytesIO(quote), strict=False).embedded_timestamp_signatures[-1]
    token = _off_any_loop(asyncio.run, RequestsHTTPTimeStamper(pki.tsa_url).async_timestamp(b"\x01" * 32, "sha256"))
    other = token.dump().hex().encode()   # a genuine token from the same authority, over other bytes
    _, gap_start, gap_end, _ = (int(v) for v in stamp.byte_range)
    room = gap_end - gap_start - 2                     # between "<" and ">"
    assert len(other) <= room
    swapped = quote[:gap_start + 1] + other.ljust(room, b"0") + quote[gap_end - 1:]
    assert len(swapped) == len(quote)
    code, out = _verify(tmp_path, pki, swapped, capsys)
    print(out)
    assert code == 1 and ": altered" in out
    assert f"the document timestamp {stamp.field_name!r} does not match the bytes it covers" in out


class KilledAfter(PdfSealer):
    """The service's sealer, killed (as Ctrl-C would) when about to add its ``n+1``-th document timestamp."""

    def __init__(self, sealer: PdfSealer, n: int):
        self.__dict__.update(sealer.__dict__)
        self.left = n

    def add_archive_timestamp(self, data: bytes) -> bytes:
        if self.left == 0:
            raise KeyboardInterrupt
        self.left -= 1
        return super().add_archive_timestamp(data)


def test_extend_archive_renews_old_timestamps_once_and_resumes_after_a_kill(app, grpc_stub, send, blobs, pki,
                                                                             tenant, tmp_path, capsys):
    pki.tsa_time = datetime.now(timezone.utc) - timedelta(days=30)   # sealed a month ago, as the authority says
    try:
        first, quote, proof = signed(app, grpc_stub, send, blobs)
        second, _, _ = signed(app, grpc_stub, send, blobs)
    finally:
        pki.tsa_time = None
    extend = partial(handlers.extend_archive, older_than=timedelta(days=7), tsa_margin=timedelta(days=30))
    sealer = app.dependencies["sealer"]

    with pytest.raises(KeyboardInterrupt):
        extend(app.uow(), blobs, KilledAfter(sealer, 1), app.dependencies["clock"])
    resumed = app.query(extend)
    assert len(resumed.extended) == 3 and resumed.fresh == 1 and not resumed.failed
    again = app.query(extend)
    assert again.extended == [] and again.fresh == 4 and not again.failed

    served = grpc_stub.GetDocument(signature_pb2.GetDocumentRequest(
        tenant_id=tenant, request_id=first.request_id, kind="signed_pdf"), metadata=AUTH)
    assert served.sha256 != first.signed_pdf_sha256 and served.content.startswith(quote)
    assert_lta_valid(served.content, pki.cert("root"))
    verdict = sealer.verify_pdf(served.content)
    assert verdict.intact and verdict.level == "B-LTA" and len(verdict.archived_at) == 2, verdict.problem
    checked = grpc_stub.Verify(signature_pb2.VerifyRequest(pdf=served.content, tenant_id=tenant),
                              metadata=AUTH)
    assert checked.intact and checked.request_id == first.request_id and checked.kind == "signed_pdf"

    # The proof JSON still names the signed PDF as sealed, and the extended proof PDF still vouches for it.
    proof_doc = grpc_stub.GetDocument(signature_pb2.GetDocumentRequest(
        tenant_id=tenant, request_id=first.request_id, kind="proof_pdf"), metadata=AUTH)
    assert proof_doc.content.startswith(proof) and proof_doc.content != proof
    (tmp_path / "Preuves.pdf").write_bytes(proof_doc.content)
    (tmp_path / "Preuves.json").write_bytes(blobs.get(first.proof_json_sha256))
    code = verify_cli.main([str(tmp_path / "Preuves.json"), "--cert", str(pki.pem("seal")),
                            "--ca", str(pki.pem("interm")), "--ca", str(pki.pem("root"))])
    out = capsys.readouterr().out
    assert code == 0, out
    assert second.request_id != first.request_id



def test_the_operator_command_extends_what_is_due_then_nothing(app, grpc_stub, send, blobs, pki, cfg, monkeypatch,
                                                                capsys):
    from services.signature.__main__ import main

    pki.tsa_time = datetime.now(timezone.utc) - timedelta(days=400)
    try:
        signed(app, grpc_stub, send, blobs)
    finally:
        pki.tsa_time = None
    for name, value in {"SIGNATURE_DATABASE_URL": cfg.common.database_url, "BROKER_URL": cfg.common.broker_url,
                        "BLOB_DIR": str(cfg.common.blob_dir), "SIGNATURE_KEY_DIR": str(cfg.key_dir),
                        "SIGNATURE_KEY_FILE": str(cfg.key_file), "SIGNATURE_CERT_FILE": str(cfg.cert_file),
                        "SIGNATURE_CA_CERTS": ",".join(map(str, cfg.ca_cert_files)),
                        "SIGNATURE_TSA_URL": cfg.tsa_url, "SIGNATURE_TSA_TRUST": str(cfg.tsa_trust_file)}.items():
        monkeypatch.setenv(name, value)
    main(["extend-archive"])          # a year old by default
    assert "extend-archive: 2 document(s) extended, 0 recent enough" in capsys.readouterr().out
    main(["extend-archive", "--before-days", "30"])
    assert "extend-archive: 0 document(s) extended, 2 recent enough" in capsys.readouterr().out


def test_a_self_signed_seal_with_a_timestamp_is_extended_too(pki, tmp_path):
    from services.signature.domain.model import SealDetails
    from tests.integration.signature.support import quote_pdf

    sealer = PdfSealer(tmp_path / "keys", timestamper=RequestsHTTPTimeStamper(pki.tsa_url), tsa_trust=[pki.cert("root")])
    original = quote_pdf()
    sealed = sealer.seal(original, SealDetails(signer_name="Zoë Lœwy", signer_email="zoe@client.fr",
                                               signed_at=datetime.now(timezone.utc), reference="r", level=sealer.level))
    assert sealer.level == "B-T" and sealer.verify_pdf(sealed).level == "B-T"
    extended = sealer.add_archive_timestamp(sealed)
    assert extended.startswith(sealed)
    verdict = sealer.verify_pdf(extended)
    assert verdict.intact and len(verdict.archived_at) == 1, verdict.problem
    assert not sealer.archive_due(extended, datetime.now(timezone.utc), older_than=timedelta(days=1),
                                  tsa_margin=timedelta(days=30))
