"""The read model on PostgreSQL (production): views counted once across workers, links closed, answers kept."""
from __future__ import annotations

import re

import pytest

from tests.integration.portal.world import World
from tests.support.backends import private_databases


@pytest.fixture
def pg_world(tmp_path):
    with private_databases(["portal"], "qf_portal") as urls:
        world = World(tmp_path, database_url=urls["portal"])
        try:
            yield world
        finally:
            world.close()


def test_views_downloads_states_and_answers_on_postgresql(pg_world):
    world = pg_world
    sent = world.send()
    html = world.page(sent["token"])
    assert world.confirm_view(html).headers["X-Quoteflow-View"] == "counted"
    assert world.confirm_view(html).headers["X-Quoteflow-View"] == "ignored"
    pdf_href = re.search(r'href="([^"]+/pdf\?vue=[^"]+)"', html).group(1)
    assert world.get(pdf_href).status_code == 200
    assert [e["type"] for e in world.outbox()] == ["portal.quote_viewed", "portal.quote_downloaded"]

    fields = dict(re.findall(r'<input type="hidden"[^>]*name="([^"]+)" value="([^"]*)"',
                             re.search(r'<form[^>]+/refuser".*?</form>', html, re.S).group(0)))
    response = world.post(f"/d/{sent['token']}/refuser", {**fields, "reason": "Délai trop long"})
    assert response.status_code == 303
    assert "Motif : Délai trop long" in world.text(world.page(sent["token"]))

    newer = world.send(quote_id=sent["quote_id"], number=sent["number"], version=2, recipient="autre@example.fr")
    assert world.get(f"/d/{sent['token']}").status_code == 410
    assert world.get(f"/d/{newer['token']}").status_code == 200
