"""Answering a quote in a browser: sign with a drawn signature, without JavaScript, with a one-time code; decline."""
from __future__ import annotations

import re
from pathlib import Path

from tests.browser.support import drawn_pixels, person, send_rich, shot, views


def test_sign_with_a_drawn_signature(browser, portal):
    sealed = b"%PDF-1.7\n% sealed copy\n" + bytes(2000)
    portal.servicer.signed_pdf_sha256 = portal.blobs.put(sealed)
    sent = send_rich(portal, number="DV-2026-00002")
    context = person(browser)
    page = context.new_page()
    page.goto(f"{portal.url}/d/{sent['token']}")
    page.get_by_role("link", name="Signer", exact=True).click()
    assert page.url.endswith("#signer")
    page.get_by_label("J'ai lu le devis et j'accepte ses conditions.").check()
    page.get_by_label("Vos nom et prénom", exact=True).fill("Zoé Bérénice")
    canvas = page.locator("#pad-canvas")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + 30, box["y"] + box["height"] * 0.7)
    page.mouse.down()
    for i in range(1, 25):
        page.mouse.move(box["x"] + 30 + i * 12, box["y"] + box["height"] * (0.7 - 0.4 * ((i % 6) / 6)), steps=2)
    page.mouse.up()
    assert page.locator("#signature_png").input_value().startswith("data:image/png;base64,")
    shot(page, "signing")
    page.get_by_role("button", name="Signer", exact=True).click()
    page.wait_for_url(re.compile(r"signe=1"))
    assert page.get_by_text("Merci, votre signature a bien été enregistrée.").is_visible()
    assert page.get_by_text("Devis signé par Zoé Bérénice").is_visible()
    request = portal.servicer.requests[-1]
    assert request.signer_name == "Zoé Bérénice" and request.quote_id == sent["quote_id"]
    assert drawn_pixels(request.signature_png) > 200
    with page.expect_download() as caught:
        page.get_by_role("link", name="Télécharger le devis signé").click()
    assert caught.value.suggested_filename == "Devis-DV-2026-00002-signe.pdf"
    assert Path(caught.value.path()).read_bytes() == sealed
    shot(page, "signed")
    context.close()

def test_sign_without_javascript_with_a_typed_name(browser, portal):
    sent = portal.send(number="DV-2026-00003")
    context = person(browser, javascript=False)
    page = context.new_page()
    page.goto(f"{portal.url}/d/{sent['token']}")
    assert not page.locator("[data-pad]").is_visible()  # the drawing needs JavaScript; the name suffices
    page.get_by_label("J'ai lu le devis et j'accepte ses conditions.").check()
    page.get_by_label("Vos nom et prénom", exact=True).fill("Zoé Bérénice")
    page.get_by_role("button", name="Signer", exact=True).click()
    page.wait_for_url(re.compile(r"signe=1"))
    assert portal.servicer.requests[-1].signature_png == b""
    assert len(views(portal, sent["quote_id"])) == 1  # signing from the page confirmed the view
    context.close()

def test_decline_on_another_link(browser, portal):
    sent = send_rich(portal, number="DV-2026-00004")
    context = person(browser)
    page = context.new_page()
    page.goto(f"{portal.url}/d/{sent['token']}")
    page.get_by_role("link", name="Refuser", exact=True).click()
    page.get_by_label("Motif du refus").fill("Le budget est reporté à l'an prochain.")
    page.get_by_role("button", name="Refuser le devis").click()
    page.wait_for_url(re.compile(r"refus=1"))
    assert page.get_by_text("Votre refus a bien été transmis.").is_visible()
    assert page.get_by_text("Motif : Le budget est reporté à l'an prochain.").is_visible()
    assert [d.reason for d in portal.servicer.calls["Decline"] if d.quote_id == sent["quote_id"]] == [
        "Le budget est reporté à l'an prochain."]
    shot(page, "declined")
    context.close()

def test_one_time_code_step(browser, portal):
    sent = portal.send(number="DV-2026-00005", signature_otp="email")
    context = person(browser)
    page = context.new_page()
    page.goto(f"{portal.url}/d/{sent['token']}#signer")
    page.get_by_label("Vos nom et prénom", exact=True).fill("Zoé Bérénice")
    page.get_by_role("button", name="Recevoir un code").click()
    page.get_by_label("Code reçu").wait_for()
    assert page.get_by_label("Vos nom et prénom", exact=True).input_value() == "Zoé Bérénice"
    page.get_by_label("J'ai lu le devis et j'accepte ses conditions.").check()
    page.get_by_label("Code reçu").fill("482913")
    shot(page, "code")
    page.get_by_label("Code reçu").press("Enter")  # Enter signs: the Signer button comes first
    page.wait_for_url(re.compile(r"signe=1"))
    assert portal.servicer.requests[-1].otp_code == "482913"
    page.mouse.move(250, 350)
    page.wait_for_timeout(1500)  # longer than the dwell time
    assert len(views(portal, sent["quote_id"])) == 1  # the page, the code asked for, the signature: one visit
    context.close()

def test_one_visit_that_signs_after_a_form_error_counts_one_view(browser, portal):
    """A desktop visit: the page is read (portal.js confirms the view), a first attempt comes back with a
    problem (a name of spaces only), the second signs, the thanks page is read: one consultation."""
    sent = portal.send(number="DV-2026-00008")
    context = person(browser)
    page = context.new_page()
    page.goto(f"{portal.url}/d/{sent['token']}")
    page.mouse.move(200, 300)
    page.locator('main[data-view-state="sent"]').wait_for()
    page.get_by_label("J'ai lu le devis et j'accepte ses conditions.").check()
    page.get_by_label("Vos nom et prénom", exact=True).fill("   ")
    page.get_by_role("button", name="Signer", exact=True).click()
    page.get_by_text("Veuillez saisir vos nom et prénom.").first.wait_for()
    page.mouse.move(300, 400)  # the page sent back is read too: its beacon goes out
    page.locator('main[data-view-state="sent"]').wait_for()
    page.get_by_label("J'ai lu le devis et j'accepte ses conditions.").check()
    page.get_by_label("Vos nom et prénom", exact=True).fill("Zoé Bérénice")
    page.get_by_role("button", name="Signer", exact=True).click()
    page.wait_for_url(re.compile(r"signe=1"))
    page.mouse.move(250, 350)
    page.wait_for_timeout(1500)  # longer than the dwell time: the thanks page sends no beacon
    assert page.locator("main").get_attribute("data-view-state") is None
    assert len(views(portal, sent["quote_id"])) == 1
    context.close()
