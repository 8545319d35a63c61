"""Helpers of the browser tests: browser contexts that present themselves as a person, screenshots
of each page state audited for accessibility, quotes with everything the page can show."""
from __future__ import annotations

import struct
import zlib
from pathlib import Path

from quoteflow.v1 import common_pb2

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
# What a person's browser says. The headless default ("HeadlessChrome", navigator.webdriver) is,
# rightly, a machine for the portal: the "person" contexts present themselves as a desktop and a phone.
DESKTOP_UA = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 "
              "Safari/537.36")
PHONE_UA = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 "
            "Mobile Safari/537.36")
NOT_AUTOMATED = "Object.defineProperty(Navigator.prototype, 'webdriver', {get: () => false});"


def person(browser, phone: bool = False, javascript: bool = True):
    options = dict(locale="fr-FR", timezone_id="Europe/Paris", accept_downloads=True,
                   java_script_enabled=javascript)
    if phone:
        options.update(viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True,
                       has_touch=True, user_agent=PHONE_UA)
    else:
        options.update(viewport={"width": 1280, "height": 900}, user_agent=DESKTOP_UA)
    context = browser.new_context(**options)
    context.add_init_script(NOT_AUTOMATED)
    context.set_default_timeout(10_000)
    return context


# What axe-core checks on every page state: WCAG 2.0, 2.1 and 2.2 at levels A and AA (contrast, labels,
# names, landmarks, language...), and its best practices.
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


def shot(page, name: str) -> Path:
    """Saves the page as it looks (``tests/artifacts/portal-<name>.png``), after axe-core found nothing in
    it that WCAG AA refuses; else fails listing each violation, the rule and the elements at fault."""
    from axe_playwright_python.sync_playwright import Axe

    audit = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_AA}})
    path = ARTIFACTS / f"portal-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert audit.response["passes"], f"axe-core checked nothing on the {name} page"
    assert audit.violations_count == 0, f"the {name} page:\n{audit.generate_report()}"
    return path


def send_rich(world, **changes):
    """A quote with everything the page can show: branding, optional products, documents, a long word."""
    logo = (ROOT / "tests" / "browser" / "logo.png").read_bytes()
    plan = b"%PDF-1.4\n% plan d'acces\n" + bytes(4000)
    fields = dict(
        number="DV-2026-00001",
        branding=common_pb2.Branding(logo_sha256=world.blobs.put(logo), logo_content_type="image/png",
                                     color="#0B6E4F"),
        optional_lines=[common_pb2.QuoteLine(description="Extension de garantie 5 ans", quantity="1",
                                             unit="u", unit_price="199.90", vat_rate="20", total_ht="199.90")],
        documents=[common_pb2.Attachment(name="Plan d'accès au chantier.pdf", content_type="application/pdf",
                                         sha256=world.blobs.put(plan), size=len(plan))],
        terms=("Acompte de 30 % à la commande, solde à la livraison. Référence interne : "
               "CHAUFFERIE-BATIMENT-B-ESCALIER-C-NIVEAU-2-LOT-PLOMBERIE-CHAUFFAGE-VENTILATION."),
    )
    fields.update(changes)
    return world.send(**fields)


def views(world, quote_id: str) -> list[dict]:
    return [e for e in world.outbox("portal.quote_viewed") if e["data"]["quote_id"] == quote_id]


def drawn_pixels(png: bytes) -> int:
    """How many bytes of the (RGBA, 8-bit) image are not blank: a drawn stroke has hundreds."""
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width, height, offset, data = 0, 0, 8, b""
    while offset < len(png):
        length, kind = struct.unpack(">I4s", png[offset:offset + 8])
        body = png[offset + 8:offset + 8 + length]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            data += body
        offset += 12 + length
    raw = zlib.decompress(data)
    stride = 1 + width * 4
    return sum(1 for row in range(height) for byte in raw[row * stride + 1:(row + 1) * stride] if byte)


