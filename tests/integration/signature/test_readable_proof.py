"""A proof a person can read: the level of signature, how the signer was identified, a timeline with its time zone,
and checks that common tools (sha256sum, jq) reproduce without Quoteflow."""
import hashlib
import json
import re
import shutil
import subprocess
from io import BytesIO

import pytest
from pypdf import PdfReader

from quoteflow.v1 import signature_pb2
from services.signature.domain import reading
from tests.integration.signature.support import AUTH, outbox, sent_code, sign_request
from tests.integration.signature.test_lines_in_evidence import LINES, OPTIONS, TOTALS


def proof_text(blobs, response) -> str:
    pdf = blobs.get(response.proof_sha256)
    text = "\n".join(page.extract_text() for page in PdfReader(BytesIO(pdf)).pages)
    return " ".join(text.replace("\u202f", " ").replace("\xa0", " ").split())


def test_the_proof_says_the_level_the_identification_and_the_timeline(send, grpc_stub, blobs):
    sent = send(lines=LINES, optional_lines=OPTIONS, totals=TOTALS)
    response = grpc_stub.Sign(sign_request(sent), metadata=AUTH)
    text = proof_text(blobs, response)
    proof = json.loads(blobs.get(response.proof_json_sha256))
    assert "Signature électronique simple au sens du règlement eIDAS" in text and "ni avancée, ni qualifiée" in text
    assert "Code civil" in text and "il n'identifie pas le signataire" in text
    assert "Par le lien personnel envoyé à Zoë Lœwy <zoe@client.fr>" in text
    assert "ce n'est pas une vérification de l'adresse e-mail" in text
    assert "Aucun code n'a été demandé" in text and "aucune pièce d'identité n'a été contrôlée" in text
    assert not re.search(r"e-?mail (vérifié|verified)|adresse e-mail vérifiée", text, re.I)
    assert "Chronologie" in text and "Date (heure de Paris)" in text and "Heures de Paris (Europe/Paris)" in text
    assert "1. Devis envoyé pour signature à Zoë Lœwy <zoe@client.fr>" in text
    assert f"{len(proof['evidence'])}. Devis signé par Zoë Lœwy <zoe@client.fr>" in text
    assert "203.0.113.9 — Mozilla/5.0 Firefox/133" in text
    for what, _, _ in reading.checks(proof):
        assert what in text
    assert "Vérifier ce dossier sans Quoteflow" in text and "sha256sum" in text


def test_a_code_typed_back_is_told_for_what_it_shows(send, grpc_stub, app, blobs):
    sent = send(signature_otp="sms", phone="+33612345678")
    p = sent.payload()
    grpc_stub.RequestCode(signature_pb2.RequestCodeRequest(tenant_id=sent.tenant, quote_id=p.quote_id,
                                                           version=p.version), metadata=AUTH)
    code = sent_code(app, outbox(app, "signature.code_requested")[-1])
    response = grpc_stub.Sign(sign_request(sent, otp_code=code), metadata=AUTH)
    text = proof_text(blobs, response)
    assert "Envoyé par SMS à +33612345678 et saisi correctement" in text
    assert "avait accès à cette ligne mobile à ce moment-là" in text


@pytest.mark.skipif(shutil.which("jq") is None, reason="jq is not installed")
def test_the_commands_the_proof_gives_reproduce_its_hashes(send, grpc_stub, blobs, tmp_path):
    sent = send(lines=LINES, optional_lines=OPTIONS, totals=TOTALS)
    response = grpc_stub.Sign(sign_request(sent), metadata=AUTH)
    path = tmp_path / "Preuves.json"
    path.write_bytes(blobs.get(response.proof_json_sha256))
    proof = json.loads(path.read_text())

    def digest(jq_args: list[str]) -> str:
        out = subprocess.run(["jq", *jq_args, str(path)], capture_output=True, check=True).stdout
        return hashlib.sha256(out).hexdigest()

    assert digest(["-cjS", ".purchase.lines"]) == proof["evidence"][0]["data"]["lines_sha256"]
    for n, entry in enumerate(proof["evidence"]):
        assert digest(["-cjS", f".evidence[{n}] | del(.sha256)"]) == entry["sha256"]
    assert digest(["-j", ".consent.text"]) == proof["consent"]["sha256"]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == response.proof_json_sha256
