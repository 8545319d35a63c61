"""Fixtures for the signature service: a real SQLite file, blob folder, key folder and gRPC server."""
from __future__ import annotations

import uuid

import grpc
import pytest

from quoteflow.auth import KeyRing
from quoteflow.blobs import FolderBlobStore
from quoteflow.envelope import Envelope
from quoteflow.grpcserver import build_server
from quoteflow.v1 import common_pb2, events_pb2, signature_pb2, signature_pb2_grpc
from services.signature.bootstrap import bootstrap
from services.signature.config import Config
from services.signature.entrypoints.consumer import make_handler
from services.signature.entrypoints.grpc_api import SignatureServicer
from tests.integration.signature.support import SERVICE_KEY, Clock, make_config, quote_pdf


@pytest.fixture
def tenant() -> str:
    return f"tenant-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def cfg(tmp_path) -> Config:
    return make_config(tmp_path)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(cfg, clock):
    service = bootstrap(cfg, clock=clock)
    yield service
    service.engine.dispose()


@pytest.fixture
def blobs(cfg) -> FolderBlobStore:
    return FolderBlobStore(cfg.common.blob_dir)


@pytest.fixture
def consume(app):
    return make_handler(app)


@pytest.fixture
def send(blobs, tenant, consume):
    """Publishes (straight to the handler) a quote.sent of a fresh PDF; returns the envelope."""

    def _send(quote_id: str | None = None, version: int = 1, *, signature_requested: bool = True,
              tenant_id: str | None = None, total_ttc: str = "1234.56", expires_at: str = "",
              signature_otp: str = "", phone: str = "", lines: tuple = (), optional_lines: tuple = (),
              totals: common_pb2.Totals | None = None) -> Envelope:
        pdf_sha = blobs.put(quote_pdf(f"Devis v{version}"))
        quote_id = quote_id or f"q-{uuid.uuid4().hex[:8]}"
        recipient = common_pb2.Party(id="contact-7", name="Zoë Lœwy", email="zoe@client.fr", phone=phone)
        assignee = common_pb2.Party(id="user-3", name="Hélène Vendeur", email="helene@vendeur.fr",
                                    phone="+33612345678")
        payload = events_pb2.QuoteSent(
            quote_id=quote_id, number="DV-2026-00042", version=version, kind="send", recipient=recipient,
            assignee=assignee, pdf_sha256=pdf_sha, signature_requested=signature_requested,
            expires_at=expires_at, signature_otp=signature_otp,
            snapshot=common_pb2.QuoteSnapshot(
                quote_id=quote_id, number="DV-2026-00042", version=version, lines=lines,
                optional_lines=optional_lines, totals=totals or common_pb2.Totals(total_ttc=total_ttc, currency="EUR")))
        envelope = Envelope.wrap(payload, source="quoteflow/quotes", subject=f"quote/{quote_id}",
                                 tenant=tenant_id or tenant)
        consume(envelope)
        return envelope

    return _send


@pytest.fixture
def signature_target(app):
    """The address of ``app`` served over gRPC (the service key is SERVICE_KEY)."""
    server, port, _ = build_server(
        "127.0.0.1:0",
        [lambda s: signature_pb2_grpc.add_SignatureServiceServicer_to_server(SignatureServicer(app), s)],
        [signature_pb2.DESCRIPTOR.services_by_name["SignatureService"].full_name],
        KeyRing({}, SERVICE_KEY),
    )
    server.start()
    yield f"127.0.0.1:{port}"
    server.stop(0)


@pytest.fixture
def grpc_stub(signature_target):
    channel = grpc.insecure_channel(signature_target)
    stub = signature_pb2_grpc.SignatureServiceStub(channel)
    yield stub
    channel.close()
