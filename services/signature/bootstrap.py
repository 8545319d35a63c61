"""The one place that wires the signature service: bootstrap(...) injects dependencies by name."""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Callable

from sqlalchemy.engine import Engine

from quoteflow.blobs import FolderBlobStore
from quoteflow.bus import Publisher
from quoteflow.db import make_engine, session_factory
from quoteflow.envelope import utcnow
from quoteflow.outbox import OutboxRelay
from quoteflow.uow import SqlUnitOfWork
from services.signature import handlers
from services.signature.adapters import orm
from services.signature.adapters.repository import RequestRepository
from services.signature.config import Config


class UnitOfWork(SqlUnitOfWork):
    def _open(self, session):
        self.requests = RequestRepository(session)


def _inject(handler: Callable, dependencies: dict[str, Any]) -> Callable:
    wanted = inspect.signature(handler).parameters
    return partial(handler, **{name: dep for name, dep in dependencies.items() if name in wanted})


@dataclass
class App:
    """The service as its entrypoints see it: commands, events and queries, each with a fresh unit of work."""

    config: Config
    engine: Engine
    relay: OutboxRelay
    uow: Callable[[], UnitOfWork]
    dependencies: dict[str, Any] = field(default_factory=dict)

    def handle(self, command):
        handler = handlers.COMMAND_HANDLERS[type(command)]
        return _inject(handler, {**self.dependencies, "uow": self.uow()})(command)

    def handle_event(self, event, uow):
        return _inject(handlers.EVENT_HANDLERS[type(event)], {**self.dependencies, "uow": uow})(event)

    def query(self, handler: Callable, *args):
        return _inject(handler, {**self.dependencies, "uow": self.uow()})(*args)


def bootstrap(config: Config | None = None, *, sealer=None, clock: Callable = utcnow, publisher=None,
              create_schema: bool = True) -> App:
    config = config or Config.from_env()
    engine = make_engine(config.common.database_url)
    if create_schema:
        orm.metadata.create_all(engine)
    sessions = session_factory(engine)
    relay = OutboxRelay(engine, orm.outbox, publisher or Publisher(config.common.broker_url))
    if sealer is None:
        from services.signature.adapters.seal import PdfSealer

        sealer = PdfSealer(config.key_dir, config.timezone)

    def uow() -> UnitOfWork:
        return UnitOfWork(sessions, orm.outbox, orm.inbox, relay)

    dependencies = {"blobs": FolderBlobStore(config.common.blob_dir), "sealer": sealer, "clock": clock}
    return App(config=config, engine=engine, relay=relay, uow=uow, dependencies=dependencies)
