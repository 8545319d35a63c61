"""The evidence log on SQLite and PostgreSQL: a changed log is never sealed nor served as intact, and the log's
order and its times agree.

Someone with write access to the signature database edits the evidence table: before signing, Sign refuses and
nothing is sealed; after signing, GetRequest and GetDocument refuse. The refusal is DATA_LOSS with the reason
EVIDENCE_TAMPERED, and the service logs it as tampering.

The signer's page records "opened" entries (other writers, other threads) while the signature is being sealed:
they come before the consent and the signature in the chain, and in time too.
"""
from __future__ import annotations

import json
import logging
import threading
import time

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from sqlalchemy import delete, select, update

from quoteflow.errors import DataLoss
from quoteflow.v1 import signature_pb2
from services.portal.adapters.signature import GrpcSigner
from services.signature.adapters import orm
from services.signature.adapters.seal import PdfSealer
from services.signature.bootstrap import bootstrap
from services.signature.domain import commands, evidence, model
from tests.integration.signature.support import AUTH, SERVICE_KEY, error_of, make_config, outbox, sign_request
from tests.support.backends import private_databases


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def cfg(request, tmp_path):
    if request.param == "sqlite":
        yield make_config(tmp_path)
        return
    with private_databases(["signature"], prefix="qf_sigevidence") as urls:
        yield make_config(tmp_path, urls["signature"])


class WatchedSealer(PdfSealer):
    """A real seal that counts its seals, says when one started, and may take ``delay`` seconds."""

    seals = 0
    delay = 0.0

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.started = threading.Event()

    def seal(self, pdf, details):
        self.seals += 1
        self.started.set()
        time.sleep(self.delay)
        return super().seal(pdf, details)


@pytest.fixture
def app(cfg, clock):
    service = bootstrap(cfg, sealer=WatchedSealer(cfg.key_dir), clock=clock)
    yield service
    service.engine.dispose()


def reason_of(error: grpc.RpcError) -> str:
    for detail in rpc_status.from_call(error).details:
        info = error_details_pb2.ErrorInfo()
        if detail.Unpack(info):
            return info.reason
    return ""


def request_id_of(app, sent) -> str:
    with app.engine.connect() as conn:
        return conn.execute(select(orm.requests.c.id).where(
            orm.requests.c.quote_id == sent.payload().quote_id)).scalar_one()


def edit_opened_ip(app, request_id: str, ip: str = "192.0.2.66") -> None:
    """What the audit did: UPDATE evidence SET ip = … on the "opened" row, nothing else."""
    with app.engine.begin() as conn:
        changed = conn.execute(update(orm.evidence).where(
            orm.evidence.c.request_id == request_id, orm.evidence.c.step == "opened").values(ip=ip)).rowcount
    assert changed == 1


def open_it(app, sent) -> None:
    p = sent.payload()
    _, recorded = app.handle(commands.RecordOpened(tenant=sent.tenant, quote_id=p.quote_id, version=p.version,
                                                   ip="203.0.113.9", user_agent="Firefox/133"))
    assert recorded


def get_request(stub, sent):
    return stub.GetRequest(signature_pb2.GetRequestRequest(tenant_id=sent.tenant, quote_id=sent.payload().quote_id),
                           metadata=AUTH)


def test_a_log_changed_before_signing_is_not_sealed(app, grpc_stub, send, blobs, caplog):
    sent = send()
    open_it(app, sent)
    request_id = request_id_of(app, sent)
    edit_opened_ip(app, request_id)
    files_before = {p.name for p in app.config.common.blob_dir.rglob("*") if p.is_file()}

    with caplog.at_level(logging.CRITICAL, logger="services.signature.handlers"):
        error = error_of(lambda: grpc_stub.Sign(sign_request(sent), metadata=AUTH))
    assert error.code() == grpc.StatusCode.DATA_LOSS and reason_of(error) == model.EVIDENCE_TAMPERED
    assert "entry 2 (opened) was modified" in error.details()
    assert any("EVIDENCE TAMPERING" in r.getMessage() and request_id in r.getMessage() for r in caplog.records)

    # nothing sealed, nothing proved, nothing published, the request still open
    assert app.dependencies["sealer"].seals == 0
    assert {p.name for p in app.config.common.blob_dir.rglob("*") if p.is_file()} == files_before
    assert outbox(app, "signature.completed") == []
    with app.engine.connect() as conn:
        row = conn.execute(select(orm.requests).where(orm.requests.c.id == request_id)).mappings().one()
    assert row["status"] == model.OPEN and row["signed_pdf_sha256"] == "" and row["proof_sha256"] == ""

    # GetRequest refuses it too, and so does a decline
    error = error_of(lambda: get_request(grpc_stub, sent))
    assert error.code() == grpc.StatusCode.DATA_LOSS and reason_of(error) == model.EVIDENCE_TAMPERED
    p = sent.payload()
    decline = signature_pb2.DeclineRequest(tenant_id=sent.tenant, quote_id=p.quote_id, version=p.version,
                                           reason="Trop cher")
    error = error_of(lambda: grpc_stub.Decline(decline, metadata=AUTH))
    assert reason_of(error) == model.EVIDENCE_TAMPERED


def test_the_portal_hears_the_service_vouch_for_a_signed_copy_then_refuse_it(app, grpc_stub, send,
                                                                             signature_target):
    """What the portal asks before it serves its signed copy (services/portal/adapters/signature.py)."""
    sent = send()
    open_it(app, sent)
    signed = grpc_stub.Sign(sign_request(sent), metadata=AUTH)
    portal = GrpcSigner(signature_target, SERVICE_KEY, timeout=5)
    p = sent.payload()
    try:
        assert portal.vouched_signed_pdf(sent.tenant, p.quote_id, p.version) == signed.signed_pdf_sha256
        assert portal.vouched_signed_pdf(sent.tenant, p.quote_id, p.version + 1) == ""  # not that version
        assert portal.vouched_signed_pdf(sent.tenant, "another-quote", 1) == ""
        edit_opened_ip(app, signed.request_id)
        with pytest.raises(DataLoss) as refused:
            portal.vouched_signed_pdf(sent.tenant, p.quote_id, p.version)
        assert refused.value.reason == model.EVIDENCE_TAMPERED
    finally:
        portal.close()


def test_a_log_changed_after_signing_is_not_served(app, grpc_stub, send):
    sent = send()
    open_it(app, sent)
    signed = grpc_stub.Sign(sign_request(sent), metadata=AUTH)
    assert get_request(grpc_stub, sent).evidence_sha256 == signed.evidence_sha256  # intact: served
    edit_opened_ip(app, signed.request_id)

    error = error_of(lambda: get_request(grpc_stub, sent))
    assert error.code() == grpc.StatusCode.DATA_LOSS and reason_of(error) == model.EVIDENCE_TAMPERED
    assert "192.0.2.66" not in error.details()
    for kind in ("signed_pdf", "proof_pdf", "proof_json"):
        error = error_of(lambda: grpc_stub.GetDocument(signature_pb2.GetDocumentRequest(
            tenant_id=sent.tenant, request_id=signed.request_id, kind=kind), metadata=AUTH))
        assert reason_of(error) == model.EVIDENCE_TAMPERED, kind
    # signing again is no way around it
    error = error_of(lambda: grpc_stub.Sign(sign_request(sent), metadata=AUTH))
    assert reason_of(error) == model.EVIDENCE_TAMPERED


def test_removed_last_entries_and_a_rewritten_head_are_tampering_too(app, grpc_stub, send):
    sent = send()
    open_it(app, sent)
    signed = grpc_stub.Sign(sign_request(sent), metadata=AUTH)
    with app.engine.begin() as conn:  # the signature's entries taken out: the chain left still links
        conn.execute(delete(orm.evidence).where(orm.evidence.c.request_id == signed.request_id,
                                                orm.evidence.c.step.in_(("consented", "signed"))))
    error = error_of(lambda: get_request(grpc_stub, sent))
    assert reason_of(error) == model.EVIDENCE_TAMPERED and "recorded head" in error.details()

    other = send()
    request_id = request_id_of(app, other)
    with app.engine.begin() as conn:
        conn.execute(update(orm.requests).where(orm.requests.c.id == request_id).values(evidence_sha256="0" * 64))
    assert reason_of(error_of(lambda: get_request(grpc_stub, other))) == model.EVIDENCE_TAMPERED


def test_an_intact_log_is_served_and_sealed_and_the_event_names_the_proof_json(app, grpc_stub, send, blobs):
    sent = send()
    open_it(app, sent)
    signed = grpc_stub.Sign(sign_request(sent), metadata=AUTH)
    got = get_request(grpc_stub, sent)
    chain = [evidence.Entry(seq=e.seq, at=e.at, step=e.step, ip=e.ip, user_agent=e.user_agent,
                            data=json.loads(e.data_json), prev_sha256=e.prev_sha256, sha256=e.sha256)
             for e in got.evidence]
    assert evidence.verify_chain(chain, signed.evidence_sha256) == got.evidence_sha256
    assert app.dependencies["sealer"].seals == 1
    [completed] = outbox(app, "signature.completed")
    payload = completed.payload()
    assert payload.proof_json_sha256 == signed.proof_json_sha256 != ""
    assert json.loads(blobs.get(payload.proof_json_sha256))["evidence_sha256"] == payload.evidence_sha256
    assert payload.proof_sha256 == signed.proof_sha256 != payload.proof_json_sha256


# order ---------------------------------------------------------------------------------

def test_opened_entries_recorded_while_sealing_are_dated_before_the_signature(app, send):
    sent = send()
    p = sent.payload()
    result = {}
    app.dependencies["sealer"].delay = 0.3

    def sign():
        result["signed"] = app.handle(commands.Sign(
            tenant=sent.tenant, quote_id=p.quote_id, version=p.version, document_sha256=p.pdf_sha256,
            signer_name="Zoë Lœwy", consent=True, ip="203.0.113.9", user_agent="Firefox/133"))

    signer = threading.Thread(target=sign)
    signer.start()
    assert app.dependencies["sealer"].started.wait(30)
    opened = 0
    for i in range(3):  # three other tabs, while the seal is being made
        _, recorded = app.handle(commands.RecordOpened(tenant=sent.tenant, quote_id=p.quote_id, version=p.version,
                                                       ip=f"198.51.100.{i + 1}", user_agent="Edge/131"))
        opened += recorded
    signer.join(60)
    signed = result["signed"]

    steps = [e.step for e in signed.evidence]
    assert steps == ["sent"] + ["opened"] * opened + ["consented", "signed"] and opened >= 1
    times = [e.at for e in signed.evidence]
    assert times == sorted(times), list(zip(steps, times))
    last_opened, consented = signed.evidence[-3], signed.evidence[-2]
    assert last_opened.at < consented.at  # written after it, and dated so (not merely pulled up to its time)
    assert signed.evidence[-1].data["signed_at"] == evidence.timestamp(signed.signature.signed_at)
    assert evidence.verify_chain(signed.evidence, signed.evidence_sha256)
    [completed] = outbox(app, "signature.completed")
    assert completed.payload().evidence_sha256 == signed.evidence_sha256
    with app.uow() as uow:
        stored = uow.requests.get(sent.tenant, signed.id)
    assert [e.at for e in stored.evidence] == times and stored.check_evidence() == signed.evidence_sha256
