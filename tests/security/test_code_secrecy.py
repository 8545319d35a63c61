"""The one-time signing code: in no outbox row, no message on the broker, no log line; only the notifier reads it."""
from __future__ import annotations

import json
import logging
import uuid
from dataclasses import replace

import pytest

from quoteflow import sealing
from quoteflow.bus import Publisher, connect, declare_topology
from quoteflow.config import CommonConfig
from quoteflow.envelope import Envelope
from quoteflow.v1 import common_pb2, events_pb2, signature_pb2, signature_pb2_grpc
from tests.security.report import TALLY
from tests.security.stack import SERVICE_KEY


@pytest.fixture
def signature_on_a_broker(tmp_path):
    """The signature service publishing to a filesystem broker whose quotes, portal and notifier queues exist."""
    from services.signature.bootstrap import bootstrap
    from services.signature.config import Config

    broker = f"filesystem://{tmp_path / 'bus'}"
    with connect(broker) as conn:
        declare_topology(conn, broker)
    common = CommonConfig(service="signature", database_url=f"sqlite:///{tmp_path / 'signature.db'}",
                          broker_url=broker, blob_dir=tmp_path / "blobs", api_keys="", service_key=SERVICE_KEY,
                          max_attempts=3)
    app = bootstrap(replace(Config(common=common), key_dir=tmp_path / "keys"), publisher=Publisher(broker))
    yield app, tmp_path / "bus"
    app.engine.dispose()


def _sent_with_code(app, blobs_pdf: bytes) -> Envelope:
    from quoteflow.blobs import FolderBlobStore
    from services.signature.entrypoints.consumer import make_handler

    pdf_sha = FolderBlobStore(app.config.common.blob_dir).put(blobs_pdf)
    quote_id = "q-" + uuid.uuid4().hex[:8]
    event = events_pb2.QuoteSent(
        quote_id=quote_id, number="DV-2026-00077", version=1, kind="send", pdf_sha256=pdf_sha,
        recipient=common_pb2.Party(id="ct", name="Zoé", email="zoe@client.example"),
        assignee=common_pb2.Party(id="u", name="Hélène", email="helene@vendeur.example"),
        signature_requested=True, signature_otp="email", expires_at="2999-01-01T00:00:00Z",
        snapshot=common_pb2.QuoteSnapshot(quote_id=quote_id, number="DV-2026-00077", version=1))
    envelope = Envelope.wrap(event, source="quoteflow/quotes", subject=f"quote/{quote_id}", tenant="tenant-otp")
    make_handler(app)(envelope)
    return envelope


def test_the_code_is_in_no_outbox_row_no_broker_message_and_no_log_line(signature_on_a_broker, tmp_path, caplog):
    from quoteflow.auth import KeyRing
    from quoteflow.grpcserver import build_server
    from services.notifier.bootstrap import bootstrap as notifier_bootstrap
    from services.notifier.config import NotifierConfig
    from services.signature.entrypoints.grpc_api import SignatureServicer
    import grpc

    caplog.set_level(logging.DEBUG)
    app, bus = signature_on_a_broker
    sent = _sent_with_code(app, b"%PDF-1.7\n%fake quote\n%%EOF\n")
    server, port, _ = build_server("127.0.0.1:0", [lambda s: signature_pb2_grpc.add_SignatureServiceServicer_to_server(
        SignatureServicer(app), s)], ["quoteflow.v1.SignatureService"], KeyRing({}, SERVICE_KEY))
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            signature_pb2_grpc.SignatureServiceStub(channel).RequestCode(signature_pb2.RequestCodeRequest(
                tenant_id=sent.tenant, quote_id=sent.payload().quote_id, version=1, ip="203.0.113.5"),
                metadata=(("authorization", f"Bearer {SERVICE_KEY}"),))
    finally:
        server.stop(0).wait()
    app.relay.publish_pending()

    [row_body] = [b for b in _outbox_bodies(app.engine) if json.loads(b)["type"] == "signature.code_requested"]
    envelope = Envelope.from_json(row_body)
    event = envelope.payload()
    code = sealing.open_code(app.config.seal_key, event.sealed_code, tenant=envelope.tenant,
                             request_id=event.request_id, expires_at=event.expires_at)
    assert code.isdigit() and len(code) == 6

    on_broker = [p.read_bytes() for p in bus.rglob("*") if p.is_file()]
    assert any(b"signature.code_requested" in body for body in on_broker), "the event never reached the broker"
    places = {"outbox rows": "\n".join(_outbox_bodies(app.engine)), "broker messages": b"\n".join(on_broker).decode(
        "utf-8", "replace"), "log lines": caplog.text}
    for place, text in places.items():
        TALLY.record("one-time code secrecy", "absent" if code not in text else "LEAKED", place)
        assert code not in text, f"the one-time code is readable in the {place}"

    # The notifier, holding the seal key, sends it; its own outbox and logs never carry it either.
    common = CommonConfig(service="notifier", database_url=f"sqlite:///{tmp_path / 'notifier.db'}",
                          broker_url="memory://", blob_dir=tmp_path / "nblobs", api_keys="", service_key=SERVICE_KEY,
                          max_attempts=3)
    notifier = notifier_bootstrap(replace(NotifierConfig(common=common), mail_sink_dir=tmp_path / "mail",
                                          sms_log=tmp_path / "sms.log", retry_base_seconds=0.01))
    try:
        notifier.handle_event(envelope)
        assert notifier.dispatch_due() == 1
        mails = [p.read_text("utf-8", "replace") for p in (tmp_path / "mail").rglob("*") if p.is_file()]
        assert any(code in m for m in mails), "the notifier did not send the code"
        assert code not in "\n".join(_outbox_bodies(notifier.engine)) and code not in caplog.text
        TALLY.record("one-time code secrecy", "delivered by notifier only", "mail sink")
    finally:
        notifier.engine.dispose()

    # A sealed code moved to another request, or opened with another key, does not open.
    with pytest.raises(sealing.SealBroken):
        sealing.open_code(app.config.seal_key, event.sealed_code, tenant=envelope.tenant, request_id="other",
                          expires_at=event.expires_at)
    with pytest.raises(sealing.SealBroken):
        sealing.open_code("another key", event.sealed_code, tenant=envelope.tenant, request_id=event.request_id,
                          expires_at=event.expires_at)
    print(f"code sealed in {len(event.sealed_code)} bytes; absent from {', '.join(places)}; delivered by mail")


def _outbox_bodies(engine) -> list[str]:
    from sqlalchemy import MetaData, select

    meta = MetaData()
    meta.reflect(engine, only=["outbox"])
    with engine.connect() as conn:
        return [str(b) for b in conn.execute(select(meta.tables["outbox"].c.body)).scalars()]
