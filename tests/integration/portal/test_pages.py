"""The quote page and its files through Flask's test client: content, branding, documents, PDF, headers."""
from __future__ import annotations

import hashlib
import re
import secrets
from pathlib import Path
from urllib.parse import unquote

import pytest

from quoteflow.v1 import common_pb2
from services.portal.entrypoints.web import SECURITY_HEADERS


PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
       b"\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")


def test_page_shows_the_quote_in_french(world):
    sent = world.send()
    html = world.page(sent["token"])
    text = world.text(html)
    assert f"Devis n° {sent['number']}" in text
    assert "Chauffage Dupré & Fils" in text
    assert "Boulangerie Lætitia" in text and "Zoé Bérénice" in text
    assert "Votre interlocuteur Hélène Martin helene.martin@dupre.example +33 6 00 00 00 01" in text
    assert "Date d'émission 5 mars 2025" in text and "Valable jusqu'au 4 avril 2099" in text
    assert "Chaudière à condensation" in text
    assert "1 000,00 €" in text and "117,28 €" in text and "234,56 €" in text
    assert "20 %" in text and "5,5 %" in text
    assert re.search(r"Total HT 1 234,56 €", text)
    assert re.search(r"Total HT 1 234,56 € TVA 212,90 €", text)
    assert re.search(r"Total TTC 1 447,46 €", text)
    assert "Détail de la TVA Taux TVA Base HT Montant TVA 20 % 1 000,00 € 200,00 € 5,5 % 234,56 € 12,90 €" in text
    assert "Acompte de 30 % à la commande." in text
    assert re.search(rf'href="/d/{sent["token"]}/pdf\?vue=[^"]+"[^>]*>Télécharger PDF<', html)
    mailto = re.search(r'href="(mailto:[^"]+)"[^>]*>Envoyer un retour', html).group(1)
    assert mailto.startswith("mailto:helene.martin@dupre.example?subject=")
    assert unquote(mailto.split("subject=", 1)[1]) == f"Devis {sent['number']}"
    assert 'href="tel:+33600000001"' in html
    assert re.search(r'href="#signer"[^>]*>Signer<', html) and re.search(r'href="#refuser"[^>]*>Refuser<', html)
    # Babel's separators really are the (narrow) no-break spaces, not plain ones.
    assert "1\u202f234,56\u00a0€" in html


def test_the_page_uses_the_pdf_s_words_and_shows_the_product_references(world):
    """The PDF is the legal document: the page names its columns and fields as the PDF does and shows every
    line's product reference, « (réf. RACK-42U) », as the PDF prints it after the designation."""
    from services.quotes.adapters import pdf  # the words the PDF prints, read from the PDF's own code

    sent = world.send(
        lines=[common_pb2.QuoteLine(description="Baie serveur 42U", product_ref="RACK-42U", quantity="1",
                                    unit="u", unit_price="1000", discount_percent="10", vat_rate="20",
                                    total_ht="900.00"),
               common_pb2.QuoteLine(description="Installation", quantity="3", unit="h", unit_price="111.52",
                                    vat_rate="20", total_ht="334.56")],
        optional_lines=[common_pb2.QuoteLine(description="Onduleur 3 kVA", product_ref="UPS-3K", quantity="1",
                                             unit_price="450", vat_rate="20", total_ht="450.00")],
        company=common_pb2.Company(name="Dupré", siret="12345678900011", vat_number="FR12345678900"))
    html = world.page(sent["token"])
    text = world.text(html)
    assert "Baie serveur 42U (réf. RACK-42U)" in text and "(réf.\u00a0RACK-42U)" in html
    assert "Onduleur 3 kVA (réf. UPS-3K)" in text
    assert "Installation (réf." not in text  # no reference, nothing printed
    headers = re.findall(r'<th scope="col"[^>]*>([^<]+)</th>', html[html.index('class="lines"'):])
    # The PDF's columns, but its unit (written after the quantity here) and its "PU HT" (spelled out).
    for column in pdf.TABLE_HEADERS:
        assert column in headers or column in ("Unité", "PU HT"), (column, headers)
    assert "Prix unitaire HT" in headers
    assert "Description" not in text
    assert f"Date d'émission {pdf.french_date('2025-03-05')}" in text
    assert "Objet : Rénovation de la chaufferie" in text and "À l'attention de Zoé Bérénice" in text
    assert "SIRET : 12345678900011" in text and "N° TVA : FR12345678900" in text
    assert "Taux TVA Base HT Montant TVA" in text  # the PDF's VAT table


def test_a_cell_with_nothing_in_it_is_marked_empty_for_the_phone_layout(world):
    """On a phone each cell prints its label before its value (portal.css): an empty cell (no discount on
    this line, no price on an option) is marked ``empty`` and left out there, never « Remise » and nothing."""
    sent = world.send(
        lines=[common_pb2.QuoteLine(description="Baie", quantity="1", unit_price="1000", discount_percent="10",
                                    vat_rate="20", total_ht="900.00"),
               common_pb2.QuoteLine(description="Pose", quantity="2", unit="h", unit_price="167.28",
                                    vat_rate="20", total_ht="334.56")],
        optional_lines=[common_pb2.QuoteLine(description="Sur devis", unit="u", vat_rate="20")])
    html = world.page(sent["token"])
    cells = re.findall(r'<td class="(num[^"]*)" data-label="([^"]+)">([^<]*)</td>', html)
    assert ("num empty", "Remise", "") in cells and ("num", "Remise", "10 %") in [
        (c, label, value.replace("\u00a0", " ")) for c, label, value in cells]
    for classes, label, value in cells:
        assert (classes == "num empty") == (not value.strip()), (classes, label, value)
    assert ("num empty", "Qté", "") in cells  # an option without a quantity: no lone unit either
    css = (Path(__file__).resolve().parents[3] / "services/portal/entrypoints/static/portal.css").read_text()
    assert "table.lines td.empty { display: none; }" in css[css.index("@media (max-width: 640px)"):]


def test_buttons_come_in_the_manual_s_order_and_before_the_details(world):
    html = world.page(world.send()["token"])
    nav = html[html.index('<nav class="actions"'):html.index("</nav>")]
    labels = re.findall(r">([^<>]+)</a>", nav)
    assert labels == ["Télécharger PDF", "Envoyer un retour", "Signer", "Refuser"]
    assert html.index('<nav class="actions"') < html.index('class="lines"')


def test_optional_products_are_shown_apart_and_never_in_the_totals(world):
    sent = world.send(optional_lines=[
        common_pb2.QuoteLine(description="Extension de garantie 5 ans", quantity="1", unit_price="199.90",
                             vat_rate="20"),
        common_pb2.QuoteLine(description="Thermostat connecté", quantity="2", unit_price="89.50",
                             discount_percent="10", vat_rate="20", total_ht="161.10")])
    html = world.page(sent["token"])
    text = world.text(html)
    optional = text[text.index("Produits optionnels"):]
    assert "ils ne sont pas compris dans le total du devis" in optional
    assert "Extension de garantie 5 ans" in optional and "199,90 €" in optional
    assert "Thermostat connecté" in optional and "161,10 €" in optional and "10 %" in optional
    details = text[text.index("Détail"):text.index("Produits optionnels")]
    assert "Extension de garantie" not in details
    assert "Total TTC 1 447,46 €" in details  # the totals of the snapshot, untouched


def test_branding_logo_through_the_link_and_a_validated_colour(world):
    logo_sha = world.blobs.put(PNG)
    sent = world.send(branding=common_pb2.Branding(logo_sha256=logo_sha, logo_content_type="image/png",
                                                   color="#E0B000"))
    html = world.page(sent["token"])
    assert f'<img class="logo" src="/d/{sent["token"]}/logo" alt="Logo de Chauffage Dupré &amp; Fils">' in html
    assert '<link rel="stylesheet" href="/theme/e0b000.css">' in html
    logo = world.get(f"/d/{sent['token']}/logo")
    assert logo.status_code == 200 and logo.get_data() == PNG and logo.mimetype == "image/png"
    assert "sandbox" in logo.headers["Content-Security-Policy"]
    css = world.get("/theme/e0b000.css")
    assert css.status_code == 200 and css.mimetype == "text/css"
    body = css.get_data(as_text=True)
    assert "--brand:#e0b000" in body
    accent = re.search(r"--accent:#([0-9a-f]{6})", body).group(1)
    from services.portal.domain.branding import contrast
    assert accent != "e0b000" and contrast(accent, "ffffff") >= 4.5  # a light yellow is darkened for text


def test_a_colour_that_is_not_rrggbb_never_reaches_the_css(world):
    sent = world.send(branding=common_pb2.Branding(color="red;}body{background:url(//evil)}"))
    html = world.page(sent["token"])
    assert "/theme/" not in html and "evil" not in html
    assert world.get("/theme/red.css").status_code == 404
    assert world.get("/theme/12345g.css").status_code == 404


def test_logo_is_only_this_link_s_and_only_an_image(world):
    html_sha = world.blobs.put(b"<html><script>alert(1)</script></html>")
    sent = world.send(branding=common_pb2.Branding(logo_sha256=html_sha, logo_content_type="text/html"))
    assert "<img" not in world.page(sent["token"])
    assert world.get(f"/d/{sent['token']}/logo").status_code == 404
    plain = world.send()
    assert world.get(f"/d/{plain['token']}/logo").status_code == 404
    assert world.get(f"/d/{secrets.token_urlsafe(32)}/logo").status_code == 404


def test_attached_documents_are_listed_and_served_with_their_name_and_type(world):
    plan = b"%PDF-1.4 plan d'acces " + secrets.token_bytes(3000)
    notes = "Accès chantier : sonner chez Mme Lœwy.\n".encode()
    plan_sha, notes_sha = world.blobs.put(plan), world.blobs.put(notes)
    sent = world.send(documents=[
        common_pb2.Attachment(name="Plan d'accès – œuvre.pdf", content_type="application/pdf", sha256=plan_sha,
                              size=len(plan)),
        common_pb2.Attachment(name="../../notes.txt", content_type="text/plain; charset=utf-8", sha256=notes_sha,
                              size=len(notes))])
    html = world.page(sent["token"])
    text = world.text(html)
    assert "Documents joints" in text
    assert "Plan d'accès – œuvre.pdf PDF · 3 Ko notes.txt TXT · 0,1 Ko" in text
    href = re.search(rf'href="(/d/{sent["token"]}/documents/{plan_sha}\?vue=[^"]+)"', html).group(1)
    response = world.get(href.replace("&amp;", "&"))
    assert response.status_code == 200 and response.get_data() == plan
    assert response.mimetype == "application/pdf"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''Plan%20d%27acc%C3%A8s%20%E2%80%93%20%C5%93uvre.pdf" in disposition
    other = world.get(f"/d/{sent['token']}/documents/{notes_sha}")
    assert other.get_data() == notes and other.mimetype == "text/plain"
    assert "notes.txt" in other.headers["Content-Disposition"] and ".." not in other.headers["Content-Disposition"]


def test_only_this_version_s_documents_and_dangerous_types_are_downloads(world):
    page_sha = world.blobs.put(b"<html><script>alert(document.domain)</script></html>")
    secret_sha = world.blobs.put(b"another quote's document")
    world.send(documents=[common_pb2.Attachment(name="autre.pdf", content_type="application/pdf",
                                                sha256=secret_sha, size=24)])
    sent = world.send(documents=[common_pb2.Attachment(name="page.html", content_type="text/html",
                                                       sha256=page_sha, size=52)])
    assert world.get(f"/d/{sent['token']}/documents/{secret_sha}").status_code == 404
    assert world.get(f"/d/{sent['token']}/documents/not-a-sha").status_code == 404
    served = world.get(f"/d/{sent['token']}/documents/{page_sha}")
    assert served.status_code == 200
    assert served.mimetype == "application/octet-stream"
    assert served.headers["Content-Disposition"].startswith("attachment;")


def test_user_typed_text_is_escaped_and_the_page_has_no_inline_script_or_style(world):
    sent = world.send(title='<img src=x onerror="alert(1)">', terms='</p><script>alert("cgv")</script>',
                      company=common_pb2.Company(name='Dupré "&" <Fils>'),
                      assignee=common_pb2.Party(name="<b>Hélène</b>", email='h@x.fr"><script>alert(1)</script>'))
    html = world.page(sent["token"])
    assert "<script>alert" not in html and "<img src=x" not in html and "<b>Hélène" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Dupré &#34;&amp;&#34; &lt;Fils&gt;" in html
    for tag in re.findall(r"<script[^>]*>.*?</script>", html, re.S):
        assert re.fullmatch(r'<script src="/static/portal\.js" defer></script>', tag)
    assert " style=" not in html and "<style" not in html
    assert not re.search(r"<[^>]*\son[a-z]+=", html)  # no event handler attributes
    assert "mailto:h@x.fr" not in html  # an address that could break out of the href is not linked


@pytest.mark.parametrize("cache_mb", [64, 0], ids=["from-memory", "from-the-file"])
def test_pdf_download_streams_the_frozen_bytes_with_an_etag_and_304(make_world, cache_mb):
    world = make_world({"blob_cache_mb": cache_mb})
    pdf = b"%PDF-1.7\n" + secrets.token_bytes(5000) + b"\n%%EOF\n"
    sent = world.send(pdf=pdf, number="DV-2026-00001")
    response = world.get(f"/d/{sent['token']}/pdf")
    assert response.status_code == 200
    assert response.get_data() == pdf
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Disposition"] == 'attachment; filename="Devis-DV-2026-00001.pdf"'
    assert response.get_etag() == (hashlib.sha256(pdf).hexdigest(), False)
    assert response.headers["Cache-Control"] == "no-store"
    again = world.get(f"/d/{sent['token']}/pdf", headers={"If-None-Match": f'"{hashlib.sha256(pdf).hexdigest()}"'})
    assert again.status_code == 304 and again.get_data() == b""
    tail = world.get(f"/d/{sent['token']}/pdf", headers={"Range": "bytes=100-"})
    assert tail.status_code == 206 and tail.get_data() == pdf[100:]
    assert world.client.head(f"/d/{sent['token']}/pdf").status_code == 200
    events = world.outbox("portal.quote_downloaded")
    assert len(events) == 1  # neither the 304, nor the range from byte 100, nor HEAD counted
    data = events[0]["data"]
    assert data["pdf_sha256"] == hashlib.sha256(pdf).hexdigest()
    assert data["quote_id"] == sent["quote_id"] and data["version"] == 1
    assert data["ip"] == "203.0.113.7" and data["user_agent"].startswith("Mozilla/5.0 (Linux; Android 14")
    assert data["recipient_email"] == "zoe@example.fr"
    assert data["assignee"]["name"] == "Hélène Martin"


# (request headers, status the client gets, whether it is a download): werkzeug decides the answer by its
# rules (weak ETags, dates, If-Range) and the count follows the answer, not a guess from the headers.
ANSWERS = [
    ({}, 200, True),
    ({"If-None-Match": '"{etag}"'}, 304, False),
    ({"If-None-Match": 'W/"{etag}"'}, 304, False),
    ({"If-None-Match": "*"}, 304, False),
    ({"If-None-Match": '"another"'}, 200, True),
    ({"Range": "bytes=0-"}, 206, True),
    ({"Range": "bytes=0-2047"}, 206, True),
    ({"Range": "bytes=0-0"}, 206, False),                     # a probe
    ({"Range": "bytes=100-"}, 206, False),                    # the rest of a download counted already
    ({"Range": "bytes=-100"}, 206, False),
    ({"Range": "bytes=0-10,20-30"}, 416, False),
    ({"Range": "bytes=abc"}, 416, False),
    ({"Range": "bytes=10-5"}, 416, False),
    ({"Range": "bytes=999999-"}, 416, False),
    ({"Range": "bytes=100-", "If-Range": '"changed"'}, 200, True),  # If-Range failed: the whole file
    ({"Range": "bytes=0-", "If-None-Match": '"{etag}"'}, 206, True),  # werkzeug answers the range first
]


@pytest.mark.parametrize("cache_mb", [64, 0], ids=["from-memory", "from-the-file"])
@pytest.mark.parametrize("headers,status,counted", ANSWERS, ids=[str(a[0]) for a in ANSWERS])
def test_a_download_counts_when_the_answer_hands_over_the_file(make_world, cache_mb, headers, status, counted):
    world = make_world({"blob_cache_mb": cache_mb})
    pdf = b"%PDF-1.7\n" + secrets.token_bytes(5000) + b"\n%%EOF\n"
    sent = world.send(pdf=pdf)
    etag = hashlib.sha256(pdf).hexdigest()
    response = world.get(f"/d/{sent['token']}/pdf", headers={k: v.format(etag=etag) for k, v in headers.items()})
    assert response.status_code == status
    if status == 200:
        assert response.get_data() == pdf
    if status == 416:
        assert response.headers["Content-Range"] == f"bytes */{len(pdf)}"
        assert "Partie du fichier introuvable" in response.get_data(as_text=True)
        assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert len(world.outbox("portal.quote_downloaded")) == (1 if counted else 0)


def test_a_document_confirms_the_view_only_when_it_is_handed_over(world):
    sent = world.send(documents=[common_pb2.Attachment(
        name="Plan.pdf", content_type="application/pdf", sha256=world.blobs.put(b"%PDF-1.4\n" + bytes(3000)),
        size=3009)])
    html = world.page(sent["token"])
    href = re.search(r'href="(/d/[^"]+/documents/[0-9a-f]{64}\?vue=[^"]+)"', html).group(1).replace("&amp;", "&")
    assert world.get(href, headers={"Range": "bytes=0-0"}).status_code == 206
    assert world.client.head(href).status_code == 200
    assert world.outbox("portal.quote_viewed") == []
    assert world.get(href).status_code == 200
    assert len(world.outbox("portal.quote_viewed")) == 1


def test_errors_werkzeug_raises_are_french_pages_with_their_headers(world):
    sent = world.send()
    wrong_method = world.client.put(f"/d/{sent['token']}/pdf")
    assert wrong_method.status_code == 405 and "Action impossible" in wrong_method.get_data(as_text=True)
    assert "GET" in wrong_method.headers["Allow"]
    world.app.config["PROPAGATE_EXCEPTIONS"] = False
    world.portal.blobs.cached = lambda sha: 1 / 0  # a fault nobody foresaw
    broken = world.get(f"/d/{sent['token']}/pdf")
    assert broken.status_code == 500
    assert "Erreur inattendue" in broken.get_data(as_text=True)
    assert broken.headers["X-Frame-Options"] == "DENY"


def test_missing_pdf_blob_is_a_french_error_and_no_event(world):
    sent = world.send()
    world.blobs.path(sent["pdf_sha256"]).unlink()
    response = world.get(f"/d/{sent['token']}/pdf")
    assert response.status_code == 503
    assert "Document indisponible" in response.get_data(as_text=True)
    assert world.outbox() == []


def test_unknown_or_malformed_link_is_a_french_404(world):
    world.send()
    for token in (secrets.token_urlsafe(32), "abc", "x" * 40 + "%3Cscript%3E"):
        for path in (f"/d/{token}", f"/d/{token}/pdf", f"/d/{token}/logo"):
            response = world.get(path)
            assert response.status_code == 404, path
            assert "Ce lien n'est pas valide ou a expiré" in world.text(response.get_data(as_text=True))
    assert world.outbox() == []


def test_repeated_bad_guesses_are_rate_limited_per_address(world):
    from services.portal.domain.model import GuessLimiter

    sent = world.send()
    world.portal.limiter = GuessLimiter(max_failures=3, window=60)
    for _ in range(3):
        assert world.get(f"/d/{secrets.token_urlsafe(32)}").status_code == 404
    response = world.get(f"/d/{sent['token']}")
    assert response.status_code == 429
    assert "Trop de tentatives" in response.get_data(as_text=True)
    assert 1 <= int(response.headers["Retry-After"]) <= 61
    other = world.client.get(f"/d/{sent['token']}", environ_base={"REMOTE_ADDR": "198.51.100.9"})
    assert other.status_code == 200


def test_every_post_needs_the_link_s_csrf_token(world):
    sent = world.send()
    other = world.send()
    html = world.page(other["token"])
    foreign = world.beacon_of(html)["csrf_token"]  # a valid token, but for another link
    for path in ("vu", "sign", "refuser"):
        for token in ("", "0" * 64, foreign):
            response = world.post(f"/d/{sent['token']}/{path}",
                                  {"csrf_token": token, "consent": "on", "signer_name": "Zoé", "reason": "Trop cher",
                                   "vue": world.beacon_of(html)["vue"]})
            assert response.status_code == 400, (path, token)
            assert "Le formulaire n'est plus valide" in world.text(response.get_data(as_text=True))
    assert world.servicer.calls["Sign"] == [] and world.servicer.calls["Decline"] == []
    assert world.outbox() == []


def test_oversized_bodies_are_refused(world):
    sent = world.send()
    html = world.page(sent["token"])
    csrf = world.beacon_of(html)["csrf_token"]
    response = world.post(f"/d/{sent['token']}/sign", {"csrf_token": csrf, "signature_png": "A" * (1100 * 1024)})
    assert response.status_code == 413
    assert "Formulaire trop volumineux" in response.get_data(as_text=True)
    assert world.servicer.calls["Sign"] == []


def test_security_headers_on_every_response(world):
    sent = world.send()
    html = world.page(sent["token"])
    responses = [world.get(f"/d/{sent['token']}"), world.get(f"/d/{sent['token']}/pdf"),
                 world.get("/d/unknown"), world.get("/static/portal.css"), world.get("/static/portal.js"),
                 world.get("/healthz"), world.get("/nowhere"), world.get("/theme/1f3a5f.css"),
                 world.post(f"/d/{sent['token']}/sign", {}), world.confirm_view(html)]
    for response in responses:
        for name, value in SECURITY_HEADERS.items():
            assert response.headers.get(name) == value, (response.request.path, name)
    csp = SECURITY_HEADERS["Content-Security-Policy"]
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp and "default-src 'none'" in csp
    assert "frame-ancestors 'none'" in csp
    assert SECURITY_HEADERS["X-Robots-Tag"].startswith("noindex")


def test_static_files_are_served(world):
    css = world.get("/static/portal.css")
    assert css.status_code == 200 and css.mimetype == "text/css"
    js = world.get("/static/portal.js")
    assert js.status_code == 200 and js.mimetype in ("text/javascript", "application/javascript")
    assert b"data-view-url" in js.get_data()


def test_healthz(world):
    response = world.client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_redelivered_quote_sent_changes_nothing(world):
    sent = world.send()
    world.consume(sent["envelope"])
    assert world.get(f"/d/{sent['token']}").status_code == 200
    with world.portal.engine.connect() as conn:
        from sqlalchemy import func, select
        from services.portal.adapters import orm
        assert conn.execute(select(func.count()).select_from(orm.links)).scalar() == 1
        assert conn.execute(select(func.count()).select_from(orm.versions)).scalar() == 1


def test_a_relance_never_withdraws_the_signature_asked_before(world):
    """A reminder of the same version sent without « Demander une signature électronique » leaves the client
    able to sign through either link: the signature service keeps the request open."""
    first = world.send(signature_requested=True)
    again = world.send(quote_id=first["quote_id"], number=first["number"], signature_requested=False)
    for sent in (first, again):
        assert re.search(r'href="#signer"[^>]*>Signer<', world.page(sent["token"]))


def test_right_to_left_and_emoji_text_shows_as_typed_in_its_own_direction(world):
    """The page shows the characters the PDF prints; each user text takes its own direction (dir="auto")."""
    typed = ["مرحبا بكم في شركتنا", "שלום עולם", "Réf. 12 — مرحبا", "Livraison 🚚 rapide 👍 ❤️"]
    sent = world.send(lines=[common_pb2.QuoteLine(description=text, quantity="1", unit_price="10", vat_rate="20",
                                                  total_ht="10.00") for text in typed])
    html = world.page(sent["token"])
    for text in typed:
        assert re.search(rf'<td class="multiline desc" data-label="[^"]+" dir="auto">{re.escape(text)}</td>', html)
