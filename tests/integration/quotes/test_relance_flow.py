"""« Relancer par email » across the services: the quotes service sends version 1 twice; the portal and the
signature service hear both quote.sent; the link of the first email still opens and signs the quote, and the
signature's evidence chain holds the first send, the relance and the signature."""
from __future__ import annotations

import re
from dataclasses import replace

import pytest

from quoteflow.auth import KeyRing
from quoteflow.grpcserver import build_server
from quoteflow.v1 import quotes_pb2, signature_pb2, signature_pb2_grpc
from services.portal.adapters.signature import GrpcSigner
from services.quotes.entrypoints.consumer import make_handler as quotes_handler
from services.signature.bootstrap import bootstrap as signature_bootstrap
from services.signature.domain import evidence, model
from services.signature.entrypoints.consumer import make_handler as signature_handler
from services.signature.entrypoints.grpc_api import SignatureServicer
from tests.integration.portal.world import World
from tests.integration.quotes.support import outbox_events, send_and_relance
from tests.integration.signature.support import SERVICE_KEY, make_config as signature_config
from tests.integration.signature.support import outbox as signature_outbox


@pytest.fixture
def signature(tmp_path):
    """The signature service (its own SQLite file, the quotes' blob folder) behind a real gRPC server."""
    config = signature_config(tmp_path / "signature")
    config = replace(config, common=replace(config.common, blob_dir=tmp_path / "blobs"))
    app = signature_bootstrap(config)
    server, port, _ = build_server(
        "127.0.0.1:0", [lambda s: signature_pb2_grpc.add_SignatureServiceServicer_to_server(SignatureServicer(app), s)],
        [signature_pb2.DESCRIPTOR.services_by_name["SignatureService"].full_name], KeyRing({}, SERVICE_KEY))
    server.start()
    yield app, f"127.0.0.1:{port}"
    server.stop(0).wait()
    app.engine.dispose()


@pytest.fixture
def portal(tmp_path, signature):
    world = World(tmp_path / "portal", signer=GrpcSigner(signature[1], SERVICE_KEY, timeout=5))
    yield world
    world.close()


def sign_form(html: str) -> dict:
    form = re.search(r'<form method="post" action="[^"]+/sign".*?</form>', html, re.S)
    assert form, "the page offers no signature form"
    return dict(re.findall(r'<input type="hidden"[^>]*name="([^"]+)" value="([^"]*)"', form.group(0)))


def test_the_first_link_still_signs_after_a_relance_and_the_proof_starts_at_the_first_send(service, signature,
                                                                                           portal):
    quotes_app, stub = service
    signature_app, _ = signature
    crm, quote, first, relance = send_and_relance(stub)
    assert (first.version, relance.version) == (1, 1) and first.link_url != relance.link_url
    sent = [e for e in outbox_events(quotes_app) if e.type == "quote.sent"]
    assert [e.payload().kind for e in sent] == ["send", "relance"]
    pdf = quotes_app.dependencies["blobs"].get(first.pdf_sha256)
    assert portal.blobs.put(pdf) == first.pdf_sha256  # the portal serves the same frozen PDF
    to_signature = signature_handler(signature_app)
    for envelope in sent:
        portal.consume(envelope)
        to_signature(envelope)

    old, new = (url.rsplit("/", 1)[1] for url in (first.link_url, relance.link_url))
    assert "Signer" in portal.text(portal.page(new))
    html = portal.page(old)  # the link of the first email, after the relance
    response = portal.client.post(f"/d/{old}/sign", data={**sign_form(html), "consent": "on",
                                                          "signer_name": "Chloé Lefèvre"},
                                  headers={"User-Agent": "Mozilla/5.0 Firefox/133"},
                                  environ_base={"REMOTE_ADDR": "192.0.2.44"})
    assert response.status_code == 303, response.get_data(as_text=True)[:500]

    with signature_app.uow() as uow:
        [request] = uow.requests.for_quote("tenant-a", quote.id)
    steps = [e.step for e in request.evidence]
    assert request.status == model.SIGNED and steps[:2] == ["sent", "sent_again"]
    assert steps[-2:] == ["consented", "signed"] and set(steps[2:-2]) <= {"opened"}
    evidence.verify_chain(request.evidence, request.evidence_sha256)
    assert [request.evidence[0].data["event_id"], request.evidence[1].data["event_id"]] == [e.id for e in sent]
    assert (request.signature.signer_email, request.signature.signer_contact_id) == ("chloe@example.fr", "ct")

    [completed] = signature_outbox(signature_app, "signature.completed")
    portal.consume(completed)
    handle = quotes_handler(quotes_app)
    for envelope in signature_outbox(signature_app):
        handle(envelope)
    detail = crm.GetQuote(quotes_pb2.GetQuoteRequest(quote_id=quote.id))
    assert detail.status == "Accepté" and detail.signature.request_id == request.id
    assert [h.detail for h in detail.history if h.kind == "signature_requested"] == [
        "demande ouverte pour chloe@example.fr"]
    [version] = detail.versions
    assert version.send_count == 2 and version.sent_at < version.last_sent_at
    assert "signé" in portal.text(portal.page(new)).lower()  # both links now show the signed quote
