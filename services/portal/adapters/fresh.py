"""The page's lookup without a round trip: link and version rows kept while PostgreSQL says they are current.

Every page, PDF and logo request reads the state of its link (expired? revoked? superseded? signed?)
and of the version it shows. A visit makes several such requests within seconds; the rows change
rarely (a send, a signature, a decline, a code asked). So each web process keeps the rows it read,
and drops them when the database says they changed:

* migration 0003 puts triggers on ``links`` and ``versions`` that ``pg_notify`` the quote's key on
  every insert, update or delete (and "everything" on a truncate), in the writing transaction: the
  notice goes out when, and only when, the change commits -- whoever wrote it (the portal's
  consumer, a web worker, an operator's SQL);
* :class:`ReadModelListener`, one thread per web process, LISTENs on its own connection and tells
  :class:`FreshRows` which quote changed.

Nothing is served from memory unless the listener is connected: before LISTEN succeeds, after its
connection fails, and on SQLite (no notifications), every request reads the database as before. On
reconnecting everything kept is dropped (changes may have gone by unheard). A row read while a
change was being committed is not kept (the generation check in :meth:`FreshRows.put`), and no row
is kept longer than ``max_age`` seconds, whatever happens to the listener's connection.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict
from typing import Callable

log = logging.getLogger(__name__)

CHANNEL = "portal_read_model"
EVERYTHING = "*"   # the payload of a TRUNCATE: forget all
APPLICATION = "quoteflow-portal-listener"  # its name in pg_stat_activity


class FreshRows:
    """Lookup rows by token hash, with the quote each belongs to; thread-safe."""

    def __init__(self, capacity: int = 4096, max_age: float = 30.0, clock: Callable[[], float] = time.monotonic):
        self.capacity = capacity
        self.max_age = max_age
        self.clock = clock
        self.listening = False
        self._lock = threading.Lock()
        self._rows: OrderedDict[str, tuple[float, tuple[str, str], dict]] = OrderedDict()
        self._tokens_of: dict[tuple[str, str], set[str]] = {}
        self._generation = 0

    @property
    def generation(self) -> int:
        """Read before a lookup, given back to :meth:`put`: any change heard in between voids the row."""
        return self._generation

    def get(self, token_sha256: str) -> dict | None:
        if not self.listening:
            return None
        with self._lock:
            entry = self._rows.get(token_sha256)
            if entry is None:
                return None
            if self.clock() - entry[0] >= self.max_age:
                self._drop(token_sha256)
                return None
            self._rows.move_to_end(token_sha256)
            return entry[2]

    def put(self, token_sha256: str, quote: tuple[str, str], row: dict, generation: int) -> None:
        with self._lock:
            if not self.listening or generation != self._generation:
                return
            self._drop(token_sha256)
            self._rows[token_sha256] = (self.clock(), quote, row)
            self._tokens_of.setdefault(quote, set()).add(token_sha256)
            while len(self._rows) > self.capacity:
                self._drop(next(iter(self._rows)))

    def changed(self, quote: tuple[str, str]) -> None:
        """The rows of ``quote`` changed (a committed write, told by the database)."""
        with self._lock:
            self._generation += 1
            for token in self._tokens_of.pop(quote, ()):
                self._rows.pop(token, None)

    def forget_all(self, *, listening: bool) -> None:
        """Drops every row; ``listening`` says whether changes will be heard from now on."""
        with self._lock:
            self._generation += 1
            self._rows.clear()
            self._tokens_of.clear()
            self.listening = listening

    def __len__(self) -> int:
        return len(self._rows)

    def _drop(self, token_sha256: str) -> None:
        entry = self._rows.pop(token_sha256, None)
        if entry is not None:
            tokens = self._tokens_of.get(entry[1])
            if tokens is not None:
                tokens.discard(token_sha256)
                if not tokens:
                    del self._tokens_of[entry[1]]


def quote_of(payload: str) -> tuple[str, str] | None:
    """The (tenant, quote id) a notice names; None for :data:`EVERYTHING` or anything unexpected."""
    try:
        tenant, quote_id = json.loads(payload)
        return str(tenant), str(quote_id)
    except (ValueError, TypeError):
        return None


class ReadModelListener:
    """LISTENs for changes of the read model and tells ``rows``; reconnects with a growing pause."""

    def __init__(self, conninfo: str, rows: FreshRows, *, ping_seconds: float = 5.0, poll_seconds: float = 0.5):
        self.conninfo = conninfo
        self.rows = rows
        self.ping_seconds = ping_seconds
        self.poll_seconds = poll_seconds
        self.stopping = threading.Event()
        self.connected = threading.Event()

    def stop(self) -> None:
        self.stopping.set()

    def run(self) -> None:
        failures = 0
        while not self.stopping.is_set():
            try:
                self._listen()
            except Exception as error:  # noqa: BLE001 -- any failure: read the database until back
                failures = 1 if self.connected.is_set() else failures + 1
                if failures == 1:
                    log.warning("portal read-model listener lost its connection (%s); reading the database "
                                "on every request until it is back", error)
            finally:
                self.connected.clear()
                self.rows.forget_all(listening=False)
            self.stopping.wait(min(0.1 * 2 ** failures, 5.0))

    def _listen(self) -> None:
        import psycopg

        with psycopg.connect(self.conninfo, autocommit=True, connect_timeout=5, application_name=APPLICATION,
                             keepalives=1, keepalives_idle=5, keepalives_interval=2, keepalives_count=3) as conn:
            conn.execute(f"LISTEN {CHANNEL}")
            self.rows.forget_all(listening=True)  # from here on every committed change is heard
            self.connected.set()
            pinged = time.monotonic()
            while not self.stopping.is_set():
                for notice in conn.notifies(timeout=self.poll_seconds):
                    quote = quote_of(notice.payload)
                    if quote is None:
                        self.rows.forget_all(listening=True)
                    else:
                        self.rows.changed(quote)
                if time.monotonic() - pinged >= self.ping_seconds:  # a dead peer fails here, not silently
                    conn.execute("SELECT 1")
                    pinged = time.monotonic()
