"""The one place that wires the signature service: bootstrap(...) injects dependencies by name."""
from __future__ import annotations

import inspect
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any, Callable

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from quoteflow.apikeys import KeyReplica
from quoteflow.blobs import FolderBlobStore
from quoteflow.bus import Publisher
from quoteflow.config import production
from quoteflow.db import make_engine, session_factory
from quoteflow.envelope import utcnow
from quoteflow.migrations import upgrade
from quoteflow.outbox import OutboxRelay
from quoteflow.typeset import font_chain
from quoteflow.uow import SqlUnitOfWork
from services.signature import handlers
from services.signature.adapters import orm
from services.signature.adapters.repository import RequestRepository
from services.signature.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
log = logging.getLogger("services.signature")


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
    keys: KeyReplica | None = None  # this service's copy of the API keys quotes issues

    def handle(self, command):
        handler = handlers.COMMAND_HANDLERS[type(command)]
        return _inject(handler, {**self.dependencies, "uow": self.uow()})(command)

    def handle_event(self, event, uow):
        return _inject(handlers.EVENT_HANDLERS[type(event)], {**self.dependencies, "uow": uow})(event)

    def query(self, handler: Callable, *args):
        return _inject(handler, {**self.dependencies, "uow": self.uow()})(*args)


def adopt_unversioned(engine: Engine) -> None:
    """A database made by ``create_all`` before migrations existed is the 0001 schema: record it as such."""
    from alembic import command
    from alembic.config import Config as AlembicConfig
    from sqlalchemy import inspect as inspect_db

    tables = set(inspect_db(engine).get_table_names())
    if "signature_requests" in tables and "alembic_version" not in tables:
        config = AlembicConfig()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["engine"] = engine
        command.stamp(config, "0001")


def signed_count(engine: Engine) -> int:
    """How many quotes were signed: a seal key may be made from scratch only while there are none."""
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(orm.requests)
                            .where(orm.requests.c.signed_at.is_not(None))).scalar_one()


def make_sealer(config: Config, *, signed_before: Callable[[], int] | None = None):
    """The PdfSealer the configuration asks for: its key (made or given), its timestamp authority, the
    certificates it trusts. ``signed_before`` counts signed quotes (a lost key is then not remade)."""
    from services.signature.adapters.seal import PdfSealer

    timestamper = tsa_trust = None
    if not config.tsa_url and production():
        log.warning("SIGNATURE_TSA_URL=none: seals carry no RFC 3161 timestamp; their time is only this "
                    "server's clock and PDF readers show no trusted signing time")
    if config.tsa_url:
        from pyhanko.sign.timestamps.requests_client import RequestsHTTPTimeStamper

        timestamper = RequestsHTTPTimeStamper(config.tsa_url, timeout=config.tsa_timeout)
    if config.tsa_trust_file:
        from pyhanko.keys import load_certs_from_pemder

        tsa_trust = list(load_certs_from_pemder([str(config.tsa_trust_file)]))
    return PdfSealer(config.key_dir, config.timezone, key_file=config.key_file, cert_file=config.cert_file,
                     passphrase=config.key_passphrase.encode() if config.key_passphrase else None,
                     timestamper=timestamper, tsa_trust=tsa_trust, trusted_certs=config.trusted_cert_files,
                     signed_before=signed_before, ca_certs=config.ca_cert_files)


def bootstrap(config: Config | None = None, *, sealer=None, clock: Callable = utcnow, publisher=None,
              create_schema: bool = True) -> App:
    config = config or Config.from_env()
    engine = make_engine(config.common.database_url)
    if create_schema:
        adopt_unversioned(engine)
        upgrade(engine, MIGRATIONS)
    sessions = session_factory(engine)
    relay = OutboxRelay(engine, orm.outbox, publisher or Publisher(config.common.broker_url))
    if sealer is None:
        sealer = make_sealer(config, signed_before=lambda: signed_count(engine))

    def uow() -> UnitOfWork:
        return UnitOfWork(sessions, orm.outbox, orm.inbox, relay)

    dependencies = {"blobs": FolderBlobStore(config.common.blob_dir), "sealer": sealer, "clock": clock,
                    "code_policy": config.code_policy, "seal_key": config.seal_key,
                    "opened_window": timedelta(seconds=config.opened_window_seconds), "printable": font_chain()}
    return App(config=config, engine=engine, relay=relay, uow=uow, dependencies=dependencies,
               keys=KeyReplica(engine, orm.api_keys, orm.outbox, orm.inbox))
