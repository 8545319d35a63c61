"""A withdrawn quote's links show « Devis retiré »: what happened and whom to ask, nothing of the quote."""
from __future__ import annotations

import re

import pytest

from quoteflow.errors import FailedPrecondition, NotFound


def sign_form(world, token: str) -> dict:
    html = world.page(token)
    form = re.search(r'<form method="post" action="[^"]+/sign".*?</form>', html, re.S).group(0)
    return dict(re.findall(r'<input type="hidden"[^>]*name="([^"]+)" value="([^"]*)"', form))


def test_a_withdrawn_quote_link_says_so_and_serves_nothing_else(world):
    sent = world.send()
    csrf = sign_form(world, sent["token"])["csrf_token"]  # the page was open when the quote was withdrawn
    event = world.withdrawn(sent, reason="Erreur de tarif interne")
    world.consume(event)  # a redelivery changes nothing

    response = world.get(f"/d/{sent['token']}")
    assert response.status_code == 410
    html = response.get_data(as_text=True)
    text = world.text(html)
    assert "Devis retiré" in text and f"Devis n° {sent['number']}" in text
    assert "Votre interlocuteur a retiré ce devis : il n'est plus proposé et ne peut plus être consulté, " \
           "téléchargé ni signé." in text
    assert "Pour toute question ou pour recevoir une nouvelle proposition, contactez votre interlocuteur." in text
    assert "Erreur de tarif interne" not in text  # the salesperson's reason is for the CRM
    assert "Chaudière à condensation" not in text and "Télécharger PDF" not in text and "<form" not in html
    assert re.search(r'href="mailto:[^"]+"[^>]*>Écrire à Hélène Martin<', html)
    assert response.headers["Cache-Control"] == "no-store"
    assert world.get(f"/d/{sent['token']}/pdf").status_code == 410

    signing = world.post(f"/d/{sent['token']}/sign", {"csrf_token": csrf, "signer_name": "Zoé Bérénice",
                                                       "consent": "on"})
    assert signing.status_code == 410 and "Devis retiré" in world.text(signing.get_data(as_text=True))
    assert world.servicer.requests == []  # the signature service was never asked


def test_the_signature_service_refusing_a_withdrawn_request_is_told_in_the_same_words(world):
    sent = world.send()
    csrf = sign_form(world, sent["token"])["csrf_token"]
    world.servicer.refuse["Sign"] = FailedPrecondition("withdrawn", reason="REQUEST_WITHDRAWN")
    response = world.post(f"/d/{sent['token']}/sign", {"csrf_token": csrf, "signer_name": "Zoé Bérénice",
                                                        "consent": "on"})
    assert response.status_code == 409
    assert "Votre interlocuteur a retiré ce devis : il ne peut plus être signé ni refusé." in \
        world.text(response.get_data(as_text=True))


def test_a_withdrawal_heard_before_its_version_is_retried_and_a_later_version_stays_open(world):
    first = world.send()
    early = {**first, "version": 2}
    with pytest.raises(NotFound):
        world.withdrawn(early)  # quote.sent of version 2 not here yet: the consumer retries it
    world.withdrawn(first)
    second = world.send(quote_id=first["quote_id"], number=first["number"], version=2)  # edited, then sent
    assert "Signer le devis" in world.text(world.page(second["token"]))
    response = world.get(f"/d/{first['token']}")  # the same recipient got the new version: told so
    assert response.status_code == 410
    assert "Une version plus récente de ce devis vous a été envoyée." in world.text(response.get_data(as_text=True))
