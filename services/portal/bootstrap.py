"""The ONE place that wires the portal: database, outbox relay, blob store, signature client, clock."""
from __future__ import annotations

import functools
import inspect
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from sqlalchemy import event, exc
from sqlalchemy.engine import Engine

from quoteflow.blobs import FolderBlobStore
from quoteflow.bus import Publisher, is_amqp
from quoteflow.db import make_engine, session_factory
from quoteflow.envelope import utcnow
from quoteflow.migrations import upgrade
from quoteflow.outbox import FactWriter, OutboxRelay
from services.portal import handlers
from services.portal.adapters import orm
from services.portal.adapters.failed_lookups import SqlFailedLookups
from services.portal.adapters.formatting import FrenchFormat
from services.portal.adapters.fresh import ReadModelListener
from services.portal.adapters.repository import Remembered
from services.portal.adapters.signature import GrpcSigner, Signer
from services.portal.adapters.unit_of_work import PortalUnitOfWork, ReadOnlyReadModel
from services.portal.config import PortalConfig
from services.portal.domain.model import GuessLimiter
from services.portal.i18n import Texts, catalogue

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"
IDLE_PING_SECONDS = 2.0   # a pooled connection idle longer than this is pinged before use


def ping_idle_connections(engine: Engine, idle_seconds: float = IDLE_PING_SECONDS) -> Engine:
    """Pings a pooled connection only when it sat idle ``idle_seconds`` or more (a database restart
    while the pool was quiet), instead of ``pool_pre_ping``'s ``SELECT 1`` before every request.
    A failed ping makes the pool open a fresh connection (SQLAlchemy's DisconnectionError)."""

    @event.listens_for(engine, "checkin")
    def _checked_in(dbapi_connection, record):
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection, record, proxy):
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < idle_seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as error:  # noqa: BLE001 -- any failure: this connection is not usable
            raise exc.DisconnectionError(f"idle connection failed its ping: {error}") from error

    return engine


@functools.lru_cache(maxsize=None)
def _wanted(handler) -> tuple[str, ...]:
    """The dependencies a handler asks for by name (its parameters after the message)."""
    return tuple(inspect.signature(handler).parameters)[1:]


@dataclass
class Portal:
    """Everything a portal process needs, built once; handlers get their dependencies by name."""

    config: PortalConfig
    engine: Engine
    relay: OutboxRelay
    blobs: FolderBlobStore
    signer: Signer
    clock: Callable
    fmt: FrenchFormat
    texts: Texts
    limiter: GuessLimiter
    uow_factory: Callable[[], PortalUnitOfWork]
    facts: FactWriter
    remembered: Remembered = field(default_factory=Remembered)
    _threads: list[threading.Thread] = field(default_factory=list, repr=False)
    _listener: ReadModelListener | None = field(default=None, repr=False)

    def _dependencies(self) -> dict[str, Any]:
        return {"uow": self.uow_factory(), "reader": ReadOnlyReadModel(self.engine, self.remembered),
                "signer": self.signer, "clock": self.clock,
                "money": self.fmt.money, "blobs": self.blobs, "texts": self.texts,
                "secret": self.config.secret_key, "facts": self.facts}

    def _call(self, handler, message):
        deps = self._dependencies()
        return handler(message, **{name: deps[name] for name in _wanted(handler)})

    def handle(self, message):
        """Runs the handler of a command or an event and returns what it returns."""
        table = {**handlers.COMMAND_HANDLERS, **handlers.EVENT_HANDLERS}
        return self._call(table[type(message)], message)

    def show(self, token_sha256: str, *, fresh: bool = False):
        """(link, version, page state) for a page: a read, no transaction to hold. ``fresh``: from the
        database, never from the rows kept in memory (the page right after the client changed something)."""
        return handlers.show(token_sha256, ReadOnlyReadModel(self.engine, self.remembered, kept=not fresh),
                             self.clock)

    def listener(self) -> ReadModelListener | None:
        """On PostgreSQL, the listener that lets this process answer page lookups from memory while the
        database tells it every change (services/portal/adapters/fresh.py); None elsewhere."""
        if self._listener is None and self.engine.dialect.name == "postgresql":
            conninfo = self.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
            self._listener = ReadModelListener(conninfo, self.remembered.rows)
        return self._listener

    def start(self) -> None:
        """A gunicorn worker's background threads: the relay publishing its events as soon as they
        commit, and the read-model listener."""
        if self._threads:
            return
        loops = [("relay", self.relay.run)]
        if self.listener() is not None:
            loops.append(("listener", self._listener.run))
        for name, run in loops:
            thread = threading.Thread(target=run, name=f"portal-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def close(self) -> None:
        self.facts.close()  # first: what it cannot publish goes to the outbox, for the relay below
        self.relay.stop()
        if self._listener is not None:
            self._listener.stop()
        for thread in self._threads:
            thread.join(5)
        self._threads.clear()
        self.relay.publisher.close()
        self.signer.close()
        self.engine.dispose()


def bootstrap(config: PortalConfig | None = None, *, engine: Engine | None = None, publisher=None,
              signer: Signer | None = None, blobs: FolderBlobStore | None = None, clock=None,
              create_schema: bool = True) -> Portal:
    """Builds the portal; nothing connects to the broker or the signature service until first used.

    ``create_schema`` brings the database to the newest Alembic revision first (embedded mode,
    tests); production runs ``python -m services.portal migrate`` once before the web workers.
    """
    config = config or PortalConfig.from_env()
    engine = engine or ping_idle_connections(make_engine(config.common.database_url, pre_ping=False))
    if create_schema:
        upgrade(engine, MIGRATIONS)
    sessions = session_factory(engine)
    relay = OutboxRelay(engine, orm.outbox, publisher or Publisher(config.common.broker_url))
    remembered = Remembered()
    return Portal(
        config=config,
        engine=engine,
        relay=relay,
        blobs=blobs or FolderBlobStore(config.common.blob_dir, cache_bytes=config.blob_cache_mb << 20),
        signer=signer or GrpcSigner(config.signature_target, config.service_key, config.signature_timeout,
                                    config.opened_timeout),
        clock=clock or utcnow,
        fmt=FrenchFormat(config.timezone),
        texts=catalogue(config.language),
        # Failed lookups are counted in the database, by every worker and replica together; pages that are
        # found never query it (GuessLimiter.check answers from memory).
        limiter=GuessLimiter(config.max_failed_lookups, config.failed_lookup_window,
                             shared=SqlFailedLookups(engine)),
        uow_factory=lambda: PortalUnitOfWork(sessions, orm.outbox, orm.inbox, relay, remembered=remembered),
        # Downloads change nothing of the portal's: spooled, then on RabbitMQ sent out a group at a time with
        # confirms, falling back to the outbox; on the embedded transport, the outbox (quoteflow/outbox.py).
        facts=FactWriter(engine, orm.outbox, relay, spool=config.spool_dir, linger=config.facts_linger_ms / 1000,
                         publisher=(Publisher(config.common.broker_url)
                                    if is_amqp(config.common.broker_url) else None)),
        remembered=remembered,
    )
