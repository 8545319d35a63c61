"""Failed link lookups in the portal's database (table ``failed_lookups``): every gunicorn worker and every
replica counts the same guesses, so a client gets the configured number, not that number per process.

Only a failed lookup touches the table: a page that is found never does. On PostgreSQL a failure is one
autocommit statement (record it, read the client's latest failures); on SQLite two statements in one
short write transaction. Rows older than the window are deleted as failures come, in batches, at most
once a minute per process. Timestamps are the processes' wall clocks (replicas keep them in step by NTP).
"""
from __future__ import annotations

import logging
import time
from typing import Callable

from sqlalchemy import bindparam, delete, insert, select, union_all
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from services.portal.adapters.orm import failed_lookups
from services.portal.domain.guessing import SharedFailures

log = logging.getLogger(__name__)

PRUNE_EVERY = 60.0     # seconds between two prunes by one process
PRUNE_BATCH = 10_000   # rows deleted by one prune at the most (a full batch: the next failure prunes again)
QUIET_FOR = 60.0       # seconds between two warnings about a database that cannot record

_table = failed_lookups
_latest = (select(_table.c.failed_at)
           .where(_table.c.client == bindparam("client"), _table.c.failed_at > bindparam("since")))


def _recorded_and_latest():
    """PostgreSQL: one statement records the failure and returns the client's latest ``limit`` failures
    (the new row comes from RETURNING: the statement's snapshot does not show it)."""
    recorded = (insert(_table).values(client=bindparam("client"), failed_at=bindparam("now"))
                .returning(_table.c.failed_at).cte("recorded"))
    latest = union_all(_latest, select(recorded.c.failed_at)).subquery("latest")
    return select(latest.c.failed_at).order_by(latest.c.failed_at.desc()).limit(bindparam("limit"))


class SqlFailedLookups(SharedFailures):
    """:class:`SharedFailures` in the portal's own database. A database that fails is logged (at most once a
    minute) and answers None: the limiter goes by its process's count, the 404 page is served as usual."""

    def __init__(self, engine: Engine, clock: Callable[[], float] = time.time):
        self.engine = engine
        self.clock = clock
        self._one_statement = _recorded_and_latest() if engine.dialect.name == "postgresql" else None
        self._latest = _latest.order_by(_table.c.failed_at.desc()).limit(bindparam("limit"))
        self._next_prune = float("-inf")
        self._quiet_until = float("-inf")

    def record(self, client: str, window: float, limit: int) -> float | None:
        now = self.clock()
        params = {"client": client, "now": now, "since": now - window, "limit": limit}
        try:
            latest = self._record(params)
        except SQLAlchemyError as error:
            self._warn("could not record a failed link lookup (counted by this process only): %s", error)
            return None
        self._prune(now - window)
        if len(latest) < limit:
            return 0.0
        return max(0.0, min(latest) + window - now)

    def _record(self, params: dict) -> list[float]:
        if self._one_statement is not None:
            with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                return list(conn.execute(self._one_statement, params).scalars())
        with self.engine.begin() as conn:
            conn.execute(insert(_table).values(client=params["client"], failed_at=params["now"]))
            return list(conn.execute(self._latest, params).scalars())

    def _prune(self, before: float) -> None:
        now = self.clock()
        if now < self._next_prune:
            return
        self._next_prune = now + PRUNE_EVERY  # the other threads of this process skip it meanwhile
        old = select(_table.c.id).where(_table.c.failed_at <= before).limit(PRUNE_BATCH).scalar_subquery()
        try:
            with self.engine.begin() as conn:
                deleted = conn.execute(delete(_table).where(_table.c.id.in_(old))).rowcount
        except SQLAlchemyError as error:
            self._warn("could not delete old failed link lookups: %s", error)
            return
        if deleted >= PRUNE_BATCH:
            self._next_prune = now

    def _warn(self, message: str, error: SQLAlchemyError) -> None:
        now = time.monotonic()
        if now >= self._quiet_until:
            self._quiet_until = now + QUIET_FOR
            log.warning(message, getattr(error, "orig", None) or error)  # the driver's words, not the SQL
