"""The drawn signature, the proof file (PDF + JSON), GetDocument, Verify and ``python -m services.signature verify``."""
import hashlib
import json
import os
import subprocess
import sys
from datetime import timedelta
from io import BytesIO
from pathlib import Path

import grpc
import pytest
from pypdf import PdfReader

from quoteflow.envelope import rfc3339
from quoteflow.v1 import signature_pb2
from services.signature.adapters.seal import PdfSealer
from services.signature.bootstrap import bootstrap
from services.signature.domain import commands
from tests.integration.signature.support import (AUTH, drawn_signature, error_of, outbox, sign_request,
                                                 violations)
from tests.support.children import pythonpath

ROOT = Path(__file__).resolve().parents[3]


def document(grpc_stub, tenant, request_id, kind) -> signature_pb2.Document:
    return grpc_stub.GetDocument(signature_pb2.GetDocumentRequest(tenant_id=tenant, request_id=request_id, kind=kind),
                                 metadata=AUTH)


@pytest.fixture
def signed(app, grpc_stub, send, tenant):
    """A quote signed with a drawn signature: (quote.sent, SignResponse, drawn PNG)."""
    sent = send()
    png = drawn_signature()
    response = grpc_stub.Sign(sign_request(sent, signature_png=png), metadata=AUTH)
    return sent, response, png


def test_the_drawn_signature_is_stored_hashed_in_the_evidence_and_drawn_on_the_seal_page(
        app, grpc_stub, blobs, signed, tenant):
    sent, response, png = signed
    got = grpc_stub.GetRequest(signature_pb2.GetRequestRequest(tenant_id=tenant, quote_id=sent.payload().quote_id),
                               metadata=AUTH)
    png_sha = hashlib.sha256(png).hexdigest()
    assert got.signature_png_sha256 == png_sha and blobs.get(png_sha) == png
    assert json.loads(got.evidence[-1].data_json)["signature_png_sha256"] == png_sha
    sealed = blobs.get(response.signed_pdf_sha256)
    page = PdfReader(BytesIO(sealed)).pages[-1]
    assert "Signature manuscrite" in page.extract_text() and "Zoë Lœwy" in page.extract_text()
    form = page["/Resources"]["/XObject"]["/Cert"].get_object()
    images = [x.get_object() for x in form["/Resources"]["/XObject"].values()]
    assert any(x["/Subtype"] == "/Image" and (x["/Width"], x["/Height"]) == (600, 200) for x in images)
    assert app.dependencies["sealer"].verify_pdf(sealed).intact


def test_a_bad_drawing_is_refused_before_anything_happens(app, grpc_stub, send):
    sent = send()
    for data, why in ((b"GIF89a....", "not a PNG"), (drawn_signature(8, 8), "size"),
                      (drawn_signature()[:100], "cannot be read")):
        error = error_of(lambda: grpc_stub.Sign(sign_request(sent, signature_png=data), metadata=AUTH))
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and why in violations(error)["signature_png"]
    assert outbox(app, "signature.completed") == []


def test_the_proof_pdf_lists_everything_and_names_the_json(app, grpc_stub, blobs, signed, tenant):
    sent, response, png = signed
    [completed] = outbox(app, "signature.completed")
    c = completed.payload()
    assert c.proof_sha256 == response.proof_sha256
    proof_pdf = blobs.get(c.proof_sha256)
    proof_json = blobs.get(response.proof_json_sha256)
    proof = json.loads(proof_json)
    text = "\n".join(page.extract_text() for page in PdfReader(BytesIO(proof_pdf)).pages)
    flat = "".join(text.split())
    assert "Dossier de preuve" in text and "Zoë Lœwy" in text and "zoe@client.fr" in text
    assert "1 234,56 €" in text.replace("\u202f", " ").replace("\xa0", " ")
    for sha in (sent.payload().pdf_sha256, c.signed_pdf_sha256, response.proof_json_sha256,
                hashlib.sha256(png).hexdigest(), proof["consent"]["sha256"], c.evidence_sha256):
        assert sha in flat, sha
    for entry in proof["evidence"]:
        assert entry["sha256"] in flat and entry["at"] in flat
    assert "203.0.113.9" in text and "Firefox/133" in text
    assert "python -m services.signature" not in text  # a developer's command: the README has it, not the client
    assert "tout lecteur PDF (panneau Signatures)" in " ".join(text.split())
    assert proof["consent"]["text"].replace("\u202f", " ").replace("\xa0", " ") in \
        " ".join(text.replace("\u202f", " ").replace("\xa0", " ").split())
    verdict = app.dependencies["sealer"].verify_pdf(proof_pdf)
    assert verdict.intact and verdict.reason == "Dossier de preuve du devis DV-2026-00042"


def test_get_document_serves_each_kind_by_tenant(grpc_stub, blobs, signed, tenant, send):
    sent, response, _ = signed
    expected = {
        "signed_pdf": ("Devis-DV-2026-00042-signe.pdf", "application/pdf", response.signed_pdf_sha256),
        "proof_pdf": ("Preuves-DV-2026-00042.pdf", "application/pdf", response.proof_sha256),
        "proof_json": ("Preuves-DV-2026-00042.json", "application/json", response.proof_json_sha256),
    }
    for kind, (filename, content_type, sha) in expected.items():
        doc = document(grpc_stub, tenant, response.request_id, kind)
        assert (doc.filename, doc.content_type, doc.sha256) == (filename, content_type, sha)
        assert hashlib.sha256(doc.content).hexdigest() == sha
    error = error_of(lambda: document(grpc_stub, "another-tenant", response.request_id, "signed_pdf"))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    error = error_of(lambda: document(grpc_stub, tenant, response.request_id, "original"))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and "kind" in violations(error)
    unsigned = grpc_stub.GetRequest(signature_pb2.GetRequestRequest(
        tenant_id=tenant, quote_id=send().payload().quote_id), metadata=AUTH)
    error = error_of(lambda: document(grpc_stub, tenant, unsigned.request_id, "proof_pdf"))
    assert error.code() == grpc.StatusCode.NOT_FOUND and "open" in error.details()


def flip(data: bytes, position: int) -> bytes:
    changed = bytearray(data)
    changed[position] ^= 0x01
    return bytes(changed)


def test_verify_says_intact_who_and_when_and_spots_one_changed_byte(grpc_stub, blobs, signed, tenant):
    _, response, _ = signed
    sealed = blobs.get(response.signed_pdf_sha256)
    proof = blobs.get(response.proof_sha256)

    def verify(pdf, tenant_id=tenant):
        return grpc_stub.Verify(signature_pb2.VerifyRequest(pdf=pdf, tenant_id=tenant_id), metadata=AUTH)

    ok = verify(sealed)
    assert ok.intact and ok.signer_name == "Zoë Lœwy" and ok.request_id == response.request_id
    assert ok.kind == "signed_pdf" and ok.sha256 == response.signed_pdf_sha256 and ok.signed_at
    assert ok.reason == "Acceptation du devis DV-2026-00042"
    proof_ok = verify(proof)
    assert proof_ok.intact and proof_ok.kind == "proof_pdf" and proof_ok.request_id == response.request_id
    assert verify(sealed, "another-tenant").request_id == ""

    for data in (sealed, proof):
        for position in (len(data) // 2, len(data) - 20):
            altered = verify(flip(data, position))
            assert not altered.intact and altered.reason and altered.signer_name == ""
            assert altered.request_id == ""
    assert not verify(b"%PDF-1.7 nothing").intact
    error = error_of(lambda: verify(b""))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT


def run_verify(*args, cwd=ROOT, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "services.signature", "verify", *map(str, args)], cwd=cwd,
                          env={**os.environ, "PYTHONPATH": pythonpath(ROOT), **(env or {})}, capture_output=True,
                          text=True, timeout=60)


def test_the_verify_command_prints_intact_or_altered(cfg, blobs, signed, tmp_path):
    _, response, _ = signed
    folder = tmp_path / "files"
    folder.mkdir()
    files = {}
    for name, sha in (("Devis-DV-2026-00042-signe.pdf", response.signed_pdf_sha256),
                      ("Preuves-DV-2026-00042.pdf", response.proof_sha256),
                      ("Preuves-DV-2026-00042.json", response.proof_json_sha256)):
        files[name] = folder / name
        files[name].write_bytes(blobs.get(sha))

    env = {"SIGNATURE_KEY_DIR": str(cfg.key_dir)}
    result = run_verify(*files.values(), env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count(": intact") == 3 and "altered" not in result.stdout
    assert result.stdout.count("signataire : Zoë Lœwy") == 3 and "scellé le : " in result.stdout

    sealed = files["Devis-DV-2026-00042-signe.pdf"]
    sealed.write_bytes(flip(sealed.read_bytes(), 300))
    proof = json.loads(files["Preuves-DV-2026-00042.json"].read_text())
    proof["evidence"][1]["ip"] = "192.0.2.66"
    files["Preuves-DV-2026-00042.json"].write_text(json.dumps(proof, ensure_ascii=False))
    result = run_verify(*files.values(), "--cert", cfg.key_dir / "seal-cert.pem")
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert f"{sealed}: altered" in lines
    assert f"{files['Preuves-DV-2026-00042.pdf']}: intact" in lines
    assert f"{files['Preuves-DV-2026-00042.json']}: altered" in lines and "entry 2" in result.stdout

    missing = run_verify(files["Preuves-DV-2026-00042.pdf"], env={"SIGNATURE_KEY_DIR": str(tmp_path / "none")})
    assert missing.returncode == 2 and "no seal certificate" in missing.stderr


class OpenedWhileSealing(PdfSealer):
    """A real sealer that takes ``slow`` (on the test clock), during which the signer's page records an "opened"
    (another writer)."""

    app = None
    command = None
    clock = None
    slow = timedelta(seconds=2)

    def seal(self, pdf, details):
        sealed = super().seal(pdf, details)
        if self.command is not None:
            command, self.command = self.command, None
            self.clock.advance(seconds=self.slow.total_seconds())
            self.app.handle(command)
        return sealed


def test_evidence_written_while_sealing_comes_before_the_signature_in_the_chain_and_in_time(cfg, clock, send,
                                                                                             blobs):
    """The rule: a chain's times never go back. The "opened" recorded while the seal was being made precedes the
    consent and the signature, which are dated when written (after it); the seal's time, earlier, is kept as
    the "signed" entry's data.signed_at and is the signature's time everywhere else (proof, event)."""
    sealer = OpenedWhileSealing(cfg.key_dir)
    app = bootstrap(cfg, sealer=sealer, clock=clock)
    try:
        sent = send()  # opened through the fixture's app, on the same database
        p = sent.payload()
        sealer.app, sealer.clock = app, clock
        sealer.command = commands.RecordOpened(tenant=sent.tenant, quote_id=p.quote_id, version=p.version,
                                               ip="198.51.100.7", user_agent="Edge/131")
        signed = app.handle(commands.Sign(tenant=sent.tenant, quote_id=p.quote_id, version=p.version,
                                          document_sha256=p.pdf_sha256, signer_name="Zoë Lœwy", consent=True))
        assert [e.step for e in signed.evidence] == ["sent", "opened", "consented", "signed"]
        times = [e.at for e in signed.evidence]
        assert times == sorted(times), times
        _, opened, consented, last = signed.evidence
        sealed_at = rfc3339(signed.signature.signed_at)
        # dated when written, after the "opened" (not merely pulled up to its time)
        assert last.data["signed_at"] == sealed_at < opened.at < consented.at <= last.at
        proof = json.loads(blobs.get(signed.signature.proof_json_sha256))
        assert [e["step"] for e in proof["evidence"]] == ["sent", "opened", "consented", "signed"]
        assert [e["at"] for e in proof["evidence"]] == times and proof["signer"]["signed_at"] == sealed_at
        [completed] = outbox(app, "signature.completed")
        assert completed.payload().evidence_sha256 == signed.evidence_sha256 == proof["evidence_sha256"]
        assert completed.payload().signed_at == sealed_at
        seal = app.dependencies["sealer"].verify_pdf(blobs.get(signed.signature.signed_pdf_sha256))
        assert seal.intact and seal.signed_at == signed.signature.signed_at.replace(microsecond=0)  # to the second
    finally:
        app.engine.dispose()


def test_a_name_in_any_script_the_pdf_prints_is_drawn_as_typed_and_one_it_cannot_print_is_refused(
        app, grpc_stub, blobs, send):
    sent = send()
    error = error_of(lambda: grpc_stub.Sign(sign_request(sent, signer_name="王 Zoë"), metadata=AUTH))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violations(error) == {"signer_name": "U+738B '王' cannot be printed in the PDF (no font has it)"}
    response = grpc_stub.Sign(sign_request(sent, signer_name="سارة بن علي 👍"), metadata=AUTH)
    text = PdfReader(BytesIO(blobs.get(response.signed_pdf_sha256))).pages[-1].extract_text()
    assert "سارة بن علي" in text and "👍" in text  # joined and right to left when drawn, read back as typed
