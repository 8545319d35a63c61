"""The guess limit holds across processes: two portals (as two gunicorn workers, or two replicas) on one
database, SQLite and PostgreSQL, let one address through at most the configured number of failed guesses
plus one per other process; a database that cannot record still serves the 404 page and limits alone."""
from __future__ import annotations

import logging
import secrets

import pytest
from sqlalchemy import select, text

from quoteflow.db import make_engine
from quoteflow.migrations import upgrade
from services.portal.adapters import failed_lookups as adapter
from services.portal.adapters.failed_lookups import SqlFailedLookups
from services.portal.adapters.orm import failed_lookups
from services.portal.bootstrap import MIGRATIONS
from services.portal.domain.model import GuessLimiter, TooManyAttempts
from tests.integration.portal.world import World
from tests.support.backends import private_databases

ATTACKER = "2001:db8:bad:1::7"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'portal.db'}"
        return
    with private_databases(["portal"], "qf_portal") as urls:
        yield urls["portal"]


class Clock:
    """One fake time for every process of a test: ``wall`` for the database rows, ``monotonic`` for memory."""

    def __init__(self):
        self.now = 1_800_000_000.0

    def wall(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.now - 1_799_000_000.0


@pytest.fixture
def engines(database_url):
    """Two engines on one database, each with its own pool, as two processes have."""
    built = [make_engine(database_url, pre_ping=False) for _ in range(2)]
    upgrade(built[0], MIGRATIONS)
    yield built
    for engine in built:
        engine.dispose()


def limiters(engines, clock: Clock, max_failures: int, window: float) -> list[GuessLimiter]:
    return [GuessLimiter(max_failures, window, clock=clock.monotonic, shared=SqlFailedLookups(engine, clock.wall))
            for engine in engines]


def guess(limiter: GuessLimiter, address: str) -> bool:
    """One failed guess as the page makes it; True when it was let through to the lookup."""
    try:
        limiter.check(address)
    except TooManyAttempts:
        return False
    limiter.failed(address)
    return True


def test_two_processes_on_one_database_let_through_the_limit_plus_one(engines):
    clock = Clock()
    workers = limiters(engines, clock, max_failures=5, window=300)
    let_through = []
    for n in range(30):
        clock.now += 1
        let_through.append(guess(workers[n % 2], ATTACKER))
    assert sum(let_through) <= 5 + (len(workers) - 1)
    # Worker 0 made the 5th failure and blocked; worker 1, not yet told, let the 6th through, then blocked.
    assert let_through == [True] * 6 + [False] * 24
    for worker in workers:
        with pytest.raises(TooManyAttempts):
            worker.check("2001:db8:bad:1::8")  # the same /64
        worker.check("198.51.100.20")
        worker.check("2001:db8:bad:2::7")
    # Retry-After from the shared window, as each worker learned it: 300 s after the 5th-latest failure
    # (at +1 s for worker 0, told at +5 s; at +2 s for worker 1, told at +6 s); it is now +30 s.
    assert [worker.retry_after(ATTACKER) for worker in workers] == [272, 273]
    clock.now += 300
    assert guess(workers[0], ATTACKER) and guess(workers[1], ATTACKER)


def test_the_count_is_shared_whichever_process_sees_each_guess(engines):
    clock = Clock()
    workers = limiters(engines, clock, max_failures=30, window=300)
    order = [secrets.randbelow(2) for _ in range(200)]
    let_through = 0
    for which in order:
        clock.now += 0.5
        let_through += guess(workers[which], ATTACKER)
    assert 30 <= let_through <= 30 + 1


def test_old_failures_are_deleted_as_new_ones_come(engines):
    clock = Clock()
    shared = SqlFailedLookups(engines[0], clock.wall)

    def clients() -> list[str]:
        with engines[1].connect() as conn:
            return conn.execute(select(failed_lookups.c.client).order_by(failed_lookups.c.id)).scalars().all()

    for n in range(20):
        assert shared.record(f"192.0.2.{n}", 300, 5) == 0.0
    clock.now += 30
    shared.record("192.0.2.98", 300, 5)  # no prune due yet (the first failure's ran)
    assert len(clients()) == 21
    clock.now += 271  # the 20 are older than the window now, and a prune is due
    shared.record("192.0.2.99", 300, 5)
    assert clients() == ["192.0.2.98", "192.0.2.99"]


def test_the_page_shares_the_limit_between_two_portals_on_one_database(tmp_path, database_url):
    overrides = {"max_failed_lookups": 4, "failed_lookup_window": 300.0}
    portals = [World(tmp_path / name, overrides, database_url=database_url) for name in ("a", "b")]
    try:
        sent = portals[0].send()
        codes = [portals[n % 2].get(f"/d/{secrets.token_urlsafe(32)}").status_code for n in range(12)]
        assert codes == [404] * (4 + 1) + [429] * 7  # the limit, and one guess the other portal let through
        for world in portals:
            limited = world.get(f"/d/{sent['token']}")
            assert limited.status_code == 429 and 1 <= int(limited.headers["Retry-After"]) <= 301
        other = portals[1].client.get(f"/d/{sent['token']}", environ_base={"REMOTE_ADDR": "198.51.100.9"})
        assert other.status_code == 200
    finally:
        for world in portals:
            world.close()


def test_a_database_that_cannot_record_still_serves_the_404_and_limits_alone(tmp_path, database_url, caplog):
    world = World(tmp_path, {"max_failed_lookups": 3, "failed_lookup_window": 300.0}, database_url=database_url)
    try:
        with world.portal.engine.begin() as conn:
            conn.execute(text("DROP TABLE failed_lookups"))
        with caplog.at_level(logging.WARNING, logger=adapter.__name__):
            codes = [world.get(f"/d/{secrets.token_urlsafe(32)}").status_code for _ in range(5)]
        assert codes == [404, 404, 404, 429, 429]
        warnings = [r for r in caplog.records if r.name == adapter.__name__]
        assert len(warnings) == 1 and "counted by this process only" in warnings[0].getMessage()
    finally:
        world.close()

