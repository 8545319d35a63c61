"""Links that no longer show the quote, in a browser: each page says what to do next."""
from __future__ import annotations

from datetime import timedelta

import pytest

from tests.browser.support import person, send_rich, shot


@pytest.mark.parametrize("state", ["superseded", "revoked", "expired", "unknown"])
def test_closed_links_say_what_to_do_next(browser, portal, state):
    first = send_rich(portal, number=f"DV-2026-01{len(state):03d}",
                      expires_in=timedelta(seconds=-1) if state == "expired" else timedelta(days=30),
                      valid_until="2026-01-31")
    if state in ("superseded", "revoked"):
        portal.send(quote_id=first["quote_id"], number=first["number"], version=2,
                    recipient="zoe@example.fr" if state == "superseded" else "achats@example.fr")
    token = first["token"] if state != "unknown" else "A" * 43
    context = person(browser)
    page = context.new_page()
    response = page.goto(f"{portal.url}/d/{token}")
    assert response.status == (404 if state == "unknown" else 410)
    heading = page.locator("h1").inner_text()
    expected = {"superseded": "Une version plus récente de ce devis vous a été envoyée.",
                "revoked": "Ce lien n'est plus actif", "expired": "Ce devis a expiré",
                "unknown": "Lien introuvable"}[state]
    assert heading == expected
    if state != "unknown":
        assert page.get_by_role("link", name="Écrire à Hélène Martin").get_attribute("href").startswith(
            "mailto:helene.martin@dupre.example?subject=Devis%20DV-2026-01")
    shot(page, state)
    context.close()
