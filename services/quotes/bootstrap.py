"""The one place that wires the quotes service: bootstrap(...) injects dependencies by name."""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Callable

from sqlalchemy.engine import Engine

from quoteflow.blobs import FolderBlobStore
from quoteflow.db import make_engine, session_factory
from quoteflow.envelope import utcnow
from quoteflow.migrations import upgrade
from quoteflow.outbox import OutboxRelay
from quoteflow.typeset import font_chain
from quoteflow.uow import SqlUnitOfWork
from services.quotes import handlers
from services.quotes.adapters import orm
from services.quotes.adapters.images import PillowImages
from services.quotes.adapters.messages import envelope_of
from services.quotes.adapters.repository import DirectoryRepository, IdempotencyRepository, QuoteRepository
from services.quotes.config import Config


MIGRATIONS = Path(__file__).parent / "migrations"


class UnitOfWork(SqlUnitOfWork):
    def _open(self, session):
        self.quotes = QuoteRepository(session)
        self.directory = DirectoryRepository(session)
        self.idempotency = IdempotencyRepository(session)

    def collect_new_events(self):
        """What the quotes saved in this unit recorded (a change of status, a withdrawal), as envelopes."""
        recorded, self.quotes.events = self.quotes.events, []
        return [envelope_of(event) for event in recorded]


def _inject(handler: Callable, dependencies: dict[str, Any]) -> Callable:
    wanted = inspect.signature(handler).parameters
    return partial(handler, **{name: dep for name, dep in dependencies.items() if name in wanted})


@dataclass
class App:
    """The service as its entrypoints see it: a bus for commands, a UoW factory for events."""

    config: Config
    engine: Engine
    relay: OutboxRelay | None
    uow: Callable[[], UnitOfWork]
    command_handlers: dict[type, Callable] = field(default_factory=dict)
    dependencies: dict[str, Any] = field(default_factory=dict)

    def handle(self, command):
        return self.command_handlers[type(command)](command)

    def query(self, handler: Callable, *args):
        return _inject(handler, {**self.dependencies, "uow": self.uow()})(*args)


def bootstrap(config: Config | None = None, *, pdf: Callable | None = None, clock: Callable = utcnow,
              publisher=None, create_schema: bool = True) -> App:
    config = config or Config.from_env()
    engine = make_engine(config.common.database_url)
    if create_schema:
        upgrade(engine, MIGRATIONS)
    sessions = session_factory(engine)
    relay = None
    if publisher is not None:
        relay = OutboxRelay(engine, orm.outbox, publisher)
    if pdf is None:
        from services.quotes.adapters.pdf import render_quote_pdf as pdf

    def uow() -> UnitOfWork:
        return UnitOfWork(sessions, orm.outbox, orm.inbox, relay)

    dependencies = {"pdf": pdf, "blobs": FolderBlobStore(config.common.blob_dir), "clock": clock,
                    "portal_base_url": config.portal_base_url, "link_secret": config.link_secret,
                    "zone": config.timezone, "seal_key": config.seal_key,
                    "images": PillowImages(), "printable": font_chain(), "uow_factory": uow}
    app = App(config=config, engine=engine, relay=relay, uow=uow, dependencies=dependencies)
    # Each command gets a fresh unit of work per call.
    app.command_handlers = {
        kind: (lambda h: lambda cmd: _inject(h, {**dependencies, "uow": uow()})(cmd))(handler)
        for kind, handler in handlers.COMMAND_HANDLERS.items()
    }
    return app
