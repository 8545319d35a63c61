"""The outbox relay: publishes committed events, woken by each commit, sweeping after crashes.

Delivery is at least once: a row is marked published only after the broker confirmed it,
in the relay's own transaction; a crash between the confirm and that commit publishes the
row again on the next sweep, and the consumers' inbox absorbs the copy.

Order: rows are published in ``id`` order, one batch at a time, stopping at the first
failure so nothing overtakes an unpublished row. Per aggregate that is commit order,
because a transaction changing an aggregate writes its outbox rows after updating the
aggregate's row (which serialises two transactions on one quote) and the relay only sees
committed rows. Several replicas of a service run several relays on one database; on
PostgreSQL each batch first takes a transaction-scoped advisory lock
(``pg_advisory_xact_lock``), so exactly one relay publishes at a time and the next one
starts after the previous batch's marks are committed: no relay can publish event 2 of a
quote while another still holds event 1 (``SKIP LOCKED`` would allow exactly that). The
cost is throughput bounded by one relay (thousands of confirmed publishes a second),
which the outbox of one service never approaches. On SQLite the relay's write
transaction (``BEGIN IMMEDIATE``) already serialises relays.
"""
from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timezone

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from quoteflow import observability
from quoteflow.envelope import Envelope, utcnow

log = logging.getLogger(__name__)

# One relay at a time per database (advisory locks are per database): any constant will do.
ADVISORY_LOCK_KEY = 0x71660B0C  # "qf" outbox


class OutboxRelay:
    """Publishes unpublished outbox rows in id order, marking each once the broker confirmed it.

    ``wake()`` is called after every commit that wrote events, so nothing waits
    for a timer; ``sweep_seconds`` only bounds how long an event left behind by
    a crash or a broker outage waits for the next attempt.
    """

    def __init__(self, engine: Engine, outbox, publisher, *, sweep_seconds: float = 2.0, batch: int = 200,
                 lock_timeout_ms: int = 15000):
        self.engine = engine
        self.outbox = outbox
        self.publisher = publisher
        self.sweep_seconds = sweep_seconds
        self.batch = batch
        self.lock_timeout_ms = lock_timeout_ms
        self.published = 0
        self._wakeup = threading.Event()
        self.stopping = threading.Event()

    def wake(self) -> None:
        self._wakeup.set()

    def stop(self) -> None:
        self.stopping.set()
        self._wakeup.set()

    def run(self) -> None:
        failures = 0
        while True:
            self._wakeup.clear()
            try:
                while self.publish_pending() == self.batch and not self.stopping.is_set():
                    pass
                failures = 0
            except Exception as exc:  # broker or database away: keep the rows, try again soon
                failures += 1
                log.warning("outbox relay could not publish (%s); will retry", exc)
                self.publisher.close()
                if self.stopping.wait(min(0.25 * 2 ** (failures - 1), self.sweep_seconds, 1.0)):
                    break  # stopping while the broker is away: the rows stay for the next start
                continue
            if self.stopping.is_set():
                break
            if not self._wakeup.wait(self.sweep_seconds):
                self._measure()  # idle: a good moment for the backlog gauges

    def _measure(self) -> None:
        try:
            count, _, age = outbox_status(self.engine, self.outbox)
        except Exception:  # the gauges must never stop the relay
            return
        observability.OUTBOX_BACKLOG.set(count)
        observability.OUTBOX_OLDEST.set(age or 0)

    def publish_pending(self) -> int:
        """Publishes one batch; returns how many rows it published."""
        t = self.outbox
        published: list[int] = []
        failure: Exception | None = None
        with self.engine.begin() as conn:
            if self.engine.dialect.name == "postgresql":
                conn.execute(text(f"SET LOCAL lock_timeout = {int(self.lock_timeout_ms)}"))
                try:
                    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
                except OperationalError as exc:
                    if "lock timeout" in str(exc).lower():
                        log.info("another relay has been publishing for %d ms; next round",
                                 self.lock_timeout_ms)
                        return 0
                    raise
            rows = conn.execute(select(t.c.id, t.c.event_id, t.c.type, t.c.body).where(
                t.c.published_at.is_(None)).order_by(t.c.id).limit(self.batch)).all()
            if rows:
                confirmed, failure = self._publish(rows)
                published = [row.id for row in rows[:confirmed]]
                if failure is not None:
                    # Stop at the first failure to keep the order; what was confirmed stays marked.
                    conn.execute(update(t).where(t.c.id == rows[confirmed].id).values(attempts=t.c.attempts + 1))
            if published:
                conn.execute(update(t).where(t.c.id.in_(published)).values(published_at=utcnow()))
        self.published += len(published)
        if failure is not None:
            self._measure()
            raise failure
        return len(published)

    def _publish(self, rows) -> tuple[int, Exception | None]:
        """(how many leading rows the broker confirmed, the error that stopped it)."""
        batch = getattr(self.publisher, "publish_batch", None)
        if batch is not None:
            confirmed = batch([(row.type, row.body, row.event_id) for row in rows])
            error = getattr(self.publisher, "last_error", None) if confirmed < len(rows) else None
            return confirmed, error or (RuntimeError("publish failed") if confirmed < len(rows) else None)
        for index, row in enumerate(rows):
            try:
                self.publisher.publish(row.type, row.body, row.event_id)
            except Exception as exc:
                return index, exc
        return len(rows), None

    def status(self) -> tuple[int, object]:
        """(unpublished count, oldest unpublished created_at)."""
        return outbox_status(self.engine, self.outbox)[:2]


def outbox_status(engine: Engine, outbox) -> tuple[int, datetime | None, float | None]:
    """(unpublished count, oldest unpublished created_at, its age in seconds)."""
    with engine.connect() as conn:
        count, oldest = conn.execute(select(func.count(), func.min(outbox.c.created_at)).where(
            outbox.c.published_at.is_(None))).one()
    if isinstance(oldest, str):  # SQLite without type affinity on an aggregate
        oldest = datetime.fromisoformat(oldest)
    age = None
    if oldest is not None:
        if oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=timezone.utc)
        age = max(0.0, (utcnow() - oldest).total_seconds())
    return int(count), oldest, age


def outbox_rows(envelopes, now: datetime) -> list[dict]:
    """The outbox rows of ``envelopes``, written at ``now``."""
    return [{"event_id": envelope.id, "type": envelope.type, "body": envelope.to_json(), "created_at": now,
             "attempts": 0} for envelope in envelopes]


class _Waiting:
    """A caller's events and its answer; ``wake`` is released once: its events are written (``done``),
    or it is its turn to write a group (``lead``)."""

    __slots__ = ("envelopes", "done", "lead", "error", "wake")

    def __init__(self, envelopes: list[Envelope]):
        self.envelopes = envelopes
        self.done = False
        self.lead = False
        self.error: Exception | None = None
        self.wake = threading.Lock()
        self.wake.acquire()


class FactWriter:
    """Facts that report no state of the writer's own (a PDF downloaded), from many threads, made durable
    together; each caller returns once its events are durable, or raises the error that stopped them.

    The first caller to find no write in progress takes every event waiting (up to ``max_group``); the
    others wait for the write that holds theirs, and the first of those that arrived meanwhile writes the
    next group. Each waiting caller is woken once, by the writer that answers it or hands it the next
    group: no caller wakes to find it must wait again (a context switch costs a download more than its
    share of the publish).

    Durable means, with a ``publisher`` (RabbitMQ): confirmed by the broker, which confirms once
    the quorum queues have the message on disk -- the events go straight out, pipelined, one round trip
    for the group, and only what the broker does not confirm is written to the outbox, for the relay to
    publish when it can. Without a publisher (the embedded transport): one INSERT and one COMMIT in the
    outbox for the group. Alone a caller costs what a transaction of its own would; N callers arriving
    together share one round trip.

    There is no state to keep consistent with such a fact, so the outbox's transaction adds nothing but
    cost; what it gives up is the relay's order: a fact published straight out can overtake an earlier
    event of the same quote still waiting in the outbox (a view whose transaction committed a moment
    before). Consumers take each event's own time, not its arrival, for what happened when.
    """

    def __init__(self, engine: Engine, outbox, relay=None, *, publisher=None, max_group: int = 500,
                 pause_seconds: float = 5.0, clock=time.monotonic):
        self.engine = engine
        self.outbox = outbox
        self.relay = relay
        self.publisher = publisher
        self.max_group = max_group
        self.pause_seconds = pause_seconds  # after the broker failed: the outbox only, for this long
        self.clock = clock
        self._direct_from = 0.0
        self.published = 0   # straight to the broker
        self.committed = 0   # into the outbox
        self.writes = 0      # group writes: (published + committed) / writes is the sharing
        self._lock = threading.Lock()
        self._queue: list[_Waiting] = []
        self._writing = False

    def write(self, envelopes: list[Envelope]) -> None:
        mine = _Waiting(list(envelopes))
        with self._lock:
            self._queue.append(mine)
            mine.lead = not self._writing
            self._writing = True
        try:
            if not mine.lead:
                mine.wake.acquire()  # until a writer answers us, or hands us the next group
            while mine.lead and not mine.done:  # ours may be beyond the first group (max_group)
                with self._lock:
                    group, self._queue = self._queue[:self.max_group], self._queue[self.max_group:]
                self._write_group(group)
        finally:  # whatever happened (a KeyboardInterrupt while waiting too), the next group gets a writer
            if mine.lead or not mine.done:  # else answered: nothing to pass on, no lock to take
                self._pass_on(mine)
        if mine.error is not None:
            raise mine.error

    def close(self) -> None:
        if self.publisher is not None:
            self.publisher.close()

    def _pass_on(self, mine: _Waiting) -> None:
        """Hands the next group to the first caller waiting, as the writer that is done; a caller that
        stops waiting before its events were written leaves the queue."""
        with self._lock:
            if not mine.done and mine in self._queue:
                self._queue.remove(mine)
            if mine.lead:
                if self._queue:
                    self._queue[0].lead = True
                    self._queue[0].wake.release()
                else:
                    self._writing = False

    def _write_group(self, group: list[_Waiting]) -> None:
        finished = False
        try:
            try:
                self._store([e for waiting in group for e in waiting.envelopes])
            except Exception as exc:
                # Alone, each caller would have had its own outcome: a group that fails is retried one
                # caller at a time, so one bad event (or a database gone for good) fails only its own.
                for waiting in group:
                    waiting.error = exc
                if len(group) > 1:
                    for waiting in group:
                        try:
                            self._store(waiting.envelopes)
                            waiting.error = None
                        except Exception as own:
                            waiting.error = own
            finished = True
        finally:  # whatever happened, the group's callers are answered
            self.writes += 1
            for waiting in group:
                if not finished and waiting.error is None:
                    waiting.error = RuntimeError("the write of this group was interrupted")
                waiting.done = True
                if not waiting.lead:
                    waiting.wake.release()

    def _store(self, envelopes: list[Envelope]) -> None:
        if self.publisher is not None and self.clock() >= self._direct_from:
            confirmed = self.publisher.publish_batch([(e.type, e.to_json(), e.id) for e in envelopes])
            self.published += confirmed
            if confirmed == len(envelopes):
                return
            # A broker that failed (or a connection that hangs) must not slow every download down:
            # for a while the facts go to the outbox, whose relay retries on its own schedule.
            self._direct_from = self.clock() + self.pause_seconds
            log.warning("the broker confirmed %d of %d facts (%s); the rest go to the outbox, and the next "
                        "%g s' too", confirmed, len(envelopes), getattr(self.publisher, "last_error", None),
                        self.pause_seconds)
            envelopes = envelopes[confirmed:]
        rows = outbox_rows(envelopes, utcnow())
        with self.engine.begin() as conn:
            conn.execute(insert(self.outbox), rows)
        self.committed += len(rows)
        if self.relay is not None:
            self.relay.wake()
