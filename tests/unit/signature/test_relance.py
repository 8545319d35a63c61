"""A relance of the same version on the request's rules: one chain, the signer it is addressed to, the codes."""
from datetime import datetime, timedelta, timezone

import pytest

from quoteflow.errors import FailedPrecondition, InvalidArgument
from services.signature.domain import evidence, model

NOW = datetime(2026, 11, 29, 9, 30, tzinfo=timezone.utc)
ZOE = model.Party(id="c-1", name="Zoë Lœwy", email="zoe@example.fr", phone="+33612345678")
PAUL = model.Party(id="c-2", name="Paul", email="paul@example.fr")
POLICY = model.CodePolicy(max_codes=2, resend_interval=timedelta(seconds=30), key=b"k" * 32)


def request(**kw) -> model.SignatureRequest:
    values = dict(id="r-1", tenant="t", quote_id="q-1", number="DV-2026-00042", version=1, document_sha256="d" * 64,
                  signer=ZOE, assignee=model.Party(email="helene@vendeur.fr"), amount_ttc="100", currency="EUR",
                  at=NOW, event_id="ev-1", expires_at=NOW + timedelta(days=30), otp_channel="email")
    values.update(kw)
    return model.SignatureRequest.open(**values)


def again(r, at=NOW + timedelta(days=1), to=ZOE, **kw):
    values = dict(at=at, recipient=to, signature_requested=True, event_id="ev-2", otp_channel="email",
                  expires_at=NOW + timedelta(days=30))
    values.update(kw)
    return r.send_again(**values)


def test_a_relance_to_the_signer_is_one_more_entry_of_the_same_chain():
    r = request()
    [entry] = again(r, to=model.Party(id="c-1", name="Zoë Lœwy", email=" ZOE@example.fr ", phone="+33699999999"))
    assert (entry.seq, entry.step, entry.prev_sha256) == (2, "sent_again", r.evidence[0].sha256)
    assert entry.data == {"version": 1, "document_sha256": "d" * 64, "event_id": "ev-2", "signature_requested": True,
                          "recipient": {"id": "c-1", "name": "Zoë Lœwy", "email": " ZOE@example.fr ",
                                        "phone": "+33699999999"}}
    assert r.signer.phone == "+33699999999"  # the contact's phone as of the latest send: where an SMS code goes
    assert evidence.verify_chain(r.evidence) == r.evidence_sha256 and r.status == model.OPEN


def test_another_contact_readdresses_the_request_and_the_chain_keeps_who_it_was():
    r = request()
    [entry] = again(r, to=PAUL)
    assert r.signer == PAUL and entry.data["previous_signer"] == ZOE.as_dict()
    assert r.code_recipient() == ("email", "paul@example.fr")
    assert (r.contact_id("paul@example.fr"), r.contact_id("Zoe@Example.fr"), r.contact_id("x@example.fr")) == (
        "c-2", "c-1", "")


def test_without_a_signature_asked_the_send_is_only_recorded():
    r = request()
    [entry] = again(r, to=PAUL, signature_requested=False, otp_channel="", expires_at=NOW)
    assert r.signer == ZOE and r.otp_channel == "email" and r.expires_at == NOW + timedelta(days=30)
    assert "previous_signer" not in entry.data and entry.data["signature_requested"] is False
    assert r.contact_id("paul@example.fr") == "c-2"  # Paul was sent this version too


def test_a_changed_code_channel_or_validity_is_adopted_and_written_down():
    r = request()
    [entry] = again(r, otp_channel="sms", expires_at=NOW + timedelta(days=40))
    assert r.otp_channel == "sms" and r.expires_at == NOW + timedelta(days=40)
    assert entry.data["otp_channel"] == "sms" and entry.data["expires_at"] == "2027-01-08T09:30:00.000000Z"
    with pytest.raises(InvalidArgument):
        again(r, otp_channel="fax")


def test_a_closed_request_takes_no_relance():
    for close in (lambda r: r.supersede(NOW, 2),
                  lambda r: r.decline(at=NOW, reason="Trop cher"),
                  lambda r: r.sign(at=NOW, signer_name="Zoë", signer_email="", ip="", user_agent="",
                                   shown_consent_text="", signed_pdf_sha256="e" * 64,
                                   verified_code=r.codes[-1] if r.codes else None)):
        r = request(otp_channel="")
        close(r)
        head = r.evidence_sha256
        assert again(r) == [] and r.evidence_sha256 == head


def test_the_budget_of_codes_starts_again_with_each_send_that_asks_for_a_signature():
    r = request()
    at = NOW
    for _ in range(2):
        r.issue_code(code="123456", salt="s", at=at, policy=POLICY)
        at += timedelta(minutes=1)
    assert r.codes_left(POLICY) == 0
    with pytest.raises(FailedPrecondition, match="2 codes"):
        r.issue_code(code="123456", salt="s", at=at, policy=POLICY)
    again(r, at=at, signature_requested=False)
    assert r.codes_left(POLICY) == 0  # a send without a signature asked gives nothing
    again(r, at=at)
    assert r.codes_left(POLICY) == 2
    issued, _ = r.issue_code(code="654321", salt="s", at=at + timedelta(minutes=1), policy=POLICY)
    assert issued.seq == 3 and r.codes_left(POLICY) == 1
