"""Decline, one-time codes, "opened", expiry: the request's rules, without a database."""
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, strategies as st

from quoteflow.errors import FailedPrecondition, InvalidArgument
from services.signature.domain import evidence, model

NOW = datetime(2026, 11, 29, 9, 30, tzinfo=timezone.utc)
DOC = "d" * 64
POLICY = model.CodePolicy(ttl=timedelta(minutes=10), max_attempts=5, resend_interval=timedelta(seconds=30),
                          max_codes=5, key=b"k" * 32)


def request(**kw) -> model.SignatureRequest:
    values = dict(id="r-1", tenant="t", quote_id="q-1", number="DV-2026-00042", version=2, document_sha256=DOC,
                  signer=model.Party(id="c-1", name="Zoë Lœwy", email="zoe@example.fr", phone="+33612345678"),
                  assignee=model.Party(id="u-1", name="Hélène", email="helene@vendeur.fr"),
                  amount_ttc="1234.56", currency="EUR", at=NOW)
    values.update(kw)
    return model.SignatureRequest.open(**values)


def sign(r: model.SignatureRequest, at=NOW, **kw):
    values = dict(at=at, signer_name="Zoë Lœwy", signer_email="", ip="203.0.113.9", user_agent="UA",
                  shown_consent_text="", signed_pdf_sha256="e" * 64)
    values.update(kw)
    return r.sign(**values)


# expiry ------------------------------------------------------------------------

def test_the_sent_entry_records_expiry_and_code_channel_only_when_set():
    assert "expires_at" not in request().evidence[0].data
    r = request(expires_at=NOW + timedelta(days=30), otp_channel="sms")
    assert r.evidence[0].data["expires_at"] == "2026-12-29T09:30:00.000000Z"
    assert r.evidence[0].data["otp_channel"] == "sms"


def test_an_expired_quote_can_neither_be_signed_nor_declined():
    r = request(expires_at=NOW + timedelta(days=1))
    later = NOW + timedelta(days=1)
    with pytest.raises(FailedPrecondition, match="expired"):
        r.check_can_sign(DOC, later)
    with pytest.raises(FailedPrecondition, match="expired"):
        sign(r, at=later)
    with pytest.raises(FailedPrecondition, match="expired"):
        r.decline(at=later, reason="Trop cher")
    assert r.status == model.OPEN and [e.step for e in r.evidence] == ["sent"]
    r.check_can_sign(DOC, later - timedelta(microseconds=1))


# decline -----------------------------------------------------------------------

def test_declining_records_the_reason_and_closes_the_request():
    r = request()
    [entry] = r.decline(at=NOW, reason="  Le délai ne nous convient pas.\r\nMerci quand même ! ", ip="198.51.100.4",
                        user_agent="Safari")
    assert r.status == model.DECLINED
    assert entry.step == "declined" and entry.ip == "198.51.100.4"
    assert entry.data["reason"] == "Le délai ne nous convient pas.\nMerci quand même !"
    assert entry.data["reason_sha256"] == evidence.sha256_text(entry.data["reason"])
    assert entry.data["signer_name"] == "Zoë Lœwy" and entry.data["signer_contact_id"] == "c-1"
    assert r.declined.reason == entry.data["reason"]
    assert evidence.verify_chain(r.evidence) == r.evidence_sha256
    assert r.decline(at=NOW, reason="autre chose") == []          # a repeat changes nothing
    with pytest.raises(FailedPrecondition, match="declined"):
        sign(r)


def test_a_signed_request_cannot_be_declined_and_a_superseded_one_neither():
    r = request()
    sign(r)
    with pytest.raises(FailedPrecondition, match="already signed"):
        r.decline(at=NOW, reason="Finalement non")
    old = request()
    old.supersede(NOW, 3)
    with pytest.raises(FailedPrecondition, match="newer version"):
        old.decline(at=NOW, reason="Non")


@pytest.mark.parametrize("reason, why", [
    ("", "required"), ("   \n ", "required"), ("x" * (model.MAX_REASON + 1), "at most"),
    ("Non\x00merci", "control"), ("Non\u202emerci", "control"), ("Non\x1b[31m", "control"),
])
def test_a_decline_reason_is_required_bounded_and_printable(reason, why):
    with pytest.raises(InvalidArgument) as error:
        request().decline(at=NOW, reason=reason)
    assert why in error.value.violations["reason"]


@given(st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cf", "Cs")), min_size=1, max_size=300))
def test_any_printable_reason_is_kept_as_typed(text):
    if not text.strip():
        return
    r = request()
    r.decline(at=NOW, reason=text)
    assert r.declined.reason == model.clean_reason(text) and r.declined.reason


# one-time codes ----------------------------------------------------------------

def test_no_code_is_needed_or_accepted_without_the_tenant_setting():
    r = request()
    assert r.try_code("123456", at=NOW, policy=POLICY) is None
    with pytest.raises(FailedPrecondition, match="no one-time code"):
        r.issue_code(code="123456", salt="s", at=NOW, policy=POLICY)


def test_a_code_goes_by_sms_falls_back_to_email_and_keeps_only_a_keyed_hash():
    r = request(otp_channel="sms")
    code, [entry] = r.issue_code(code="042917", salt="salt-1", at=NOW, policy=POLICY, ip="203.0.113.9")
    assert (code.channel, code.recipient) == ("sms", "+33612345678")
    assert code.salt == "hmac:salt-1" and "042917" not in repr(entry)
    assert code.code_sha256 == model.code_digest("042917", "hmac:salt-1", POLICY.key)
    assert entry.step == "code_sent" and entry.data["expires_at"] == "2026-11-29T09:40:00.000000Z"
    no_phone = request(otp_channel="sms", signer=model.Party(id="c-1", email="zoe@example.fr"))
    code, _ = no_phone.issue_code(code="000001", salt="s", at=NOW, policy=POLICY)
    assert (code.channel, code.recipient) == ("email", "zoe@example.fr")


def test_codes_are_rate_limited_and_capped():
    r = request(otp_channel="email")
    r.issue_code(code="111111", salt="s", at=NOW, policy=POLICY)
    with pytest.raises(model.CodeThrottled, match="wait 30 s"):
        r.issue_code(code="222222", salt="s", at=NOW + timedelta(microseconds=1), policy=POLICY)
    for i in range(1, 5):
        r.issue_code(code="333333", salt="s", at=NOW + timedelta(seconds=30 * i), policy=POLICY)
    with pytest.raises(FailedPrecondition, match="5 codes were already sent"):
        r.issue_code(code="444444", salt="s", at=NOW + timedelta(hours=1), policy=POLICY)
    assert [e.step for e in r.evidence] == ["sent"] + ["code_sent"] * 5


def test_a_wrong_code_spends_an_attempt_and_five_kill_the_code():
    r = request(otp_channel="email")
    r.issue_code(code="123456", salt="s", at=NOW, policy=POLICY)
    lefts = [r.try_code("654321", at=NOW, policy=POLICY) for _ in range(5)]
    assert [a.ok for a in lefts] == [False] * 5 and [a.attempts_left for a in lefts] == [4, 3, 2, 1, 0]
    assert [a.attempts_before for a in lefts] == [0, 1, 2, 3, 4]
    with pytest.raises(FailedPrecondition, match="too many wrong codes"):
        r.try_code("123456", at=NOW, policy=POLICY)


def test_malformed_or_missing_codes_spend_nothing_and_expired_codes_are_refused():
    r = request(otp_channel="email")
    with pytest.raises(FailedPrecondition, match="ask for a code first"):
        r.try_code("123456", at=NOW, policy=POLICY)
    code, _ = r.issue_code(code="123456", salt="s", at=NOW, policy=POLICY)
    for bad in ("", "12345", "1234567", "12345a", "１２３４５６"):
        with pytest.raises(InvalidArgument) as error:
            r.try_code(bad, at=NOW, policy=POLICY)
        assert "otp_code" in error.value.violations
    assert code.attempts == 0
    with pytest.raises(FailedPrecondition, match="expired"):
        r.try_code("123456", at=NOW + timedelta(minutes=10), policy=POLICY)
    assert r.try_code(" 123456 ", at=NOW + timedelta(minutes=9), policy=POLICY).ok


def test_signing_with_a_code_needs_the_verified_code_and_records_it():
    r = request(otp_channel="email")
    with pytest.raises(FailedPrecondition, match="one-time code is required"):
        sign(r)
    r.issue_code(code="123456", salt="s", at=NOW, policy=POLICY)
    attempt = r.try_code("123456", at=NOW, policy=POLICY)
    entries = sign(r, verified_code=attempt.code, signature_png_sha256="f" * 64)
    assert [e.step for e in entries] == ["code_verified", "consented", "signed"]
    assert entries[0].data == {"attempts": 1, "channel": "email", "code_seq": 1, "recipient": "zoe@example.fr"}
    assert entries[2].data["signature_png_sha256"] == "f" * 64
    assert r.proof()["document"]["signature_png_sha256"] == "f" * 64
    assert evidence.verify_chain(r.evidence) == r.evidence_sha256


def test_a_new_code_replaces_the_previous_one():
    r = request(otp_channel="email")
    r.issue_code(code="111111", salt="a", at=NOW, policy=POLICY)
    r.issue_code(code="222222", salt="b", at=NOW + timedelta(seconds=30), policy=POLICY)
    assert not r.try_code("111111", at=NOW + timedelta(seconds=31), policy=POLICY).ok
    assert r.try_code("222222", at=NOW + timedelta(seconds=31), policy=POLICY).ok


@pytest.mark.parametrize("value, masked", [
    ("zoe@client.fr", "z***@client.fr"), ("nope", "***"),
])
def test_email_masks(value, masked):
    assert model.mask_email(value) == masked


@pytest.mark.parametrize("value, masked", [
    ("+33612345678", "+33 6 ** ** ** 78"), ("+33 6 12 34 56 78", "+33 6 ** ** ** 78"),
    ("+447700900123", "+44********23"), ("12", "***"),
])
def test_phone_masks(value, masked):
    assert model.mask_phone(value) == masked


# opened -------------------------------------------------------------------------

def test_opened_is_recorded_once_per_client_and_minute_and_only_while_open():
    r = request()
    window = timedelta(seconds=60)
    assert len(r.record_opened(at=NOW, ip="203.0.113.9", user_agent="Firefox", window=window)) == 1
    assert r.record_opened(at=NOW + timedelta(seconds=59), ip="203.0.113.9", user_agent="Firefox",
                           window=window) == []
    assert len(r.record_opened(at=NOW + timedelta(seconds=59), ip="203.0.113.10", user_agent="Firefox",
                               window=window)) == 1
    assert len(r.record_opened(at=NOW + timedelta(seconds=61), ip="203.0.113.9", user_agent="Firefox",
                               window=window)) == 1
    assert [e.step for e in r.evidence] == ["sent", "opened", "opened", "opened"]
    sign(r, at=NOW + timedelta(minutes=5))
    assert r.record_opened(at=NOW + timedelta(hours=1), ip="1.1.1.1", user_agent="x", window=window) == []
