"""The portal's pure rules: links, versions, CSRF tokens, consent text, the guess limiter."""
from __future__ import annotations

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


def test_consent_text_names_number_and_amount():
    assert model.consent_text("DEV-7", "1 447,46 €") == (
        "En signant, j'accepte le devis n° DEV-7 d'un montant de 1 447,46 € TTC.")


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
