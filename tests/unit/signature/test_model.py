from datetime import datetime, timezone

import pytest

from quoteflow.errors import FailedPrecondition, InvalidArgument
from services.signature.domain import evidence, model

NOW = datetime(2026, 11, 29, 9, 30, tzinfo=timezone.utc)
DOC = "d" * 64


def request(**kw) -> model.SignatureRequest:
    values = dict(id="r-1", tenant="t", quote_id="q-1", number="DV-2026-00042", version=2, document_sha256=DOC,
                  signer=model.Party(id="c-1", name="Zoë Lœwy", email="zoe@example.fr"),
                  assignee=model.Party(id="u-1", name="Hélène", email="helene@vendeur.fr", phone="+33600000000"),
                  amount_ttc="1234.56", currency="EUR", at=NOW)
    values.update(kw)
    return model.SignatureRequest.open(**values)


def test_consent_text_formats_the_amount_the_french_way():
    assert model.consent_text("DV-2026-00042", "1234.56") == (
        "En signant, j'accepte le devis n° DV-2026-00042 d'un montant de 1\u202f234,56\xa0€ TTC.")


def test_a_new_request_is_open_with_a_sent_entry():
    r = request()
    assert r.status == model.OPEN
    assert [e.step for e in r.evidence] == ["sent"]
    assert r.evidence[0].data["consent_text"] == r.consent_text
    assert r.evidence_sha256 == r.evidence[0].sha256


def test_signing_adds_consented_and_signed_entries_and_keeps_the_chain():
    r = request()
    new = r.sign(at=NOW, signer_name="  Zoë   Lœwy ", signer_email="", ip="203.0.113.9", user_agent="UA",
                 shown_consent_text="", signed_pdf_sha256="e" * 64)
    assert [e.step for e in new] == ["consented", "signed"]
    assert r.status == model.SIGNED and r.signature.signer_name == "Zoë Lœwy"
    assert r.signature.signer_contact_id == "c-1" and r.signature.signer_email == "zoe@example.fr"
    consented = new[0].data
    assert consented["consent_text"] == r.consent_text
    assert consented["consent_sha256"] == evidence.sha256_text(r.consent_text)
    assert evidence.verify_chain(r.evidence) == r.evidence_sha256 == new[1].sha256


def test_a_different_document_or_a_superseded_request_cannot_be_signed():
    with pytest.raises(FailedPrecondition, match="SHA-256"):
        request().check_can_sign("0" * 64)
    r = request()
    r.supersede(NOW, 3)
    with pytest.raises(FailedPrecondition, match="newer version"):
        r.check_can_sign(DOC)
    assert r.evidence[-1].step == "superseded"


@pytest.mark.parametrize("name", ["", "   ", "a" * 201, "Zoë\x00", "Zoë\u202e"])
def test_signer_name_must_be_a_name(name):
    with pytest.raises(InvalidArgument) as error:
        model.clean_signer_name(name)
    assert "signer_name" in error.value.violations


def test_proof_carries_the_chain_and_the_consent_hash():
    r = request()
    r.sign(at=NOW, signer_name="Zoë", signer_email="zoe@example.fr", ip="1.2.3.4", user_agent="UA",
           shown_consent_text="", signed_pdf_sha256="e" * 64)
    proof = r.proof(certificate_sha256="c" * 64)
    assert proof["evidence_sha256"] == r.evidence_sha256
    assert [e["step"] for e in proof["evidence"]] == ["sent", "consented", "signed"]
    assert proof["consent"]["sha256"] == evidence.sha256_text(r.consent_text)
    assert proof["document"] == {"sha256": DOC, "signed_pdf_sha256": "e" * 64, "seal_certificate_sha256": "c" * 64}
