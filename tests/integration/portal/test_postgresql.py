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


def test_the_page_lookup_on_the_driver_maps_rows_as_sqlalchemy_does(pg_world):
    from services.portal.adapters.repository import ReadModelRepository, Remembered
    from services.portal.adapters.unit_of_work import ReadOnlyReadModel
    from services.portal.domain import model

    world = pg_world
    sent = world.send()
    world.declined(sent, reason="Trop cher")
    token_hash = model.token_hash(sent["token"])
    engine = world.portal.engine
    with engine.connect() as conn:
        expected = ReadModelRepository(conn, Remembered()).link_and_version(token_hash)
    with ReadOnlyReadModel(engine, Remembered()) as reader:  # the driver path, snapshot not yet remembered
        assert type(reader.read_model).__name__ == "DriverReadModel"
        got = reader.read_model.link_and_version(token_hash)
        assert reader.read_model.link_and_version("0" * 64) == (None, None)
    assert got == expected and got[1].status == model.DECLINED and got[1].declined_at.tzinfo is not None
    assert got[1].snapshot == expected[1].snapshot and got[0].recipient == expected[0].recipient
    with engine.connect() as conn:  # the connection went back to the pool as the pool lends it
        assert conn.connection.driver_connection.autocommit is False
