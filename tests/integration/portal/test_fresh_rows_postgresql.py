"""On PostgreSQL a web process answers page lookups from memory while the database tells it every change
of links and versions (migration 0003's triggers, services/portal/adapters/fresh.py): a change by the
consumer, by a web request or by an operator's SQL shows on the next requests; a lost listener makes
every request read the database again."""
from __future__ import annotations

import contextlib
import re
import threading
import time

import pytest
from sqlalchemy import event, text, update

from services.portal.adapters import orm
from services.portal.adapters.fresh import APPLICATION
from services.portal.domain import model
from tests.integration.portal.world import World
from tests.support.backends import private_databases

pytestmark = pytest.mark.postgres


@pytest.fixture
def world(tmp_path):
    with private_databases(["portal"], "qf_portal") as urls:
        world = World(tmp_path, database_url=urls["portal"])
        listener = world.portal.listener()
        thread = threading.Thread(target=listener.run, daemon=True)
        thread.start()
        try:
            assert listener.connected.wait(10), "the listener did not connect"
            yield world
        finally:
            listener.stop()
            thread.join(5)
            world.close()


@contextlib.contextmanager
def checkouts(engine):
    """Counts the connections requests take from the pool."""
    taken = []

    def count(*_):
        taken.append(1)

    event.listen(engine, "checkout", count)
    try:
        yield taken
    finally:
        event.remove(engine, "checkout", count)


def eventually(check, timeout: float = 5.0) -> float:
    """Seconds until ``check()`` is true (fails after ``timeout``)."""
    start = time.monotonic()
    while not check():
        assert time.monotonic() - start < timeout, "not within the timeout"
        time.sleep(0.002)
    return time.monotonic() - start


def kept(world, token: str) -> None:
    """Opens the page until its lookup is kept (the notice of the quote's own arrival, heard after a
    first read, drops that first row: a row is kept only once nothing is pending about it)."""
    rows = world.portal.remembered.rows
    eventually(lambda: world.get(f"/d/{token}").status_code == 200
               and rows.get(model.token_hash(token)) is not None)


def test_a_kept_lookup_takes_no_connection_and_a_newer_version_closes_the_old_link(world):
    sent = world.send()
    kept(world, sent["token"])
    with checkouts(world.portal.engine) as taken:
        assert world.get(f"/d/{sent['token']}").status_code == 200
    assert taken == []  # answered from memory

    world.send(quote_id=sent["quote_id"], number=sent["number"], version=2)  # the consumer's transaction
    waited = eventually(lambda: world.get(f"/d/{sent['token']}").status_code == 410)
    print(f"\nsuperseded link closed {waited * 1000:.1f} ms after the consumer's commit")


def test_an_operators_sql_and_a_decline_show_on_the_next_page(world):
    sent = world.send()
    page = f"/d/{sent['token']}"
    kept(world, sent["token"])
    with world.portal.engine.begin() as conn:  # revoked by hand, outside the portal's code
        conn.execute(update(orm.links).where(orm.links.c.token_sha256 == model.token_hash(sent["token"]))
                     .values(revoked=True))
    waited = eventually(lambda: world.get(page).status_code == 410)
    print(f"\nlink revoked by SQL closed {waited * 1000:.1f} ms after the commit")

    other = world.send()
    kept(world, other["token"])
    assert "Refuser" in world.page(other["token"])
    world.declined(other, reason="Trop cher")
    eventually(lambda: "Motif : Trop cher" in world.text(world.page(other["token"])))


def test_a_truncate_forgets_everything(world):
    rows = world.portal.remembered.rows
    sent = world.send()
    kept(world, sent["token"])
    with world.portal.engine.begin() as conn:
        conn.execute(text("TRUNCATE links"))
    eventually(lambda: len(rows) == 0)
    assert world.get(f"/d/{sent['token']}").status_code == 404


def test_without_its_listener_the_process_reads_the_database_on_every_request(world):
    rows = world.portal.remembered.rows
    listener = world.portal.listener()
    sent = world.send()
    page = f"/d/{sent['token']}"
    kept(world, sent["token"])
    with world.portal.engine.begin() as conn:
        killed = conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                   "WHERE application_name = :name AND datname = current_database()"),
                              {"name": APPLICATION}).scalars().all()
    assert killed == [True]
    eventually(lambda: not rows.listening or not listener.connected.is_set())
    # Whether or not it is back yet, nothing from before the cut is served:
    with checkouts(world.portal.engine) as taken:
        assert world.get(page).status_code == 200
    assert taken == [1]
    assert listener.connected.wait(10), "the listener did not come back"
    with world.portal.engine.begin() as conn:
        conn.execute(update(orm.links).where(orm.links.c.token_sha256 == model.token_hash(sent["token"]))
                     .values(revoked=True))
    eventually(lambda: world.get(page).status_code == 410)


def test_what_a_request_changes_shows_on_the_next_page_without_waiting_for_the_notice(world):
    """The process that commits a change forgets that quote's rows itself, and the page right after a
    sign, decline or code request reads the database: neither waits for the database's notice."""
    rows = world.portal.remembered.rows
    sent = world.send()
    kept(world, sent["token"])
    deaf = type("Deaf", (), {"changed": lambda self, quote: None, "forget_all": lambda self, **kw: None})()
    world.portal.listener().rows = deaf  # notices from now on go nowhere
    html = world.page(sent["token"])
    fields = dict(re.findall(r'<input type="hidden"[^>]*name="([^"]+)" value="([^"]*)"',
                             re.search(r'<form[^>]+/refuser".*?</form>', html, re.S).group(0)))
    response = world.post(f"/d/{sent['token']}/refuser", {**fields, "reason": "Délai trop long"})
    assert response.status_code == 303
    assert rows.get(model.token_hash(sent["token"])) is None  # forgotten by the committing process
    assert "Motif : Délai trop long" in world.text(world.page(sent["token"]))

    # What another process changes is heard only through the notice: with none, the kept row stays.
    other = world.send()
    kept_directly = world.get(f"/d/{other['token']}")
    assert kept_directly.status_code == 200
    with world.portal.engine.begin() as conn:
        conn.execute(update(orm.links).where(orm.links.c.token_sha256 == model.token_hash(other["token"]))
                     .values(revoked=True))
    if rows.get(model.token_hash(other["token"])) is not None:
        assert world.get(f"/d/{other['token']}").status_code == 200  # kept: the notice is what closes it
    assert world.get(f"/d/{other['token']}?refus=1").status_code == 410  # a page after an answer reads afresh
