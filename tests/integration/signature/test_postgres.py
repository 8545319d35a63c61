"""The signature service on PostgreSQL: races that only a real concurrent database shows."""
import threading

import grpc
import pytest
from sqlalchemy import func, select

from quoteflow.v1 import signature_pb2
from services.signature.adapters import orm
from tests.integration.signature.support import AUTH, make_config, outbox, sent_code, sign_request
from tests.support.backends import private_databases

pytestmark = pytest.mark.postgres


@pytest.fixture
def cfg(tmp_path):
    with private_databases(["signature"], prefix="qf_sig") as urls:
        yield make_config(tmp_path, urls["signature"])


def together(calls) -> list:
    start = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(i, call):
        start.wait()
        try:
            results[i] = call()
        except grpc.RpcError as exc:
            results[i] = exc.code()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_simultaneous_signatures_make_exactly_one(app, grpc_stub, send):
    sent = send()
    results = together([lambda i=i: grpc_stub.Sign(sign_request(sent, signer_name=f"Signataire {i}"), metadata=AUTH)
                        for i in range(4)])
    won = [r for r in results if isinstance(r, signature_pb2.SignResponse)]
    assert won and len({(r.request_id, r.signer_name, r.signed_at) for r in won}) == 1
    assert all(r == grpc.StatusCode.ABORTED for r in results if r not in won)
    assert len(outbox(app, "signature.completed")) == 1
    with app.engine.connect() as conn:
        steps = dict(conn.execute(select(orm.evidence.c.step, func.count()).group_by(orm.evidence.c.step)).all())
    assert steps == {"sent": 1, "consented": 1, "signed": 1}


def test_parallel_guesses_never_get_more_than_five_attempts(app, grpc_stub, send):
    sent = send(signature_otp="email")
    p = sent.payload()
    grpc_stub.RequestCode(signature_pb2.RequestCodeRequest(tenant_id=sent.tenant, quote_id=p.quote_id,
                                                           version=p.version), metadata=AUTH)
    [code] = [sent_code(app, e) for e in outbox(app, "signature.code_requested")]
    wrong = f"{(int(code) + 1) % 10 ** 6:06d}"
    results = together([lambda: grpc_stub.Sign(sign_request(sent, otp_code=wrong), metadata=AUTH)] * 12)
    judged = results.count(grpc.StatusCode.INVALID_ARGUMENT)
    assert 1 <= judged <= 5
    assert set(results) <= {grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.ABORTED,
                            grpc.StatusCode.FAILED_PRECONDITION}
    with app.engine.connect() as conn:
        assert conn.execute(select(orm.codes.c.attempts)).scalar() == judged


def test_the_whole_path_with_a_code_a_drawing_and_the_documents(app, grpc_stub, send, tenant):
    sent = send(signature_otp="email", expires_at="2999-01-01T00:00:00Z")
    p = sent.payload()
    grpc_stub.RecordOpened(signature_pb2.RecordOpenedRequest(tenant_id=tenant, quote_id=p.quote_id,
                                                             version=p.version, ip="203.0.113.9"), metadata=AUTH)
    grpc_stub.RequestCode(signature_pb2.RequestCodeRequest(tenant_id=tenant, quote_id=p.quote_id,
                                                           version=p.version), metadata=AUTH)
    [code] = [sent_code(app, e) for e in outbox(app, "signature.code_requested")]
    signed = grpc_stub.Sign(sign_request(sent, otp_code=code), metadata=AUTH)
    got = grpc_stub.GetRequest(signature_pb2.GetRequestRequest(tenant_id=tenant, quote_id=p.quote_id),
                               metadata=AUTH)
    assert [e.step for e in got.evidence] == ["sent", "opened", "code_sent", "code_verified", "consented", "signed"]
    assert got.expires_at == "2999-01-01T00:00:00.000000Z"
    doc = grpc_stub.GetDocument(signature_pb2.GetDocumentRequest(tenant_id=tenant, request_id=signed.request_id,
                                                                 kind="proof_pdf"), metadata=AUTH)
    checked = grpc_stub.Verify(signature_pb2.VerifyRequest(pdf=doc.content, tenant_id=tenant), metadata=AUTH)
    assert checked.intact and checked.request_id == signed.request_id and checked.kind == "proof_pdf"
