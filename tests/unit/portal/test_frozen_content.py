"""A sent version's page content is formatted and rendered once, then reused (it never changes)."""
from __future__ import annotations

from services.portal.adapters.formatting import FrenchFormat
from services.portal.domain import model
from services.portal.entrypoints.pages import VIEW_ID_PLACEHOLDER, FrozenContent, RenderedPages
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


def test_a_page_is_rendered_once_per_context_and_only_the_view_id_changes():
    rendered = []

    def render(name, **context):
        rendered.append((name, context["state"]))
        return f"<main data-view-id=\"{context['view_id']}\">{context['state']} {context['number']}</main>" \
               f"<a href=\"/d/t/pdf?vue={context['view_id']}\">"

    pages = RenderedPages(render, max_entries=2)
    frozen, key = {"number": "DV-1"}, ("t", "q", 1)
    first = pages("quote.html", frozen, {"state": "open", "code": None}, key, "aaaa.1111")
    second = pages("quote.html", frozen, {"state": "open", "code": None}, key, "bbbb.2222")
    assert first == '<main data-view-id="aaaa.1111">open DV-1</main><a href="/d/t/pdf?vue=aaaa.1111">'
    assert second == first.replace("aaaa.1111", "bbbb.2222") and VIEW_ID_PLACEHOLDER not in second
    assert rendered == [("quote.html", "open")]
    # Anything the page shows changes: rendered again (here the state, then a code sent).
    assert "signed DV-1" in pages("quote.html", frozen, {"state": "signed", "code": None}, key, "c.3")
    pages("quote.html", frozen, {"state": "open", "code": {"to": "z***@x.fr", "channel": "email"}}, key, "d.4")
    assert rendered == [("quote.html", "open"), ("quote.html", "signed"), ("quote.html", "open")]
    # Bounded: the first page was pushed out by the two others.
    pages("quote.html", frozen, {"state": "open", "code": None}, key, "e.5")
    assert len(rendered) == 4
