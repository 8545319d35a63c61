"""Refusals a program can tell apart (google.rpc.ErrorInfo), a missing document hash, and codes kept keyed.

Over real gRPC against the real service: each one-time code problem names its reason and what the caller
needs to say what to do next; a closed request names why it is closed; what the database keeps of a code
cannot be turned back into the code without the service's key, and codes kept before that still work
while they last.
"""
import hashlib
import hmac
from dataclasses import replace

import grpc
import pytest
from sqlalchemy import select, update

from quoteflow import sealing
from quoteflow.v1 import signature_pb2
from services.signature.adapters import orm
from services.signature.bootstrap import bootstrap
from services.signature.domain import commands
from tests.integration.signature.support import AUTH, error_of, outbox, reason_of, sent_code, sign_request, violations


def code_request(sent) -> signature_pb2.RequestCodeRequest:
    p = sent.payload()
    return signature_pb2.RequestCodeRequest(tenant_id=sent.tenant, quote_id=p.quote_id, version=p.version,
                                            ip="203.0.113.9", user_agent="Firefox/133")


def last_code(app) -> str:
    return sent_code(app, outbox(app, "signature.code_requested")[-1])


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10 ** 6:06d}"


def sign(stub, sent, code):
    return error_of(lambda: stub.Sign(sign_request(sent, otp_code=code), metadata=AUTH))


def test_each_code_problem_names_its_reason(app, grpc_stub, send, clock):
    sent = send(signature_otp="email")
    error = sign(grpc_stub, sent, "123456")
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason_of(error) == ("CODE_NOT_SENT", {"codes_left": "5"})

    grpc_stub.RequestCode(code_request(sent), metadata=AUTH)
    code = last_code(app)
    error = error_of(lambda: grpc_stub.RequestCode(code_request(sent), metadata=AUTH))
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    reason, info = reason_of(error)
    assert reason == "CODE_RESEND_TOO_SOON" and 1 <= int(info["retry_after_seconds"]) <= 30

    error = sign(grpc_stub, sent, "12345")
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and "otp_code" in violations(error)
    assert reason_of(error) == ("CODE_MALFORMED", {"digits": "6"})

    error = sign(grpc_stub, sent, wrong(code))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violations(error) == {"otp_code": "wrong code: 4 attempts left"}
    assert reason_of(error) == ("CODE_WRONG", {"attempts_left": "4", "codes_left": "4"})
    for left in (3, 2, 1, 0):
        assert reason_of(sign(grpc_stub, sent, wrong(code)))[1]["attempts_left"] == str(left)
    error = sign(grpc_stub, sent, code)  # the right one, too late
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason_of(error) == ("CODE_LOCKED", {"codes_left": "4"})

    clock.advance(seconds=30)
    grpc_stub.RequestCode(code_request(sent), metadata=AUTH)
    clock.advance(minutes=10)
    error = sign(grpc_stub, sent, last_code(app))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason_of(error) == ("CODE_EXPIRED", {"codes_left": "3"})

    for _ in range(3):
        grpc_stub.RequestCode(code_request(sent), metadata=AUTH)
        clock.advance(seconds=30)
    error = error_of(lambda: grpc_stub.RequestCode(code_request(sent), metadata=AUTH))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason_of(error) == ("CODES_USED_UP", {"max_codes": "5"})
    error = sign(grpc_stub, sent, wrong(last_code(app)))
    assert reason_of(error) == ("CODE_WRONG", {"attempts_left": "4", "codes_left": "0"})
    assert grpc_stub.Sign(sign_request(sent, otp_code=last_code(app)), metadata=AUTH).request_id


def test_a_closed_request_names_why(app, grpc_stub, send, clock):
    signed = send()
    grpc_stub.Sign(sign_request(signed), metadata=AUTH)
    error = error_of(lambda: grpc_stub.Decline(signature_pb2.DeclineRequest(
        tenant_id=signed.tenant, quote_id=signed.payload().quote_id, version=1, reason="Non"), metadata=AUTH))
    assert reason_of(error)[0] == "REQUEST_SIGNED"

    first = send(signature_otp="email")
    quote_id = first.payload().quote_id
    app.handle(commands.Decline(tenant=first.tenant, quote_id=quote_id, version=1, reason="Trop cher"))
    error = error_of(lambda: grpc_stub.RequestCode(code_request(first), metadata=AUTH))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION and reason_of(error)[0] == "REQUEST_DECLINED"

    older = send(signature_otp="email")
    send(older.payload().quote_id, version=2, signature_otp="email")
    error = sign(grpc_stub, older, "123456")
    assert reason_of(error)[0] == "REQUEST_SUPERSEDED"

    expired = send(expires_at="2026-01-31T23:59:59Z")
    error = error_of(lambda: grpc_stub.Sign(sign_request(expired), metadata=AUTH))
    assert reason_of(error)[0] == "REQUEST_EXPIRED"


def test_sign_without_the_document_hash_names_the_missing_field(app, grpc_stub, send):
    sent = send()
    error = error_of(lambda: grpc_stub.Sign(sign_request(sent, document_sha256=""), metadata=AUTH))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert list(violations(error)) == ["document_sha256"] and "required" in violations(error)["document_sha256"]
    error = error_of(lambda: grpc_stub.Sign(sign_request(sent, document_sha256="abc"), metadata=AUTH))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and list(violations(error)) == ["document_sha256"]
    error = error_of(lambda: grpc_stub.Sign(sign_request(sent, document_sha256="0" * 64), metadata=AUTH))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION and "SHA-256 differs" in error.details()
    assert outbox(app, "signature.completed") == []


def stored_code(app) -> dict:
    with app.engine.connect() as conn:
        return dict(conn.execute(select(orm.codes).order_by(orm.codes.c.seq.desc())).mappings().first())


def test_a_stored_code_cannot_be_recovered_without_the_service_key(app, grpc_stub, send):
    sent = send(signature_otp="email")
    grpc_stub.RequestCode(code_request(sent), metadata=AUTH)
    code, row = last_code(app), stored_code(app)
    salt = row["salt"]
    assert salt.startswith("hmac:")
    key = sealing.code_digest_key(app.config.seal_key)
    assert row["code_sha256"] == hmac.new(key, f"{salt}:{code}".encode(), hashlib.sha256).hexdigest()
    # What the audit did with a row: try every 6-digit code against the hash. Nothing comes out now.
    found = [c for c in (f"{n:06d}" for n in range(10 ** 6))
             if hashlib.sha256(f"{salt}:{c}".encode()).hexdigest() == row["code_sha256"]]
    assert found == []
    assert grpc_stub.Sign(sign_request(sent, otp_code=code), metadata=AUTH).request_id


def test_the_code_key_comes_from_the_code_seal_key_and_changes_with_it(cfg):
    one = replace(cfg, code_seal_key="a" * 48).code_policy.key
    assert one == replace(cfg, code_seal_key="a" * 48).code_policy.key and len(one) == 32
    assert one != replace(cfg, code_seal_key="b" * 48).code_policy.key
    assert cfg.code_policy.key  # embedded mode: derived from the service key
    assert repr(cfg.code_policy.key) not in repr(cfg.code_policy)
    with pytest.raises(ValueError):
        sealing.code_digest_key("")


def test_codes_kept_before_the_key_still_work_while_they_last(app, grpc_stub, send, clock):
    """A code issued before the change was kept as SHA-256("salt:code"): it is checked that way until it
    expires (10 minutes), then refused like any expired code."""
    sent = send(signature_otp="email")
    grpc_stub.RequestCode(code_request(sent), metadata=AUTH)
    code = last_code(app)
    legacy_salt = "0f" * 16

    def keep_as_before(request_id):
        with app.engine.begin() as conn:
            conn.execute(update(orm.codes).where(orm.codes.c.request_id == request_id).values(
                salt=legacy_salt, code_sha256=hashlib.sha256(f"{legacy_salt}:{code}".encode()).hexdigest()))

    keep_as_before(stored_code(app)["request_id"])
    error = sign(grpc_stub, sent, wrong(code))
    assert reason_of(error) == ("CODE_WRONG", {"attempts_left": "4", "codes_left": "4"})
    assert grpc_stub.Sign(sign_request(sent, otp_code=code), metadata=AUTH).request_id

    late = send(signature_otp="email")
    grpc_stub.RequestCode(code_request(late), metadata=AUTH)
    code = last_code(app)
    keep_as_before(stored_code(app)["request_id"])
    clock.advance(minutes=10)
    assert reason_of(sign(grpc_stub, late, code))[0] == "CODE_EXPIRED"


def test_a_code_kept_under_one_key_is_refused_under_another(tmp_path, cfg, clock, send, app, grpc_stub):
    sent = send(signature_otp="email")
    grpc_stub.RequestCode(code_request(sent), metadata=AUTH)
    code = last_code(app)
    rotated = bootstrap(replace(cfg, code_seal_key="rotated-" + "r" * 40), clock=clock)
    try:
        with rotated.uow() as uow:
            request = uow.requests.for_version(sent.tenant, sent.payload().quote_id, 1)
        assert not request.current_code.matches(code, rotated.config.code_policy.key)
        assert request.current_code.matches(code, app.config.code_policy.key)
    finally:
        rotated.engine.dispose()
