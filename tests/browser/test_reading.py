"""Reading a quote in a browser: real views counted once, machines never, the PDF, a phone, the keyboard."""
from __future__ import annotations

from pathlib import Path

from quoteflow.v1 import common_pb2

from tests.browser.support import DESKTOP_UA, person, send_rich, shot, views


def test_a_person_opening_the_link_counts_one_view(browser, portal):
    sent = send_rich(portal)
    context = person(browser)
    page = context.new_page()
    page.goto(f"{portal.url}/d/{sent['token']}")
    assert page.title() == "Devis DV-2026-00001 – Chauffage Dupré & Fils"
    assert page.locator("img.logo").evaluate("img => img.complete && img.naturalWidth > 0")
    page.mouse.move(200, 300)
    page.mouse.move(400, 350)
    page.locator('main[data-view-state="sent"]').wait_for()
    [view] = views(portal, sent["quote_id"])
    assert view["data"]["user_agent"] == DESKTOP_UA and view["data"]["ip"] == "127.0.0.1"
    assert len([o for o in portal.servicer.calls["RecordOpened"] if o.quote_id == sent["quote_id"]]) == 1
    # The brand colour, darkened for contrast, colours the primary button; no style attribute needed.
    background = page.locator("nav.actions a.button.primary").first.evaluate("a => getComputedStyle(a).backgroundColor")
    assert background == "rgb(11, 110, 79)"
    assert page.get_by_role("heading", name="Produits optionnels").is_visible()
    shot(page, "open")
    page.reload()
    page.keyboard.press("End")
    page.locator('main[data-view-state="sent"]').wait_for()
    assert len(views(portal, sent["quote_id"])) == 2  # a reload is another consultation
    context.close()

def test_headless_automation_never_counts(browser, portal):
    sent = portal.send()
    context = browser.new_context()  # HeadlessChrome user agent, navigator.webdriver = true
    page = context.new_page()
    page.goto(f"{portal.url}/d/{sent['token']}")
    page.mouse.move(100, 100)
    page.wait_for_timeout(1500)  # longer than the dwell time
    assert page.locator("main").get_attribute("data-view-state") is None
    assert views(portal, sent["quote_id"]) == []
    context.close()

def test_download_the_pdf_and_a_document(browser, portal):
    sent = send_rich(portal)
    context = person(browser)
    page = context.new_page()
    page.goto(f"{portal.url}/d/{sent['token']}")
    with page.expect_download() as caught:
        page.get_by_role("link", name="Télécharger PDF").click()
    download = caught.value
    assert download.suggested_filename == "Devis-DV-2026-00001.pdf"
    assert Path(download.path()).read_bytes() == portal.blobs.get(sent["pdf_sha256"])
    with page.expect_download() as caught:
        page.get_by_role("link", name="Plan d'accès au chantier.pdf").click()
    assert caught.value.suggested_filename == "Plan d'accès au chantier.pdf"
    downloads = [e for e in portal.outbox("portal.quote_downloaded") if e["data"]["quote_id"] == sent["quote_id"]]
    assert len(downloads) == 1 and len(views(portal, sent["quote_id"])) == 1
    context.close()

def test_phone_viewport_has_no_horizontal_scroll(browser, portal):
    lines = [common_pb2.QuoteLine(description="Baie serveur 42U", product_ref="RACK-42U", quantity="1", unit="u",
                                  unit_price="1000", discount_percent="10", vat_rate="20", total_ht="900.00"),
             common_pb2.QuoteLine(description="Installation et câblage", quantity="3", unit="h",
                                  unit_price="111.52", discount_percent="0", vat_rate="20", total_ht="334.56")]
    sent = send_rich(portal, number="DV-2026-00006", lines=lines)
    context = person(browser, phone=True)
    page = context.new_page()
    page.goto(f"{portal.url}/d/{sent['token']}")
    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], widths
    # Each cell shows its label before its value here: a cell with no value (the line without a discount)
    # is not shown at all, rather than a « Remise » followed by nothing.
    shown = page.evaluate("""() => [...document.querySelectorAll('table.lines td')]
        .filter(td => getComputedStyle(td).display !== 'none')
        .map(td => [td.getAttribute('data-label'), td.textContent.trim()])""")
    assert [cell for cell in shown if not cell[1]] == [], shown
    assert ["Remise", "10\u00a0%"] in shown
    assert page.get_by_text("Baie serveur 42U (réf.\u00a0RACK-42U)").is_visible()  # as the PDF prints it
    download = page.get_by_role("link", name="Télécharger PDF").bounding_box()
    assert download["width"] >= 300 and download["height"] >= 44  # a full-width, thumb-sized button
    page.locator("body").tap()  # a touch is an interaction: the view is confirmed
    page.locator('main[data-view-state="sent"]').wait_for()
    shot(page, "phone")
    context.close()

def test_keyboard_reaches_every_action(browser, portal):
    sent = portal.send(number="DV-2026-00007")
    context = person(browser)
    page = context.new_page()
    page.goto(f"{portal.url}/d/{sent['token']}")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Aller aux actions"
    page.keyboard.press("Enter")
    page.evaluate("""() => { window.reached = []; document.addEventListener('focusin', (event) => {
        const e = event.target; window.reached.push((e.id || e.textContent || '').trim()); }); }""")
    for _ in range(20):
        page.keyboard.press("Tab")
    reached = page.evaluate("window.reached")
    assert reached[:4] == ["Télécharger PDF", "Envoyer un retour", "Signer", "Refuser"], reached
    for target in ("consent", "signer_name", "reason", "decliner", "Refuser le devis"):
        assert target in reached, (target, reached)
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"  # focus is visible
    context.close()
