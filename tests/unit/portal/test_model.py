"""The portal's pure rules: links, versions, page states, CSRF tokens, view ids, typed text, the guess limiter."""
from __future__ import annotations

import base64
import secrets
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, strategies as st

from services.portal.domain import model

NOW = datetime(2025, 3, 6, 12, 0, tzinfo=timezone.utc)


def version(**changes) -> model.Version:
    fields = dict(tenant="t", quote_id="q", version=1, number="DEV-1", snapshot={}, pdf_sha256="a" * 64,
                  signature_requested=True, assignee={})
    fields.update(changes)
    return model.Version(**fields)


def test_real_tokens_are_well_formed_and_others_are_not():
    assert model.well_formed(secrets.token_urlsafe(32))
    for bad in ("", "abc", "a" * 31, "a" * 129, "x" * 40 + "/", "x" * 40 + "=", "é" * 40, "x" * 40 + "\n"):
        assert not model.well_formed(bad), bad


@given(st.text(max_size=200))
def test_well_formed_never_accepts_characters_outside_base64url(text):
    if model.well_formed(text):
        assert set(text) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_token_hash_is_sha256_hex():
    assert model.token_hash("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_csrf_token_is_bound_to_the_link_and_the_secret():
    token = model.csrf_token("secret", "h1")
    assert model.csrf_valid("secret", "h1", token)
    assert not model.csrf_valid("secret", "h2", token)
    assert not model.csrf_valid("other", "h1", token)
    assert not model.csrf_valid("secret", "h1", "")


def test_link_expires_at_its_end():
    link = model.Link("h", "t", "q", 1, {}, expires_at=NOW)
    assert not link.expired(NOW - timedelta(seconds=1))
    assert link.expired(NOW)
    assert not model.Link("h", "t", "q", 1, {}, expires_at=None).expired(NOW)


def test_version_signable_only_when_requested_and_open():
    assert version().signable
    assert not version(signature_requested=False).signable
    with pytest.raises(model.NotSignable) as caught:
        version(signature_requested=False).check_signable()
    assert caught.value.reason == "not_requested"


def test_supersede_leaves_a_signed_version_signed():
    signed = version()
    signed.mark_signed("Zoé", NOW, "b" * 64)
    signed.supersede()
    assert signed.status == model.SIGNED and signed.signed_pdf_sha256 == "b" * 64
    with pytest.raises(model.NotSignable) as caught:
        signed.check_signable()
    assert caught.value.reason == "signed"
    opened = version()
    opened.supersede()
    assert opened.status == model.SUPERSEDED
    with pytest.raises(model.NotSignable) as caught:
        opened.check_signable()
    assert caught.value.reason == "superseded"


def link(**changes) -> model.Link:
    fields = dict(token_sha256="h", tenant="t", quote_id="q", version=1, recipient={"email": "Zoe@Example.fr"},
                  expires_at=NOW + timedelta(days=1))
    fields.update(changes)
    return model.Link(**fields)


def test_page_state_order_signed_revoked_superseded_expired_declined_open():
    assert model.page_state(link(), version(), NOW) == model.STATE_OPEN
    assert model.page_state(link(expires_at=NOW), version(), NOW) == model.STATE_EXPIRED
    declined = version()
    declined.mark_declined("Trop cher", NOW)
    assert model.page_state(link(), declined, NOW) == model.STATE_DECLINED
    # Only a signed quote outlives its validity: a declined one's link dies with it, PDF included.
    assert model.page_state(link(expires_at=NOW), declined, NOW) == model.STATE_EXPIRED
    assert model.page_state(link(superseded=True), declined, NOW) == model.STATE_SUPERSEDED
    assert model.page_state(link(superseded=True, revoked=True), version(), NOW) == model.STATE_REVOKED
    signed = version()
    signed.mark_signed("Zoé", NOW)
    # A signed quote stays readable for its signed copy, even past its validity or a newer version.
    assert model.page_state(link(expires_at=NOW, revoked=True), signed, NOW) == model.STATE_SIGNED
    assert model.READABLE == {model.STATE_OPEN, model.STATE_SIGNED, model.STATE_DECLINED}


def test_declining_never_undoes_a_signature():
    signed = version()
    signed.mark_signed("Zoé", NOW)
    signed.mark_declined("trop tard", NOW)
    assert signed.status == model.SIGNED and signed.decline_reason == ""
    declined = version()
    declined.mark_declined("Trop cher", NOW, "Zoé")
    with pytest.raises(model.NotSignable) as caught:
        declined.check_signable()
    assert caught.value.reason == "declined"


def test_code_pending_until_it_expires():
    assert not link().code_pending(NOW)
    pending = link(code=model.CodeSent("email", "z***@example.fr", NOW + timedelta(minutes=10)))
    assert pending.code_pending(NOW) and not pending.code_pending(NOW + timedelta(minutes=10))
    assert link().recipient_email == "zoe@example.fr"


def test_otp_channel_is_email_sms_or_none():
    assert version(signature_otp="sms").otp_channel == "sms"
    assert version(signature_otp="pigeon").otp_channel == ""


def test_view_ids_are_bound_to_the_link_and_the_secret():
    view = model.new_view_id("secret", "h1")
    assert model.view_id_valid("secret", "h1", view)
    assert not model.view_id_valid("secret", "h2", view)
    assert not model.view_id_valid("other", "h1", view)
    assert not model.view_id_valid("secret", "h1", view[:-1] + ("0" if view[-1] != "0" else "1"))
    assert not model.view_id_valid("secret", "h1", "")
    assert model.new_view_id("secret", "h1") != view


@given(st.text(max_size=120))
def test_view_id_valid_never_raises(text):
    assert model.view_id_valid("secret", "h1", text) in (True, False)


def test_typed_text_is_cleaned():
    assert model.clean_line("  Zoé\t\x00Bérénice\r\n ") == "Zoé Bérénice"
    assert model.clean_text(" Trop  cher\r\n\r\nMerci\x07 ") == "Trop cher\n\nMerci"
    # Bidirectional overrides and isolates would reverse what follows them on the page and the signed PDF.
    assert model.clean_line("Zoé\u202e Martin\u2066\x85") == "Zoé Martin"
    assert model.clean_text("Trop\u202d cher\nMerci\u2069") == "Trop cher\nMerci"
    assert model.clean_line("\u200fمريم\u200f") == "\u200fمريم\u200f"  # the marks an RTL name needs stay
    assert model.signer_name_problem("Z") == "signer_name"
    assert model.signer_name_problem("Zoé") == ""
    assert model.signer_name_problem("Z" * 201) == "signer_name_long"
    assert model.reason_problem("") == "reason" and model.reason_problem("x" * 2001) == "reason_long"


def test_drawn_signature_accepts_only_a_png_data_url_of_bounded_size():
    png = model.PNG_MAGIC + b"rest of a png"
    assert model.drawn_signature("") == b""
    assert model.drawn_signature("data:image/png;base64," + base64.b64encode(png).decode()) == png
    for bad in ("data:image/svg+xml;base64,PHN2Zz4=", "data:image/png;base64,%%%",
                "data:image/png;base64," + base64.b64encode(b"GIF89a").decode(),
                "data:image/png;base64," + base64.b64encode(model.PNG_MAGIC + bytes(model.MAX_SIGNATURE_PNG)).decode()):
        with pytest.raises(ValueError):
            model.drawn_signature(bad)


def test_documents_are_served_with_a_safe_type_and_name():
    assert model.served_type("application/pdf") == "application/pdf"
    assert model.served_type("Text/Plain; charset=utf-8") == "text/plain"
    for risky in ("text/html", "image/svg+xml", "application/javascript", "application/xhtml+xml", ""):
        assert model.served_type(risky) == "application/octet-stream"
    assert model.document_filename("../../etc/passwd") == "passwd"
    assert model.document_filename("C:\\temp\\devis\r\n.pdf") == "devis.pdf"
    assert model.document_filename("...") == "document"
    v = version(snapshot={"documents": [{"sha256": "a" * 64, "name": "Plan.pdf"}]})
    assert v.document("a" * 64)["name"] == "Plan.pdf" and v.document("b" * 64) is None


def test_guess_limiter_blocks_an_address_then_forgets():
    now = [0.0]
    limiter = model.GuessLimiter(max_failures=2, window=10, clock=lambda: now[0])
    limiter.failed("1.2.3.4")
    limiter.check("1.2.3.4")
    limiter.failed("1.2.3.4")
    with pytest.raises(model.TooManyAttempts):
        limiter.check("1.2.3.4")
    limiter.check("5.6.7.8")
    now[0] = 10.5
    limiter.check("1.2.3.4")


def test_guess_limiter_says_when_to_come_back():
    now = [0.0]
    limiter = model.GuessLimiter(max_failures=2, window=10, clock=lambda: now[0])
    assert limiter.retry_after("1.2.3.4") == 0
    limiter.failed("1.2.3.4")
    now[0] = 3.0
    limiter.failed("1.2.3.4")
    assert limiter.retry_after("1.2.3.4") == 8
