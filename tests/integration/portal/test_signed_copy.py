"""The signed copy goes out only as the signature service vouches for it: a copy whose evidence was found
altered is never served, though the portal holds it; the frozen PDF's fast path asks nothing."""
from __future__ import annotations

import grpc

from quoteflow.errors import DataLoss

SEALED = b"%PDF-1.7 sealed copy"


def _refused(world, response) -> str:
    text = world.text(response.get_data(as_text=True))
    assert response.status_code == 500 and SEALED not in response.get_data()
    assert response.headers["Content-Type"].startswith("text/html")
    return text


def test_a_copy_whose_evidence_was_found_altered_is_not_served(world, caplog):
    sent = world.send()
    world.completed(sent, signed_pdf=SEALED)
    assert world.get(f"/d/{sent['token']}/pdf-signe").get_data() == SEALED  # vouched for: served
    world.servicer.refuse["GetRequest"] = DataLoss("the evidence log of signature request r-1 was altered")
    text = _refused(world, world.get(f"/d/{sent['token']}/pdf-signe"))
    assert "Nous ne pouvons pas vous remettre ce devis signé" in text
    assert "la vérification de son dossier de preuve a échoué" in text and "signalé" in text
    assert any(r.levelname == "CRITICAL" and sent["quote_id"] in r.getMessage() for r in caplog.records)
    asked = world.servicer.calls["GetRequest"][-1]
    assert (asked.tenant_id, asked.quote_id) == (world.tenant, sent["quote_id"])


def test_a_copy_the_service_does_not_vouch_for_is_not_served(world):
    sent = world.send()
    world.completed(sent, signed_pdf=SEALED)
    world.servicer.signed[(world.tenant, sent["quote_id"])] = (sent["version"], "c" * 64)  # another file
    _refused(world, world.get(f"/d/{sent['token']}/pdf-signe"))
    world.servicer.signed.pop((world.tenant, sent["quote_id"]))  # a request it does not know at all
    _refused(world, world.get(f"/d/{sent['token']}/pdf-signe"))


def test_without_the_service_s_word_the_copy_waits(world):
    sent = world.send()
    world.completed(sent, signed_pdf=SEALED)
    world.servicer.refuse["GetRequest"] = grpc.StatusCode.UNAVAILABLE
    response = world.get(f"/d/{sent['token']}/pdf-signe")
    assert response.status_code == 503 and SEALED not in response.get_data()


def test_the_frozen_pdf_is_served_without_asking_the_signature_service(world):
    sent = world.send()
    world.completed(sent, signed_pdf=SEALED)
    world.servicer.refuse["GetRequest"] = DataLoss("altered")
    assert world.get(f"/d/{sent['token']}/pdf").status_code == 200
    assert world.servicer.calls["GetRequest"] == []
