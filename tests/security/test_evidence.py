"""Evidence: a signed PDF or proof changed by one byte is reported altered (Verify RPC and the CLI); an edited
evidence entry breaks the chain."""
from __future__ import annotations

import json
import re
import subprocess
import sys
import uuid
from pathlib import Path

import grpc
import pytest

from quoteflow.auth import KeyRing
from quoteflow.blobs import FolderBlobStore
from quoteflow.envelope import Envelope
from quoteflow.grpcserver import build_server
from quoteflow.v1 import common_pb2, events_pb2, signature_pb2, signature_pb2_grpc
from services.signature import verify_cli
from tests.integration.signature.support import AUTH, SERVICE_KEY, make_config, quote_pdf, sign_request
from tests.security.report import TALLY

ROOT = Path(__file__).resolve().parents[2]
POSITIONS = 24
SIGNER = "Zoë <script>alert(1)</script> {{7*7}} ${7*7}"


@pytest.fixture(scope="module")
def signed(tmp_path_factory):
    """A quote signed through the real signature service: (stub, tenant, SignResponse, blobs, config)."""
    from services.signature.bootstrap import bootstrap
    from services.signature.entrypoints.consumer import make_handler
    from services.signature.entrypoints.grpc_api import SignatureServicer

    tmp = tmp_path_factory.mktemp("evidence")
    cfg = make_config(tmp)
    app = bootstrap(cfg)
    blobs = FolderBlobStore(cfg.common.blob_dir)
    tenant, quote_id = "tenant-ev", "q-" + uuid.uuid4().hex[:8]
    payload = events_pb2.QuoteSent(
        quote_id=quote_id, number="DV-2026-00099", version=1, kind="send", pdf_sha256=blobs.put(quote_pdf()),
        recipient=common_pb2.Party(id="ct", name="Zoë <b>Lœwy</b>", email="zoe@client.fr"),
        assignee=common_pb2.Party(id="u", name="Hélène", email="helene@vendeur.fr"), signature_requested=True,
        snapshot=common_pb2.QuoteSnapshot(quote_id=quote_id, number="DV-2026-00099", version=1))
    sent = Envelope.wrap(payload, source="quoteflow/quotes", subject=f"quote/{quote_id}", tenant=tenant)
    make_handler(app)(sent)
    server, port, _ = build_server("127.0.0.1:0", [lambda s: signature_pb2_grpc.add_SignatureServiceServicer_to_server(
        SignatureServicer(app), s)], ["quoteflow.v1.SignatureService"], KeyRing({}, SERVICE_KEY))
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}", options=[("grpc.max_receive_message_length", 64 << 20)])
    stub = signature_pb2_grpc.SignatureServiceStub(channel)
    response = stub.Sign(sign_request(sent, signer_name=SIGNER, user_agent="<script>alert(1)</script>"),
                         metadata=AUTH)
    yield stub, tenant, response, blobs, cfg
    channel.close()
    server.stop(0).wait()
    app.engine.dispose()


def _signed_ranges(pdf: bytes) -> list[int]:
    """Positions covered by the seal (outside the /Contents hex of every signature), spread over the file."""
    gaps = [(int(a) + int(b), int(c)) for a, b, c, _ in
            re.findall(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]", pdf)]
    assert gaps, "no seal in the file"
    step = max(1, len(pdf) // POSITIONS)
    return [p for p in range(7, len(pdf), step) if not any(lo <= p < hi for lo, hi in gaps)][:POSITIONS]


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1:]


@pytest.mark.parametrize("kind", ["signed_pdf", "proof_pdf"])
def test_one_changed_byte_anywhere_in_a_sealed_file_is_reported_altered(signed, kind):
    stub, tenant, response, blobs, _ = signed
    original = blobs.get({"signed_pdf": response.signed_pdf_sha256, "proof_pdf": response.proof_sha256}[kind])
    intact = stub.Verify(signature_pb2.VerifyRequest(pdf=original, tenant_id=tenant), metadata=AUTH)
    assert intact.intact and intact.kind == kind
    for at in _signed_ranges(original):
        got = stub.Verify(signature_pb2.VerifyRequest(pdf=_flip(original, at), tenant_id=tenant), metadata=AUTH)
        TALLY.record("evidence tampering", "altered" if not got.intact else "MISSED", f"{kind} byte {at}")
        assert not got.intact, f"{kind} with byte {at} flipped reported intact"
        assert got.request_id == "" and got.reason


def test_the_cli_reports_altered_files_and_edited_evidence_entries(signed, tmp_path):
    _, _, response, blobs, cfg = signed
    proof = json.loads(blobs.get(response.proof_json_sha256))
    ok, _ = verify_cli.check_json(json.dumps(proof).encode())
    assert ok
    edits = 0
    for index, entry in enumerate(proof["evidence"]):
        for field in ("at", "step", "ip", "user_agent", "data", "prev_sha256"):
            edited = json.loads(json.dumps(proof))
            value = edited["evidence"][index][field]
            edited["evidence"][index][field] = {**value, "x": 1} if isinstance(value, dict) else str(value) + "1"
            ok, lines = verify_cli.check_json(json.dumps(edited).encode())
            TALLY.record("evidence tampering", "altered" if not ok else "MISSED", f"entry {index + 1}.{field}")
            assert not ok, f"editing evidence entry {index + 1} ({field}) was not noticed"
            edits += 1
    files = []
    for name, sha in (("signe.pdf", response.signed_pdf_sha256), ("preuves.pdf", response.proof_sha256)):
        path = tmp_path / name
        data = blobs.get(sha)
        path.write_bytes(_flip(data, _signed_ranges(data)[len(_signed_ranges(data)) // 2]))
        files.append(path)
    edited = json.loads(json.dumps(proof))
    edited["evidence"][0]["ip"] = "192.0.2.66"
    (tmp_path / "preuves.json").write_text(json.dumps(edited, ensure_ascii=False), encoding="utf-8")
    files.append(tmp_path / "preuves.json")
    result = subprocess.run([sys.executable, "-m", "services.signature", "verify", *map(str, files),
                             "--cert", str(cfg.key_dir / "seal-cert.pem")],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    print(result.stdout)
    assert result.returncode == 1, result.stderr
    assert all(f"{path}: altered" in result.stdout for path in files)
    TALLY.record("evidence tampering", "altered", "python -m services.signature verify: 3 altered files")
    print(f"{edits} single-field edits of the evidence chain all reported altered")


def test_the_typed_signature_is_inert_in_the_proof_files(signed):
    from io import BytesIO

    from pypdf import PdfReader

    _, _, response, blobs, _ = signed
    proof = json.loads(blobs.get(response.proof_json_sha256))
    assert proof["signer"]["name"] == SIGNER
    for kind, sha in (("proof PDF", response.proof_sha256), ("signed PDF", response.signed_pdf_sha256)):
        pdf = blobs.get(sha)
        text = "".join(" ".join(page.extract_text() for page in PdfReader(BytesIO(pdf)).pages).split())
        assert "".join(SIGNER.split()) in text, f"the typed name is not printed as typed in the {kind}"
        assert b"/JavaScript" not in pdf and b"/Launch" not in pdf
        TALLY.record("injection: proof files", "literal text", f"{kind}: {SIGNER}")
