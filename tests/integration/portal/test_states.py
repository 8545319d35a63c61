"""Every page state of a link says what happened and what the client can do next."""
from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import unquote

import pytest

MAILTO = "mailto:helene.martin@dupre.example?subject="


def next_step(world, html: str, number: str) -> None:
    """The page offers to write to the salesperson, about this quote, and to call them."""
    mailto = re.search(r'href="(mailto:[^"]+)"[^>]*>Écrire à Hélène Martin<', html).group(1)
    assert mailto.startswith(MAILTO) and unquote(mailto.split("subject=", 1)[1]) == f"Devis {number}"
    assert 'href="tel:+33600000001"' in html


def test_open_quote_offers_the_actions_and_the_contact(world):
    sent = world.send()
    html = world.page(sent["token"])
    assert "Signer le devis" in world.text(html) and "Refuser le devis" in world.text(html)
    next_step(world, html, sent["number"])


def test_superseded_link_says_a_newer_version_was_sent_and_shows_nothing_else(world):
    first = world.send(version=1)
    second = world.send(quote_id=first["quote_id"], number=first["number"], version=2)
    response = world.get(f"/d/{first['token']}")
    assert response.status_code == 410
    html = response.get_data(as_text=True)
    text = world.text(html)
    assert "Une version plus récente de ce devis vous a été envoyée." in text
    assert "Ouvrez le lien « Accéder au document » du dernier email reçu" in text
    assert "Chaudière à condensation" not in text and "Télécharger PDF" not in text and "<form" not in html
    next_step(world, html, first["number"])
    assert world.get(f"/d/{first['token']}/pdf").status_code == 410
    new = world.text(world.page(second["token"]))
    assert "Une version plus récente" not in new and "En signant" in new


def test_late_older_version_arrives_superseded(world):
    second = world.send(version=2)
    first = world.send(quote_id=second["quote_id"], number=second["number"], version=1)
    response = world.get(f"/d/{first['token']}")
    assert response.status_code == 410
    assert "Une version plus récente de ce devis vous a été envoyée." in world.text(response.get_data(as_text=True))


def test_a_newer_version_sent_to_someone_else_revokes_the_link_without_saying_so(world):
    first = world.send(version=1, recipient="zoe@example.fr")
    world.send(quote_id=first["quote_id"], number=first["number"], version=2, recipient="compta@example.fr")
    response = world.get(f"/d/{first['token']}")
    assert response.status_code == 410
    text = world.text(response.get_data(as_text=True))
    assert "Ce lien n'est plus actif" in text
    assert f"Votre interlocuteur a désactivé ce lien vers le devis n° {first['number']}." in text
    assert "vous a été envoyée" not in text  # the newer version did not go to this recipient
    next_step(world, response.get_data(as_text=True), first["number"])
    # When the newer version is then sent to this recipient too, the link says so.
    world.send(quote_id=first["quote_id"], number=first["number"], version=2, recipient="ZOE@example.fr")
    assert "Une version plus récente de ce devis vous a été envoyée." in world.text(
        world.get(f"/d/{first['token']}").get_data(as_text=True))


def test_expired_link_says_until_when_it_was_valid(world):
    sent = world.send(expires_in=timedelta(seconds=-1), valid_until="2025-04-04")
    response = world.get(f"/d/{sent['token']}")
    assert response.status_code == 410
    html = response.get_data(as_text=True)
    text = world.text(html)
    assert "Ce devis a expiré" in text
    assert "Ce devis était valable jusqu'au 4 avril 2025 : il ne peut plus être consulté ni signé." in text
    assert "Pour recevoir une proposition à jour, contactez votre interlocuteur." in text
    next_step(world, html, sent["number"])
    assert world.get(f"/d/{sent['token']}/pdf").status_code == 410
    assert world.outbox() == []


def test_an_expired_link_is_not_a_guess(world):
    from services.portal.domain.model import GuessLimiter

    world.portal.limiter = GuessLimiter(max_failures=2, window=60)
    sent = world.send(expires_in=timedelta(seconds=-1))
    for _ in range(5):
        assert world.get(f"/d/{sent['token']}").status_code == 410


def test_a_signed_quote_stays_readable_past_its_validity(world):
    sealed = b"%PDF-1.7 sealed"
    sent = world.send(expires_in=timedelta(seconds=-1))
    world.completed(sent, signed_pdf=sealed)
    html = world.page(sent["token"])
    assert "Devis signé par Zoé Bérénice" in world.text(html)
    next_step(world, html, sent["number"])
    assert world.get(f"/d/{sent['token']}/pdf-signe").get_data() == sealed


@pytest.mark.parametrize("state", ["signed", "declined"])
def test_signed_and_declined_pages_show_the_quote_and_the_next_step(world, state):
    sent = world.send()
    if state == "signed":
        world.completed(sent)
    else:
        world.declined(sent, reason="Budget reporté à 2026")
    html = world.page(sent["token"])
    text = world.text(html)
    assert "Chaudière à condensation" in text and "Télécharger PDF" in text
    assert ("Devis signé" if state == "signed" else "Devis refusé") in text
    assert "Signer le devis" not in text
    next_step(world, html, sent["number"])
