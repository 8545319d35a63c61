"""Where the verify command reads a proof PDF's « Preuve JSON (SHA-256) »: the row documents.proof_pdf writes."""
from __future__ import annotations

import hashlib
from datetime import datetime

from services.signature.adapters import documents
from services.signature.domain import evidence
from services.signature.verify_cli import stated_json_sha256
from tests.integration.signature.support import quote_pdf

JSON_SHA = hashlib.sha256(b"the proof JSON").hexdigest()
DECOY = hashlib.sha256(b"a decoy").hexdigest()


def proof(signer_name: str = "Zoë Lœwy", user_agent: str = "Firefox/133") -> dict:
    chain: list[evidence.Entry] = []
    evidence.append(chain, step="sent", at=datetime.fromisoformat("2026-11-29T09:30:00+00:00"),
                    data={"document_sha256": "a" * 64})
    evidence.append(chain, step="signed", at=datetime.fromisoformat("2026-11-29T09:35:00+00:00"),
                    ip="203.0.113.9", user_agent=user_agent,
                    data={"signer_name": signer_name, "note": f"Preuve JSON (SHA-256) {DECOY}"})
    return {
        "request": {"id": "r-1", "tenant": "t", "quote_id": "q-1", "number": "DV-2026-00042", "version": 1,
                    "amount_ttc": "1234.56", "currency": "EUR", "expires_at": "", "one_time_code": ""},
        "signer": {"name": signer_name, "email": "zoe@client.fr", "contact_id": "c-7", "ip": "203.0.113.9",
                   "user_agent": user_agent, "signed_at": "2026-11-29T09:35:00.000000Z"},
        "document": {"sha256": "b" * 64, "signed_pdf_sha256": "c" * 64, "seal_certificate_sha256": "d" * 64},
        "consent": {"text": "J'accepte", "sha256": evidence.sha256_text("J'accepte")},
        "evidence": [entry.as_dict() for entry in chain],
        "evidence_sha256": evidence.head(chain),
        "verification": ["1. …"],
    }


def test_the_stated_json_sha256_is_the_one_the_proof_pdf_was_written_with():
    pdf = documents.proof_pdf(proof(), proof_json_sha256=JSON_SHA)
    assert stated_json_sha256(pdf) == JSON_SHA


def test_what_a_signer_types_cannot_pose_as_the_json_row():
    """The signer's name, user agent and evidence data are values; only the fixed label cell counts."""
    pdf = documents.proof_pdf(proof(signer_name="Preuve JSON (SHA-256)", user_agent=DECOY),
                              proof_json_sha256=JSON_SHA)
    assert stated_json_sha256(pdf) == JSON_SHA


def test_a_pdf_that_is_not_a_proof_states_nothing():
    assert stated_json_sha256(quote_pdf()) is None
    assert stated_json_sha256(b"%PDF-1.7 not really") is None
    assert stated_json_sha256(b"") is None
