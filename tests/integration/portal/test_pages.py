"""The quote page, the PDF download and the events they record, through Flask's test client."""
from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta
from urllib.parse import unquote

import pytest

from services.portal.entrypoints.web import SECURITY_HEADERS

UA = "Mozilla/5.0 (Linux; Android 14) Firefox/125.0"


def get(world, path, **kw):
    return world.client.get(path, headers={"User-Agent": UA}, environ_base={"REMOTE_ADDR": "203.0.113.7"}, **kw)


def test_page_shows_the_quote_in_french(world):
    sent = world.send()
    response = get(world, f"/d/{sent['token']}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    text = world.text(html)
    assert f"Devis n° {sent['number']}" in text
    assert "Chauffage Dupré & Fils" in text
    assert "Boulangerie Lætitia" in text and "Zoé Bérénice" in text
    assert "Hélène Martin" in text
    assert "5 mars 2025" in text and "4 avril 2099" in text
    assert "Chaudière à condensation" in text
    assert "1 000,00 €" in text and "117,28 €" in text and "234,56 €" in text
    assert "20 %" in text and "5,5 %" in text
    assert re.search(r"Total HT 1 234,56 €", text)
    assert re.search(r"Total TVA 212,90 €", text)
    assert re.search(r"Total TTC 1 447,46 €", text)
    assert "Acompte de 30 % à la commande." in text
    assert "Télécharger PDF" in text
    assert f'href="/d/{sent["token"]}/pdf"' in html
    mailto = re.search(r'href="(mailto:[^"]+)"[^>]*>Envoyer un retour', html).group(1)
    assert mailto.startswith("mailto:helene.martin@dupre.example?subject=")
    assert unquote(mailto.split("subject=", 1)[1]) == f"Devis {sent['number']}"
    # Babel's separators really are the (narrow) no-break spaces, not plain ones.
    assert "1\u202f234,56\u00a0€" in html


def test_sign_form_shows_consent_first_with_csrf(world):
    sent = world.send(signature_requested=True)
    html = get(world, f"/d/{sent['token']}").get_data(as_text=True)
    text = world.text(html)
    consent = f"En signant, j'accepte le devis n° {sent['number']} d'un montant de 1 447,46 € TTC."
    assert consent in text
    form = html[html.index("<form"):html.index("</form>")]
    assert form.index("consent-text") < form.index('name="consent"') < form.index('name="signer_name"')
    assert re.search(r'name="csrf_token" value="[0-9a-f]{64}"', form)
    assert ">Signer</button>" in form
    assert f'action="/d/{sent["token"]}/sign"' in form


def test_no_sign_form_when_signature_not_requested(world):
    sent = world.send(signature_requested=False)
    html = get(world, f"/d/{sent['token']}").get_data(as_text=True)
    assert "<form" not in html and "En signant" not in html


def test_user_typed_text_is_escaped(world):
    sent = world.send(title='<img src=x onerror="alert(1)">')
    html = get(world, f"/d/{sent['token']}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x" not in html
    assert "<script" not in html  # no inline (or any) script on the page


def test_view_is_recorded_in_the_outbox(world):
    sent = world.send()
    get(world, f"/d/{sent['token']}")
    events = [e for e in world.outbox() if e["type"] == "portal.quote_viewed"]
    assert len(events) == 1
    event = events[0]
    assert event["tenantid"] == world.tenant
    assert event["subject"] == f"quote/{sent['quote_id']}"
    assert event["source"] == "quoteflow/portal"
    data = event["data"]
    assert data["quote_id"] == sent["quote_id"]
    assert data["number"] == sent["number"]
    assert data["version"] == 1
    assert data["recipient_email"] == "zoe@example.fr"
    assert data["ip"] == "203.0.113.7"
    assert data["user_agent"] == UA
    assert data["at"].endswith("Z")
    assert data["assignee"]["email"] == "helene.martin@dupre.example"
    assert data["assignee"]["phone"] == "+33600000001"


def test_head_records_nothing(world):
    sent = world.send()
    assert world.client.head(f"/d/{sent['token']}").status_code == 200
    assert world.client.head(f"/d/{sent['token']}/pdf").status_code == 200
    assert world.outbox() == []


def test_pdf_download_streams_the_frozen_bytes(world):
    pdf = b"%PDF-1.7\n" + secrets.token_bytes(5000) + b"\n%%EOF\n"
    sent = world.send(pdf=pdf)
    response = get(world, f"/d/{sent['token']}/pdf")
    assert response.status_code == 200
    assert response.get_data() == pdf
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Disposition"] == f'attachment; filename="Devis-{sent["number"]}.pdf"'
    assert response.get_etag() == (hashlib.sha256(pdf).hexdigest(), False)
    assert response.headers["Cache-Control"] == "no-store"
    events = [e for e in world.outbox() if e["type"] == "portal.quote_downloaded"]
    assert len(events) == 1
    data = events[0]["data"]
    assert data["pdf_sha256"] == hashlib.sha256(pdf).hexdigest()
    assert data["quote_id"] == sent["quote_id"] and data["version"] == 1
    assert data["ip"] == "203.0.113.7" and data["user_agent"] == UA
    assert data["recipient_email"] == "zoe@example.fr"
    assert data["assignee"]["name"] == "Hélène Martin"


def test_missing_pdf_blob_is_a_french_error_and_no_event(world):
    sent = world.send()
    world.blobs.path(sent["pdf_sha256"]).unlink()
    response = get(world, f"/d/{sent['token']}/pdf")
    assert response.status_code == 503
    assert "Document indisponible" in response.get_data(as_text=True)
    assert world.outbox() == []


@pytest.mark.parametrize("token", [
    secrets.token_urlsafe(32),             # well formed, unknown
    "abc",                                 # too short
    "x" * 40 + "%3Cscript%3E",             # not url-safe base64
])
def test_unknown_or_malformed_link_is_a_french_404(world, token):
    world.send()
    for path in (f"/d/{token}", f"/d/{token}/pdf"):
        response = get(world, path)
        assert response.status_code == 404
        assert "Ce lien n'est pas valide ou a expiré" in world.text(response.get_data(as_text=True))
    assert world.outbox() == []


def test_expired_link_is_a_404(world):
    sent = world.send(expires_in=timedelta(seconds=-1))
    response = get(world, f"/d/{sent['token']}")
    assert response.status_code == 404
    assert world.outbox() == []


def test_older_version_shows_it_was_superseded(world):
    first = world.send(version=1)
    second = world.send(quote_id=first["quote_id"], number=first["number"], version=2)
    old = world.text(get(world, f"/d/{first['token']}").get_data(as_text=True))
    assert "Une version plus récente de ce devis vous a été envoyée." in old
    assert "En signant" not in old
    new = world.text(get(world, f"/d/{second['token']}").get_data(as_text=True))
    assert "Une version plus récente" not in new
    assert "En signant" in new


def test_late_older_version_arrives_superseded(world):
    second = world.send(version=2)
    first = world.send(quote_id=second["quote_id"], number=second["number"], version=1)
    old = world.text(get(world, f"/d/{first['token']}").get_data(as_text=True))
    assert "Une version plus récente de ce devis vous a été envoyée." in old


def test_redelivered_quote_sent_changes_nothing(world):
    sent = world.send()
    world.consume(sent["envelope"])
    assert get(world, f"/d/{sent['token']}").status_code == 200


def test_security_headers_on_every_response(world):
    sent = world.send()
    for response in (get(world, f"/d/{sent['token']}"), get(world, f"/d/{sent['token']}/pdf"),
                     get(world, "/d/unknown"), get(world, "/static/portal.css"), get(world, "/healthz"),
                     get(world, "/nowhere"), world.client.post(f"/d/{sent['token']}/sign")):
        for name, value in SECURITY_HEADERS.items():
            assert response.headers.get(name) == value, (response.request.path, name)


def test_healthz(world):
    response = world.client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_stylesheet_is_served(world):
    response = world.client.get("/static/portal.css")
    assert response.status_code == 200
    assert response.mimetype == "text/css"


def test_repeated_bad_guesses_are_rate_limited(world):
    from services.portal.domain.model import GuessLimiter

    sent = world.send()
    world.portal.limiter = GuessLimiter(max_failures=3, window=60)
    for _ in range(3):
        assert get(world, f"/d/{secrets.token_urlsafe(32)}").status_code == 404
    response = get(world, f"/d/{sent['token']}")
    assert response.status_code == 429
    assert "Trop de tentatives" in response.get_data(as_text=True)
    other = world.client.get(f"/d/{sent['token']}", environ_base={"REMOTE_ADDR": "198.51.100.9"})
    assert other.status_code == 200


def test_post_sign_without_csrf_is_400(world):
    sent = world.send()
    response = world.client.post(f"/d/{sent['token']}/sign", data={"consent": "on", "signer_name": "Zoé"})
    assert response.status_code == 400
    assert "Le formulaire n'est plus valide" in world.text(response.get_data(as_text=True))
    response = world.client.post(f"/d/{sent['token']}/sign",
                                 data={"consent": "on", "signer_name": "Zoé", "csrf_token": "0" * 64})
    assert response.status_code == 400
