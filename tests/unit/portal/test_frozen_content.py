"""A sent version's page content is formatted and rendered once, then reused (it never changes)."""
from __future__ import annotations

from services.portal.adapters.formatting import FrenchFormat
from services.portal.domain import model
from services.portal.entrypoints.pages import FrozenContent
from services.portal.i18n import catalogue


def version(number: str, v: int = 1) -> model.Version:
    snapshot = {"lines": [{"description": "Chaudière", "quantity": "1", "unit_price": "1000", "vat_rate": "20",
                           "total_ht": "1000.00"}],
                "totals": {"total_ht": "1000.00", "total_vat": "200.00", "total_ttc": "1200.00", "currency": "EUR"}}
    return model.Version(tenant="t", quote_id="q-" + number, version=v, number=number, snapshot=snapshot,
                         pdf_sha256="a" * 64, signature_requested=True, assignee={})


def test_each_version_is_rendered_once_and_the_cache_is_bounded():
    rendered = []

    def render(name, **context):
        rendered.append((name, context["number"], context["version"]))
        return f"<rendered {context['number']}>"

    frozen = FrozenContent(render, max_entries=2)
    fmt, texts = FrenchFormat(), catalogue("fr")
    first = frozen(version("DV-1"), fmt, texts)
    assert frozen(version("DV-1"), fmt, texts) is first
    assert first["details"] == "<rendered DV-1>"
    assert first["total_ttc"].replace("\u202f", " ").replace("\u00a0", " ") == "1 200,00 €"
    assert first["consent_text"].startswith("En signant, j'accepte le devis n° DV-1")
    frozen(version("DV-1", 2), fmt, texts)
    frozen(version("DV-2"), fmt, texts)
    frozen(version("DV-1"), fmt, texts)  # pushed out by the two others: rendered again
    assert rendered == [("_details.html", "DV-1", 1), ("_details.html", "DV-1", 2), ("_details.html", "DV-2", 1),
                        ("_details.html", "DV-1", 1)]
