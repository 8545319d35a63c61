"""The outbox relay: publishes committed events, woken by each commit, sweeping after crashes."""
from __future__ import annotations

import logging
import threading

from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine

from quoteflow.envelope import utcnow

log = logging.getLogger(__name__)


class OutboxRelay:
    """Publishes unpublished outbox rows in id order, marking each once the broker confirmed it.

    ``wake()`` is called after every commit that wrote events, so nothing waits
    for a timer; ``sweep_seconds`` only bounds how long an event left behind by
    a crash or a broker outage waits for the next attempt.
    """

    def __init__(self, engine: Engine, outbox, publisher, *, sweep_seconds: float = 2.0, batch: int = 200):
        self.engine = engine
        self.outbox = outbox
        self.publisher = publisher
        self.sweep_seconds = sweep_seconds
        self.batch = batch
        self._wakeup = threading.Event()
        self.stopping = threading.Event()

    def wake(self) -> None:
        self._wakeup.set()

    def stop(self) -> None:
        self.stopping.set()
        self._wakeup.set()

    def run(self) -> None:
        while True:
            try:
                while self.publish_pending() == self.batch:
                    pass
            except Exception as exc:  # broker or database away: keep the rows, try again later
                log.warning("outbox relay could not publish (%s); will retry", exc)
                self.publisher.close()
                self.stopping.wait(min(self.sweep_seconds, 1.0))
            if self.stopping.is_set():
                break
            self._wakeup.wait(self.sweep_seconds)
            self._wakeup.clear()

    def publish_pending(self) -> int:
        """Publishes one batch; returns how many rows it published."""
        t = self.outbox
        published = 0
        failure: Exception | None = None
        with self.engine.begin() as conn:
            query = select(t.c.id, t.c.event_id, t.c.type, t.c.body).where(
                t.c.published_at.is_(None)).order_by(t.c.id).limit(self.batch)
            if self.engine.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            for row in conn.execute(query).all():
                try:
                    self.publisher.publish(row.type, row.body, row.event_id)
                except Exception as exc:
                    # Stop here to keep the order; what was confirmed stays marked.
                    conn.execute(update(t).where(t.c.id == row.id).values(attempts=t.c.attempts + 1))
                    failure = exc
                    break
                conn.execute(update(t).where(t.c.id == row.id).values(published_at=utcnow()))
                published += 1
        if failure is not None:
            raise failure
        return published

    def status(self) -> tuple[int, object]:
        """(unpublished count, oldest unpublished created_at)."""
        t = self.outbox
        with self.engine.connect() as conn:
            row = conn.execute(select(func.count(), func.min(t.c.created_at)).where(
                t.c.published_at.is_(None))).one()
        return int(row[0]), row[1]
