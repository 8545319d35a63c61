"""One-time codes over gRPC: asking, sending (signature.code_requested), checking, limits; and "opened"."""
import json
import re

import grpc
from sqlalchemy import select

from quoteflow.v1 import signature_pb2
from services.signature.adapters import orm
from tests.integration.signature.support import AUTH, error_of, outbox, sent_code, sign_request, violations


def code_request(sent, **kw) -> signature_pb2.RequestCodeRequest:
    p = sent.payload()
    values = dict(tenant_id=sent.tenant, quote_id=p.quote_id, version=p.version, ip="203.0.113.9",
                  user_agent="Mozilla/5.0 Firefox/133")
    values.update(kw)
    return signature_pb2.RequestCodeRequest(**values)


def sent_codes(app) -> list[str]:
    return [sent_code(app, e) for e in outbox(app, "signature.code_requested")]


def steps(grpc_stub, sent) -> list[str]:
    got = grpc_stub.GetRequest(signature_pb2.GetRequestRequest(tenant_id=sent.tenant, quote_id=sent.payload().quote_id),
                               metadata=AUTH)
    return [e.step for e in got.evidence]


def test_a_code_is_sent_through_the_outbox_and_only_its_hash_is_kept(app, grpc_stub, send, tenant):
    sent = send(signature_otp="email")
    response = grpc_stub.RequestCode(code_request(sent), metadata=AUTH)
    assert (response.channel, response.masked_recipient) == ("email", "z***@client.fr")
    assert response.codes_left == 4 and response.resend_after_seconds == 30

    [event] = outbox(app, "signature.code_requested")
    assert event.tenant == tenant and event.subject == f"quote/{sent.payload().quote_id}"
    c, code = event.payload(), sent_code(app, event)
    assert re.fullmatch(r"\d{6}", code) and code.encode() not in c.SerializeToString() and c.channel == "email" and c.number == "DV-2026-00042"
    assert (c.recipient.email, c.recipient.name, c.assignee.email) == ("zoe@client.fr", "Zoë Lœwy",
                                                                       "helene@vendeur.fr")
    assert c.expires_at == response.expires_at
    with app.engine.connect() as conn:
        [row] = conn.execute(select(orm.codes)).mappings().all()
        stored = json.dumps({k: str(v) for k, v in row.items()}) + json.dumps(
            [str(v) for r in conn.execute(select(orm.evidence)).all() for v in r])
    assert code not in stored and row["attempts"] == 0
    assert steps(grpc_stub, sent) == ["sent", "code_sent"]

    got = grpc_stub.GetRequest(signature_pb2.GetRequestRequest(tenant_id=tenant, quote_id=sent.payload().quote_id),
                               metadata=AUTH)
    assert got.otp_channel == "email" and got.code_expires_at == c.expires_at and got.code_attempts_left == 5


def test_sign_needs_the_right_code_wrong_ones_say_how_many_attempts_are_left(app, grpc_stub, send):
    sent = send(signature_otp="email")
    error = error_of(lambda: grpc_stub.Sign(sign_request(sent, otp_code="123456"), metadata=AUTH))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION and "ask for a code" in error.details()

    grpc_stub.RequestCode(code_request(sent), metadata=AUTH)
    [code] = sent_codes(app)
    wrong = f"{(int(code) + 1) % 10 ** 6:06d}"
    error = error_of(lambda: grpc_stub.Sign(sign_request(sent), metadata=AUTH))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and "required" in violations(error)["otp_code"]
    error = error_of(lambda: grpc_stub.Sign(sign_request(sent, otp_code=wrong), metadata=AUTH))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violations(error) == {"otp_code": "wrong code: 4 attempts left"}

    signed = grpc_stub.Sign(sign_request(sent, otp_code=code), metadata=AUTH)
    assert signed.signer_name == "Zoë Lœwy"
    assert steps(grpc_stub, sent) == ["sent", "code_sent", "code_verified", "consented", "signed"]
    [completed] = outbox(app, "signature.completed")
    assert completed.payload().evidence_sha256 == signed.evidence_sha256


def test_five_wrong_codes_kill_the_code_even_for_the_right_one(app, grpc_stub, send):
    sent = send(signature_otp="sms", phone="+33 6 98 76 54 32")
    response = grpc_stub.RequestCode(code_request(sent), metadata=AUTH)
    assert (response.channel, response.masked_recipient) == ("sms", "+33 6 ** ** ** 32")
    [code] = sent_codes(app)
    wrong = f"{(int(code) + 7) % 10 ** 6:06d}"
    lefts = []
    for _ in range(5):
        error = error_of(lambda: grpc_stub.Sign(sign_request(sent, otp_code=wrong), metadata=AUTH))
        lefts.append(violations(error)["otp_code"])
    assert lefts[-1] == "wrong code: no attempt left, ask for a new code" and lefts[0].startswith("wrong code: 4")
    error = error_of(lambda: grpc_stub.Sign(sign_request(sent, otp_code=code), metadata=AUTH))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION and "too many wrong codes" in error.details()
    assert outbox(app, "signature.completed") == []


def test_an_expired_code_is_refused_and_a_new_one_works(app, grpc_stub, send, clock):
    sent = send(signature_otp="email")
    grpc_stub.RequestCode(code_request(sent), metadata=AUTH)
    clock.advance(minutes=10)
    [old] = sent_codes(app)
    error = error_of(lambda: grpc_stub.Sign(sign_request(sent, otp_code=old), metadata=AUTH))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION and "expired" in error.details()
    grpc_stub.RequestCode(code_request(sent), metadata=AUTH)
    new = sent_codes(app)[-1]
    assert grpc_stub.Sign(sign_request(sent, otp_code=new), metadata=AUTH).request_id


def test_codes_are_rate_limited_per_request(app, grpc_stub, send, clock):
    sent = send(signature_otp="email")
    grpc_stub.RequestCode(code_request(sent), metadata=AUTH)
    error = error_of(lambda: grpc_stub.RequestCode(code_request(sent), metadata=AUTH))
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and re.search(r"wait \d+ s", error.details())
    for left in (3, 2, 1, 0):
        clock.advance(seconds=30)
        assert grpc_stub.RequestCode(code_request(sent), metadata=AUTH).codes_left == left
    clock.advance(minutes=5)
    error = error_of(lambda: grpc_stub.RequestCode(code_request(sent), metadata=AUTH))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION and "5 codes" in error.details()
    assert len(sent_codes(app)) == 5


def test_no_code_when_the_tenant_does_not_ask_for_one(app, grpc_stub, send):
    sent = send()
    error = error_of(lambda: grpc_stub.RequestCode(code_request(sent), metadata=AUTH))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION and "no one-time code" in error.details()
    assert grpc_stub.Sign(sign_request(sent, otp_code="999999"), metadata=AUTH).request_id  # ignored
    error = error_of(lambda: grpc_stub.RequestCode(code_request(sent, tenant_id="other"), metadata=AUTH))
    assert error.code() == grpc.StatusCode.NOT_FOUND


def test_expired_quotes_cannot_be_signed(app, grpc_stub, send, clock):
    sent = send(expires_at="2026-01-31T23:59:59Z")
    error = error_of(lambda: grpc_stub.Sign(sign_request(sent), metadata=AUTH))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION and "expired" in error.details()
    future = send(expires_at="2999-12-31T23:59:59Z")
    assert grpc_stub.Sign(sign_request(future), metadata=AUTH).request_id
    assert len(outbox(app, "signature.completed")) == 1


def test_opened_is_recorded_once_a_minute_per_client(app, grpc_stub, send, clock):
    sent = send()
    p = sent.payload()

    def opened(**kw):
        values = dict(tenant_id=sent.tenant, quote_id=p.quote_id, version=p.version, ip="203.0.113.9",
                      user_agent="Firefox/133")
        values.update(kw)
        return grpc_stub.RecordOpened(signature_pb2.RecordOpenedRequest(**values), metadata=AUTH).recorded

    assert opened() is True
    assert opened() is False
    assert opened(user_agent="Chrome/131") is True
    clock.advance(seconds=61)
    assert opened() is True
    assert steps(grpc_stub, sent) == ["sent", "opened", "opened", "opened"]
    grpc_stub.Sign(sign_request(sent), metadata=AUTH)
    clock.advance(minutes=5)
    assert opened() is False
    assert steps(grpc_stub, sent)[-1] == "signed"
    error = error_of(lambda: opened(tenant_id="other"))
    assert error.code() == grpc.StatusCode.NOT_FOUND
