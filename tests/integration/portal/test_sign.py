"""Signing through a real gRPC server standing in for the signature service (the portal's outside boundary)."""
from __future__ import annotations

import re
import secrets
import threading
from datetime import datetime, timezone

import pytest

from quoteflow import auth
from quoteflow.errors import FailedPrecondition, InvalidArgument
from quoteflow.grpcserver import build_server
from quoteflow.v1 import signature_pb2, signature_pb2_grpc
from services.portal.adapters.signature import GrpcSigner
from services.portal.domain.model import csrf_token, token_hash

SIGNED_AT = "2025-03-06T09:30:00.000000Z"


class RecordingSignatureService(signature_pb2_grpc.SignatureServiceServicer):
    """Answers Sign like the signature service; keeps what it received; can be told to refuse."""

    def __init__(self):
        self.requests: list[signature_pb2.SignRequest] = []
        self.tenants: list[str] = []
        self.refuse: Exception | None = None
        self.lock = threading.Lock()

    def Sign(self, request, context):
        tenant = auth.tenant(request.tenant_id)  # a service caller must name the tenant
        with self.lock:
            self.requests.append(request)
            self.tenants.append(tenant)
        if self.refuse is not None:
            raise self.refuse
        return signature_pb2.SignResponse(request_id="req-" + secrets.token_hex(4), signed_at=SIGNED_AT,
                                          signer_name=request.signer_name, evidence_sha256="e" * 64,
                                          signed_pdf_sha256="f" * 64, proof_sha256="a" * 64)


@pytest.fixture
def signing(make_world):
    service_key = "svc-" + secrets.token_hex(8)
    servicer = RecordingSignatureService()
    server, port, _ = build_server(
        "127.0.0.1:0", [lambda s: signature_pb2_grpc.add_SignatureServiceServicer_to_server(servicer, s)],
        ["quoteflow.v1.SignatureService"], auth.KeyRing({}, service_key))
    server.start()
    signer = GrpcSigner(f"127.0.0.1:{port}", service_key, timeout=5)
    yield make_world(signer=signer), servicer
    server.stop(0).wait()


def csrf_of(world, token):
    html = world.client.get(f"/d/{token}").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([0-9a-f]{64})"', html).group(1)


def post(world, token, **form):
    return world.client.post(f"/d/{token}/sign", data=form, headers={"User-Agent": "Safari/17.4"},
                             environ_base={"REMOTE_ADDR": "192.0.2.44"})


def test_sign_calls_the_signature_service_and_shows_signed(signing):
    world, servicer = signing
    sent = world.send(signature_requested=True)
    response = post(world, sent["token"], csrf_token=csrf_of(world, sent["token"]), consent="on",
                    signer_name="  Zoé   Bérénice-Lætitia ")
    assert response.status_code == 303
    assert response.headers["Location"].startswith(f"/d/{sent['token']}")

    [request] = servicer.requests
    assert servicer.tenants == [world.tenant]
    assert request.tenant_id == world.tenant
    assert request.quote_id == sent["quote_id"]
    assert request.version == 1
    assert request.document_sha256 == sent["pdf_sha256"]
    assert request.signer_name == "Zoé Bérénice-Lætitia"
    assert request.consent is True
    assert request.consent_text.replace("\u202f", " ").replace("\u00a0", " ") == (
        f"En signant, j'accepte le devis n° {sent['number']} d'un montant de 1 447,46 € TTC.")
    assert request.ip == "192.0.2.44"
    assert request.user_agent == "Safari/17.4"
    assert request.signer_email == "zoe@example.fr"

    page = world.text(world.client.get(response.headers["Location"]).get_data(as_text=True))
    assert "Merci, votre signature a bien été enregistrée." in page
    assert "Devis signé par Zoé Bérénice-Lætitia le 6 mars 2025 à 10:30" in page
    assert "En signant" not in page

    csrf = csrf_token(world.config.secret_key, token_hash(sent["token"]))
    again = post(world, sent["token"], csrf_token=csrf, consent="on", signer_name="Zoé B")
    assert again.status_code == 409
    assert "Ce devis a déjà été signé." in world.text(again.get_data(as_text=True))
    assert len(servicer.requests) == 1


def test_missing_consent_or_name_reshows_the_form(signing):
    world, servicer = signing
    sent = world.send()
    csrf = csrf_of(world, sent["token"])
    response = post(world, sent["token"], csrf_token=csrf, signer_name="Zoé <b>B</b>")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    text = world.text(html)
    assert "Veuillez cocher la case pour accepter le devis." in text
    assert 'value="Zoé &lt;b&gt;B&lt;/b&gt;"' in html
    assert 'name="signer_name"' in html and "En signant" in text
    response = post(world, sent["token"], csrf_token=csrf, consent="on", signer_name=" ")
    assert response.status_code == 400
    assert "Veuillez saisir vos nom et prénom." in world.text(response.get_data(as_text=True))
    assert servicer.requests == []


def test_invalid_argument_from_signature_is_a_400_with_the_form(signing):
    world, servicer = signing
    sent = world.send()
    servicer.refuse = InvalidArgument({"signer_name": "must not be empty"})
    response = post(world, sent["token"], csrf_token=csrf_of(world, sent["token"]), consent="on",
                    signer_name="Zoé Bérénice")
    assert response.status_code == 400
    text = world.text(response.get_data(as_text=True))
    assert "Veuillez saisir vos nom et prénom." in text
    assert "Signer" in text
    assert len(servicer.requests) == 1


def test_failed_precondition_from_signature_is_a_409(signing):
    world, servicer = signing
    sent = world.send()
    servicer.refuse = FailedPrecondition("document hash does not match the open request")
    response = post(world, sent["token"], csrf_token=csrf_of(world, sent["token"]), consent="on",
                    signer_name="Zoé Bérénice")
    assert response.status_code == 409
    assert "ne peut plus être signé" in world.text(response.get_data(as_text=True))
    page = world.text(world.client.get(f"/d/{sent['token']}").get_data(as_text=True))
    assert "Devis signé" not in page


def test_superseded_version_cannot_be_signed(signing):
    world, servicer = signing
    first = world.send(version=1)
    csrf = csrf_token(world.config.secret_key, token_hash(first["token"]))
    world.send(quote_id=first["quote_id"], number=first["number"], version=2)
    response = post(world, first["token"], csrf_token=csrf, consent="on", signer_name="Zoé Bérénice")
    assert response.status_code == 409
    assert "Une version plus récente" in world.text(response.get_data(as_text=True))
    assert servicer.requests == []


def test_signature_service_down_is_a_503(make_world):
    world = make_world(signer=GrpcSigner("127.0.0.1:1", "k", timeout=1))
    sent = world.send()
    response = post(world, sent["token"], csrf_token=csrf_of(world, sent["token"]), consent="on",
                    signer_name="Zoé Bérénice")
    assert response.status_code == 503
    assert "Votre devis n'a pas été signé" in world.text(response.get_data(as_text=True))


def test_signature_completed_event_marks_the_version_signed(world):
    from quoteflow.envelope import Envelope
    from quoteflow.v1 import events_pb2

    sent = world.send()
    done = events_pb2.SignatureCompleted(
        request_id="r-1", quote_id=sent["quote_id"], number=sent["number"], version=1,
        signer_name="Zoé Bérénice", signer_email="zoe@example.fr", signed_at="2025-07-14T16:05:00Z",
        document_sha256=sent["pdf_sha256"], signed_pdf_sha256="b" * 64)
    envelope = Envelope.wrap(done, source="quoteflow/signature", subject=f"quote/{sent['quote_id']}",
                             tenant=world.tenant)
    world.consume(envelope)
    world.consume(envelope)  # redelivery: no-op
    page = world.text(world.client.get(f"/d/{sent['token']}").get_data(as_text=True))
    assert "Devis signé par Zoé Bérénice le 14 juillet 2025 à 18:05" in page
    assert "En signant" not in page
    with world.portal.engine.connect() as conn:
        from sqlalchemy import select
        from services.portal.adapters import orm

        row = conn.execute(select(orm.versions).where(orm.versions.c.quote_id == sent["quote_id"])).mappings().one()
    assert row["status"] == "signed" and row["signed_pdf_sha256"] == "b" * 64
    assert datetime.fromisoformat(str(row["signed_at"])).replace(tzinfo=timezone.utc).year == 2025
