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

import fcntl
import logging
import os
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

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


SPOOL_SUFFIX = ".facts"
STALE_NEW_SECONDS = 60.0  # a spool file still unnamed this long was left by a writer that died naming it


class FactWriter:
    """Facts that report no state of the writer's own (a PDF downloaded), from many threads: a caller
    returns once its events are in a local spool file, and the writer's thread makes them durable behind
    it, many at a time.

    - ``write`` appends each event as one line to the writer's current spool file (one ``write(2)``, no
      fsync: what a process wrote is in the page cache and survives the process; a machine that loses
      power loses the events not yet sent, at most ``linger`` and one send's worth) and wakes the thread.
    - The thread lets ``linger`` seconds pass (the events of that moment then travel together), takes the
      events and their file, opens a new file for the next ones, and makes the group durable: with a
      ``publisher`` (RabbitMQ), published with confirm as one message in CloudEvents' batch format
      (``Publisher.publish_batch(together=True)``), and what the broker does not confirm committed to the
      outbox for the relay; without one (the embedded transport), one outbox commit. Then it deletes the
      file. A group it cannot store (broker and database both away) is tried again with a growing pause;
      its file stays meanwhile.
    - A file whose writer died (its ``flock`` is free) is read back by the next writer on the folder: at
      start, then every ``recover_seconds``. Its events may have been published already: consumers' inbox
      absorbs the copy, as after any crash of an outbox relay. A line that cannot be read back (a write cut
      by the crash) keeps its file, renamed ``.damaged``, for an operator.
    - ``flush`` waits until what was written before it is durable; ``close`` flushes and stops.

    Why the caller does not wait for the broker, as it did (measured with bench/portal_bench.py on this
    2-core machine, broker and workers side by side): a download that waited for its confirm, grouped
    with the downloads that arrived meanwhile, cost 1.2 ms more CPU in the web worker and 0.6 ms more in
    RabbitMQ than one recording nothing (one AMQP message per event, and a caller woken by another thread
    for each), and the PDF route served 0.44x a static file. Spooled and sent 10 ms at a time, the recording
    cost 0.34-0.37 ms of worker CPU and 0.10-0.13 ms of the broker's (0.76-0.77x); 50 ms at a time,
    0.26-0.40 ms and 0.05 ms (0.81-0.85x). Hence ``linger`` 50 ms: a download reaches the salesperson's
    history and alerts 50 ms later, which nobody can see.

    There is no state to keep consistent with such a fact, so the outbox's transaction adds nothing but
    cost; what it gives up is the relay's order: a fact can overtake an earlier event of the same quote
    still waiting in the outbox (a view whose transaction committed a moment before). Consumers take each
    event's own time, not its arrival, for what happened when.
    """

    def __init__(self, engine: Engine, outbox, relay=None, *, spool: Path, publisher=None,
                 linger: float = 0.05, max_group: int = 2000, pause_seconds: float = 5.0,
                 recover_seconds: float = 60.0, clock=time.monotonic):
        self.engine = engine
        self.outbox = outbox
        self.relay = relay
        self.spool = Path(spool)
        self.publisher = publisher
        self.linger = linger
        self.max_group = max_group
        self.pause_seconds = pause_seconds  # after the broker failed: the outbox only, for this long
        self.recover_seconds = recover_seconds
        self.clock = clock
        self._direct_from = 0.0
        self.published = 0   # straight to the broker
        self.committed = 0   # into the outbox
        self.writes = 0      # groups made durable: (published + committed) / writes is the sharing
        self.recovered = 0   # events read back from the spool files of writers that died
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)   # an event to send, or closing
        self._settled = threading.Condition(self._lock)  # a group made durable
        self._pending: list[Envelope] = []
        self._file: tuple[int, Path] | None = None     # (descriptor, path) of the file being written
        self._written = 0    # events spooled so far
        self._durable = 0    # events of those made durable
        self._closing = False
        self._idle = False   # the thread waits for an event (write wakes it), not lingering or sending
        self._stopping = threading.Event()  # set with _closing: ends a linger or a pause at once
        self._spool_broken = False
        self.spool.mkdir(parents=True, exist_ok=True)
        self._thread = threading.Thread(target=self._run, name="facts", daemon=True)
        self._thread.start()

    def write(self, envelopes: list[Envelope]) -> None:
        """Returns once ``envelopes`` are spooled (or, if the spool cannot be written, committed to the
        outbox); raises what stopped both."""
        envelopes = list(envelopes)
        lines = b"".join(envelope.to_json().encode("utf-8") + b"\n" for envelope in envelopes)
        with self._lock:
            if self._closing:
                raise RuntimeError("the fact writer is closed")
            try:
                if self._file is None:
                    self._file = self._new_file()
                if os.write(self._file[0], lines) != len(lines):
                    raise OSError(f"short write to {self._file[1]}")
            except OSError as exc:
                broken = exc
                if self._file is not None and not self._pending:  # nothing of ours in it: not worth keeping
                    fd, path = self._file
                    self._file = None
                    os.close(fd)
                    path.unlink(missing_ok=True)
            else:
                self._pending.extend(envelopes)
                self._written += len(envelopes)
                if self._idle:  # only then: under load a notify costs the caller context switches (8 threads
                    # in a microbenchmark: 1.8 per notify, against 0.02 for this test)
                    self._idle = False
                    self._wake.notify()
                if self._spool_broken:
                    self._spool_broken = False
                    log.warning("facts are spooled in %s again", self.spool)
                return
            if not self._spool_broken:
                self._spool_broken = True
                log.error("facts cannot be spooled in %s (%s): each is committed to the outbox by its caller "
                          "until the spool works again", self.spool, broken)
        self._commit(envelopes)  # as the caller would have without a spool: it waits for the database

    def flush(self, timeout: float | None = None) -> bool:
        """Waits until every event written before this call is durable; False if ``timeout`` passed first."""
        with self._lock:
            target = self._written
            self._wake.notify()
            return self._settled.wait_for(lambda: self._durable >= target, timeout)

    def close(self, timeout: float = 10.0) -> None:
        """Makes what was written durable (for at most ``timeout`` seconds: the rest stays spooled, for the
        next writer), stops the thread, closes the publisher."""
        with self._lock:
            self._closing = True
            self._stopping.set()
            self._wake.notify()
        self._thread.join(timeout)
        if self.publisher is not None:
            self.publisher.close()

    # the thread ----------------------------------------------------------------------------------

    def _run(self) -> None:
        next_recovery = self.clock()
        while True:
            if self.clock() >= next_recovery:
                next_recovery = self.clock() + self.recover_seconds
                self._recover_quietly()
            with self._lock:
                if not self._pending and not self._closing:
                    self._idle = True
                    self._wake.wait(max(0.0, next_recovery - self.clock()))
                    self._idle = False
                if not self._pending:
                    if self._closing:
                        return
                    continue
                closing = self._closing
            if self.linger and not closing:
                self._stopping.wait(self.linger)  # the events of this moment go together
            with self._lock:
                group, self._pending = self._pending, []
                spooled, self._file = self._file, None
            fd, path = spooled
            if not self._make_durable(group):
                os.close(fd)  # closing with the broker and the database away: the file (unlocked now) stays
                return        # for the next writer on the folder
            try:
                path.unlink(missing_ok=True)
            except OSError:  # the events are durable: a file left behind is read again, absorbed by the inbox
                log.warning("spool file %s could not be deleted", path, exc_info=True)
            os.close(fd)
            with self._lock:
                self._durable += len(group)
                self._settled.notify_all()

    def _make_durable(self, group: list[Envelope]) -> bool:
        failures = 0
        while True:
            try:
                for start in range(0, len(group), self.max_group):
                    self._store(group[start:start + self.max_group])
                return True
            except Exception as exc:  # the broker and the database both away, or a bug: keep trying
                failures += 1
                with self._lock:
                    if self._closing:
                        log.error("closing with %d facts not made durable (%s); they stay in the spool %s",
                                  len(group), exc, self.spool)
                        return False
                wait = min(0.1 * 2 ** (failures - 1), 5.0)
                log.warning("%d facts could not be made durable (%s); trying again in %.1f s", len(group), exc,
                            wait, exc_info=failures == 1)
                self._stopping.wait(wait)

    def _store(self, envelopes: list[Envelope]) -> None:
        self.writes += 1
        if self.publisher is not None and self.clock() >= self._direct_from:
            confirmed = self.publisher.publish_batch([(e.type, e.to_json(), e.id) for e in envelopes],
                                                     together=True)
            self.published += confirmed
            if confirmed == len(envelopes):
                return
            # A broker that failed (or a connection that hangs) must not hold every fact back: for a while
            # the facts go to the outbox, whose relay retries on its own schedule.
            self._direct_from = self.clock() + self.pause_seconds
            log.warning("the broker confirmed %d of %d facts (%s); the rest go to the outbox, and the next "
                        "%g s' too", confirmed, len(envelopes), getattr(self.publisher, "last_error", None),
                        self.pause_seconds)
            envelopes = envelopes[confirmed:]
        self._commit(envelopes)

    def _commit(self, envelopes: list[Envelope]) -> None:
        """Inserts the events the outbox does not hold yet (a spool read back may repeat some)."""
        ids = [envelope.id for envelope in envelopes]
        with self.engine.begin() as conn:
            held = set(conn.execute(select(self.outbox.c.event_id).where(self.outbox.c.event_id.in_(ids)))
                       .scalars())
            rows = outbox_rows([e for e in envelopes if e.id not in held], utcnow())
            if rows:
                conn.execute(insert(self.outbox), rows)
        self.committed += len(rows)
        if rows and self.relay is not None:
            self.relay.wake()

    # the spool -----------------------------------------------------------------------------------

    def _new_file(self) -> tuple[int, Path]:
        """A new spool file, locked before it gets the name a recovery looks for."""
        path = self.spool / f"{os.getpid()}-{uuid.uuid4().hex}{SPOOL_SUFFIX}"
        fresh = path.with_name(path.name + ".new")
        fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.rename(fresh, path)
        except OSError:
            os.close(fd)
            raise
        return fd, path

    def _recover_quietly(self) -> None:
        try:
            self.recover()
        except Exception:  # the broker and the database away: the files wait for the next try
            log.warning("spooled facts of a stopped writer could not be recovered yet", exc_info=True)

    def recover(self) -> int:
        """Makes durable the events of the spool files whose writer died; returns how many."""
        found = 0
        for path in sorted(self.spool.glob(f"*{SPOOL_SUFFIX}*")):
            if path.name.endswith(".damaged"):
                continue
            try:
                fd = os.open(path, os.O_RDONLY)
            except FileNotFoundError:
                continue  # recovered by another writer meanwhile
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # its writer is alive
                if os.fstat(fd).st_nlink == 0:
                    continue  # recovered and deleted by another writer after we opened it
                if path.name.endswith(".new"):  # a writer between creating and naming it, or one that died there
                    if time.time() - os.fstat(fd).st_mtime > STALE_NEW_SECONDS:
                        os.unlink(path)
                    continue
                envelopes, damaged = _read_spool(fd, path)
                if envelopes:
                    self._store(envelopes)
                if damaged:
                    os.rename(path, path.with_name(path.name + ".damaged"))
                else:
                    os.unlink(path)
                found += len(envelopes)
            finally:
                os.close(fd)
        if found:
            log.warning("recovered %d spooled facts of a writer that stopped", found)
            self.recovered += found
        return found


def _read_spool(fd: int, path: Path) -> tuple[list[Envelope], int]:
    """The events of a spool file, and how many of its lines could not be read back."""
    data = b""
    while chunk := os.read(fd, 1 << 20):
        data += chunk
    envelopes, damaged = [], 0
    for number, line in enumerate(data.split(b"\n"), 1):
        if not line.strip():
            continue
        try:
            envelopes.append(Envelope.from_json(line))
        except Exception as exc:
            damaged += 1
            log.error("spool file %s, line %d: not an event (%s); the file is kept as .damaged", path, number, exc)
    return envelopes, damaged
