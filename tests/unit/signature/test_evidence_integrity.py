"""The evidence chain, as the model checks it before sealing or serving, and the order of its times."""
from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import given, strategies as st

from quoteflow.errors import DomainError
from services.signature.domain import evidence, model
from tests.unit.signature.builders import NOW, ZOE, request


def opened(r, at=NOW + timedelta(minutes=1)) -> model.SignatureRequest:
    r.record_opened(at=at, ip="203.0.113.9", user_agent="Firefox", window=timedelta(seconds=60))
    return r


# tampering -----------------------------------------------------------------------

def test_an_intact_chain_passes_with_or_without_the_recorded_head():
    r = opened(request())
    assert r.check_evidence() == r.evidence_sha256
    r.recorded_head = r.evidence_sha256
    assert r.check_evidence() == r.evidence_sha256


@pytest.mark.parametrize("field,value", [("ip", "192.0.2.66"), ("user_agent", "Chrome"), ("step", "sent"),
                                         ("at", "2026-11-29T09:00:00.000000Z"), ("data", {"version": 1})])
def test_one_changed_field_of_a_stored_entry_is_tampering(field, value):
    r = opened(request())
    r.recorded_head = r.evidence_sha256
    r.evidence[1] = replace(r.evidence[1], **{field: value})
    with pytest.raises(model.EvidenceTampered, match="entry 2") as raised:
        r.check_evidence()
    assert isinstance(raised.value, DomainError) and raised.value.reason == model.EVIDENCE_TAMPERED
    assert raised.value.info == {"request_id": "r-1"}


def test_entries_removed_from_the_end_or_a_changed_head_are_tampering():
    r = opened(request())
    r.recorded_head = r.evidence_sha256
    r.evidence.pop()
    with pytest.raises(model.EvidenceTampered, match="recorded head"):
        r.check_evidence()
    r = opened(request())
    r.recorded_head = "0" * 64
    with pytest.raises(model.EvidenceTampered, match="recorded head"):
        r.check_evidence()


# times -----------------------------------------------------------------------------

def test_the_signature_entries_are_dated_when_written_and_keep_the_seals_time():
    r = request(otp_channel="email")
    policy = model.CodePolicy(key=b"k" * 32)
    r.issue_code(code="123456", salt="s", at=NOW, policy=policy)
    signed_at = NOW + timedelta(minutes=1)
    attempt = r.try_code("123456", at=signed_at, policy=policy)
    opened(r, at=signed_at + timedelta(milliseconds=20))      # recorded while the seal was being made
    written = signed_at + timedelta(milliseconds=29)
    entries = r.sign(at=signed_at, signer_name="Zoë Lœwy", signer_email="", ip="203.0.113.9", user_agent="UA",
                     shown_consent_text="", signed_pdf_sha256="e" * 64, verified_code=attempt.code,
                     recorded_at=written)
    assert [e.step for e in entries] == ["code_verified", "consented", "signed"]
    assert {e.at for e in entries} == {evidence.timestamp(written)}
    assert entries[-1].data["signed_at"] == evidence.timestamp(signed_at)
    assert r.signature.signed_at == signed_at
    assert r.proof()["signer"]["signed_at"] == evidence.timestamp(signed_at)
    times = [e.at for e in r.evidence]
    assert times == sorted(times)


def test_without_a_write_time_the_signature_entries_carry_the_signatures_time():
    r = request()
    [consented, signed] = r.sign(at=NOW, signer_name="Zoë Lœwy", signer_email="", ip="", user_agent="",
                                 shown_consent_text="", signed_pdf_sha256="e" * 64)
    assert consented.at == signed.at == signed.data["signed_at"] == evidence.timestamp(NOW)


def test_an_entry_is_never_dated_before_the_one_it_follows():
    chain = []
    evidence.append(chain, step="sent", at=NOW)
    late = evidence.append(chain, step="opened", at=NOW - timedelta(milliseconds=3))  # another server's clock
    assert late.at == chain[0].at
    assert evidence.verify_chain(chain) == late.sha256


@given(st.lists(st.integers(min_value=-10_000, max_value=10_000), min_size=1, max_size=30))
def test_times_along_any_chain_never_go_back(offsets):
    chain = []
    for ms in offsets:
        evidence.append(chain, step="opened", at=NOW + timedelta(milliseconds=ms))
    times = [e.at for e in chain]
    assert times == sorted(times)
    assert times[0] == evidence.timestamp(NOW + timedelta(milliseconds=offsets[0]))


# when the CRM sent it ----------------------------------------------------------------

def test_the_sends_keep_when_the_crm_sent_them_only_when_known():
    r = request(sent_at=NOW - timedelta(seconds=2))
    assert r.evidence[0].data["sent_at"] == "2026-11-29T09:29:58.000000Z"
    assert r.evidence[0].at == evidence.timestamp(NOW)
    [again] = r.send_again(at=NOW + timedelta(days=1), recipient=ZOE, signature_requested=True,
                           sent_at=NOW + timedelta(days=1, seconds=-1))
    assert again.data["sent_at"] == "2026-11-30T09:29:59.000000Z"
    assert "sent_at" not in request().evidence[0].data  # chains written before hash the same way
    [plain] = request().send_again(at=NOW, recipient=ZOE, signature_requested=False)
    assert "sent_at" not in plain.data
