"""One-time codes kept keyed, codes kept before that, and refusals that name their reason: no database."""
import hashlib
from datetime import datetime, timedelta, timezone

import pytest

from quoteflow.errors import FailedPrecondition, InvalidArgument
from services.signature.domain import model

NOW = datetime(2026, 11, 29, 9, 30, tzinfo=timezone.utc)
KEY = b"k" * 32
POLICY = model.CodePolicy(ttl=timedelta(minutes=10), max_attempts=5, resend_interval=timedelta(seconds=30),
                          max_codes=5, key=KEY)


def request(**kw) -> model.SignatureRequest:
    values = dict(id="r-1", tenant="t", quote_id="q-1", number="DV-2026-00042", version=2, document_sha256="d" * 64,
                  signer=model.Party(id="c-1", name="Zoë Lœwy", email="zoe@example.fr"),
                  assignee=model.Party(id="u-1", name="Hélène", email="helene@vendeur.fr"),
                  amount_ttc="1234.56", currency="EUR", at=NOW, otp_channel="email")
    values.update(kw)
    return model.SignatureRequest.open(**values)


def refusal(call) -> tuple[str, dict]:
    with pytest.raises((FailedPrecondition, InvalidArgument, model.CodeThrottled)) as raised:
        call()
    return raised.value.reason, dict(raised.value.info)


def test_a_code_is_kept_as_an_hmac_under_the_policy_key_never_as_a_plain_hash():
    r = request()
    code, _ = r.issue_code(code="042917", salt="ab" * 16, at=NOW, policy=POLICY)
    assert code.salt == "hmac:" + "ab" * 16
    assert code.code_sha256 != hashlib.sha256(f"{code.salt}:042917".encode()).hexdigest()
    assert code.code_sha256 != hashlib.sha256(f"{'ab' * 16}:042917".encode()).hexdigest()
    assert code.matches("042917", KEY) and not code.matches("042917", b"x" * 32)
    assert not code.matches("042918", KEY)
    assert "k" * 32 not in repr(POLICY)


def test_no_code_is_issued_without_a_key():
    with pytest.raises(ValueError, match="no key"):
        request().issue_code(code="042917", salt="s", at=NOW, policy=model.CodePolicy())


def test_a_code_kept_before_keys_is_checked_as_it_was_kept_until_it_expires():
    r = request()
    code, _ = r.issue_code(code="042917", salt="s", at=NOW, policy=POLICY)
    code.salt = "0f" * 16  # what the service wrote before: SHA-256 of "salt:code", the salt unmarked
    code.code_sha256 = hashlib.sha256(f"{code.salt}:042917".encode()).hexdigest()
    assert not r.try_code("042918", at=NOW, policy=POLICY).ok
    assert r.try_code("042917", at=NOW + timedelta(minutes=9), policy=POLICY).ok
    assert refusal(lambda: r.try_code("042917", at=NOW + timedelta(minutes=10), policy=POLICY))[0] == "CODE_EXPIRED"


def test_each_code_refusal_names_its_reason_and_what_is_left():
    r = request()
    assert refusal(lambda: r.try_code("123456", at=NOW, policy=POLICY)) == ("CODE_NOT_SENT", {"codes_left": "5"})
    r.issue_code(code="123456", salt="s", at=NOW, policy=POLICY)
    assert refusal(lambda: r.issue_code(code="1", salt="s", at=NOW + timedelta(seconds=20), policy=POLICY)) == (
        "CODE_RESEND_TOO_SOON", {"retry_after_seconds": "10"})
    assert refusal(lambda: r.try_code("12 34", at=NOW, policy=POLICY)) == ("CODE_MALFORMED", {"digits": "6"})
    assert refusal(lambda: r.try_code("", at=NOW, policy=POLICY))[0] == ""  # nothing typed: the form says so
    for _ in range(5):
        r.try_code("654321", at=NOW, policy=POLICY)
    assert refusal(lambda: r.try_code("123456", at=NOW, policy=POLICY)) == ("CODE_LOCKED", {"codes_left": "4"})
    r.issue_code(code="222222", salt="s", at=NOW + timedelta(seconds=30), policy=POLICY)
    assert refusal(lambda: r.try_code("222222", at=NOW + timedelta(minutes=11), policy=POLICY)) == (
        "CODE_EXPIRED", {"codes_left": "3"})
    for i in range(3):
        r.issue_code(code="333333", salt="s", at=NOW + timedelta(minutes=12 + i), policy=POLICY)
    assert refusal(lambda: r.issue_code(code="4", salt="s", at=NOW + timedelta(hours=1), policy=POLICY)) == (
        "CODES_USED_UP", {"max_codes": "5"})


def test_a_closed_request_names_why():
    signed = request(otp_channel="")
    signed.sign(at=NOW, signer_name="Zoë", signer_email="", ip="", user_agent="", shown_consent_text="",
                signed_pdf_sha256="e" * 64)
    assert refusal(lambda: signed.check_open(NOW))[0] == "REQUEST_SIGNED"
    assert refusal(lambda: signed.decline(at=NOW, reason="Non"))[0] == "REQUEST_SIGNED"
    declined = request()
    declined.decline(at=NOW, reason="Trop cher")
    assert refusal(lambda: declined.issue_code(code="1", salt="s", at=NOW, policy=POLICY))[0] == "REQUEST_DECLINED"
    superseded = request()
    superseded.supersede(NOW, 3)
    assert refusal(lambda: superseded.check_open(NOW))[0] == "REQUEST_SUPERSEDED"
    expired = request(expires_at=NOW)
    assert refusal(lambda: expired.check_open(NOW))[0] == "REQUEST_EXPIRED"


@pytest.mark.parametrize("value, problem", [("", "is required"), ("abc", "64 hexadecimal"), ("g" * 64, "64 hex")])
def test_the_document_hash_must_be_sent(value, problem):
    with pytest.raises(InvalidArgument) as raised:
        model.check_document_sha256(value)
    assert list(raised.value.violations) == ["document_sha256"] and problem in raised.value.violations["document_sha256"]
    model.check_document_sha256("D" * 64)
