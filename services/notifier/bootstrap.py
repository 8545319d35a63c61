"""The ONE place that wires the notifier: database, templates, transports, clock, handlers, dispatcher, relay."""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Callable

from alembic import command
from alembic.config import Config
from sqlalchemy import inspect
from sqlalchemy.engine import Engine

from quoteflow.apikeys import KeyReplica
from quoteflow.blobs import FolderBlobStore
from quoteflow.db import make_engine, session_factory
from quoteflow.migrations import upgrade
from quoteflow.outbox import OutboxRelay
from services.notifier import handlers
from services.notifier.adapters import orm
from services.notifier.adapters.clock import SystemClock
from services.notifier.adapters.mail import MailTransport, build_transport
from services.notifier.adapters.sms import SmsSender, build_sms
from services.notifier.adapters.templates import TemplateRenderer
from services.notifier.adapters.unit_of_work import NotifierUnitOfWork
from services.notifier.config import NotifierConfig
from services.notifier.domain.model import RetryPolicy
from services.notifier.entrypoints.dispatcher import Dispatcher

MIGRATIONS = Path(__file__).parent / "migrations"


@dataclass
class Notifier:
    cfg: NotifierConfig
    engine: Engine
    renderer: TemplateRenderer
    mail: MailTransport
    sms: SmsSender
    clock: object
    dispatcher: Dispatcher
    relay: OutboxRelay | None
    blobs: FolderBlobStore
    uow: Callable[[], NotifierUnitOfWork]
    handle_event: Callable
    dispatch_due: Callable[[], int]
    preview_email: Callable
    list_templates: Callable
    get_template: Callable
    save_template: Callable
    list_template_versions: Callable
    get_preferences: Callable
    set_preferences: Callable
    list_deliveries: Callable
    keys: KeyReplica | None = None  # this service's copy of the API keys quotes issues


def migrate(engine: Engine) -> None:
    """Brings the schema to the newest revision; a database made by wave 1's create_all is adopted as 0001."""
    tables = inspect(engine).get_table_names()
    if "deliveries" in tables and "alembic_version" not in tables:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["engine"] = engine
        command.stamp(config, "0001")
    upgrade(engine, MIGRATIONS)


def bootstrap(cfg: NotifierConfig | None = None, *, mail: MailTransport | None = None,
              sms: SmsSender | None = None, renderer: TemplateRenderer | None = None,
              engine: Engine | None = None, clock=None, publisher=None, create_schema: bool = True) -> Notifier:
    """Builds the notifier and migrates its database. Nothing is started: ``__main__`` runs the loops.

    ``publisher`` (a kernel Publisher) enables the outbox relay for notification.* events; without it
    the events wait in the outbox. ``clock`` defaults to the system's (tests pass a ManualClock).
    """
    cfg = cfg or NotifierConfig.from_env()
    engine = engine or make_engine(cfg.common.database_url)
    if create_schema:
        migrate(engine)
    sessions = session_factory(engine)
    renderer = renderer or TemplateRenderer()
    mail = mail or build_transport(cfg)
    sms = sms or build_sms(cfg)
    clock = clock or SystemClock()
    blobs = FolderBlobStore(cfg.common.blob_dir)
    policy = RetryPolicy(max_attempts=cfg.send_attempts, base_seconds=cfg.retry_base_seconds)
    relay = OutboxRelay(engine, orm.outbox, publisher) if publisher is not None else None

    dispatcher_ref: list[Dispatcher] = []

    class _Wake:
        def wake(self) -> None:
            dispatcher_ref[0].wake()

    def uow() -> NotifierUnitOfWork:
        return NotifierUnitOfWork(sessions, _Wake(), relay)

    dispatch_due = lambda: handlers.dispatch_due(uow(), renderer, mail, sms, blobs, cfg, policy, clock)  # noqa: E731
    dispatcher = Dispatcher(dispatch_due, lambda: handlers.next_due(uow()), clock, sweep_seconds=cfg.sweep_seconds)
    dispatcher_ref.append(dispatcher)

    event_handlers = {
        "quote.sent": lambda e: handlers.on_quote_sent(e, uow(), renderer, blobs, cfg, clock),
        "quote.assignee_changed": lambda e: handlers.on_assignee_changed(e, uow()),
        "portal.quote_viewed": lambda e: handlers.on_quote_viewed(e, uow(), renderer, cfg, clock),
        "portal.quote_downloaded": lambda e: handlers.on_quote_downloaded(e, uow(), renderer, cfg, clock),
        "signature.completed": lambda e: handlers.on_signature_completed(e, uow(), renderer, blobs, cfg, clock),
        "signature.declined": lambda e: handlers.on_signature_declined(e, uow(), renderer, cfg, clock),
        "signature.code_requested": lambda e: handlers.on_code_requested(e, uow(), renderer, cfg, clock),
    }
    return Notifier(
        cfg=cfg, engine=engine, renderer=renderer, mail=mail, sms=sms, clock=clock, dispatcher=dispatcher,
        relay=relay, blobs=blobs, uow=uow,
        handle_event=partial(handlers.handle_event, handlers=event_handlers),
        dispatch_due=dispatch_due,
        preview_email=lambda tenant, template, variables, **options: handlers.preview_email(
            tenant, template, variables, uow(), renderer, **options),
        list_templates=lambda tenant: handlers.list_templates(tenant, uow()),
        get_template=lambda tenant, name, version=0: handlers.get_template(tenant, name, version, uow()),
        save_template=lambda tenant, name, content, base="", expected_version=0, saved_by="": (
            handlers.save_template(tenant, name, base, content, expected_version, saved_by, uow(), renderer, clock)),
        list_template_versions=lambda tenant, name: handlers.list_template_versions(tenant, name, uow()),
        get_preferences=lambda tenant, user_id: handlers.get_preferences(tenant, user_id, uow()),
        set_preferences=lambda tenant, prefs: handlers.set_preferences(tenant, prefs, uow(), clock),
        list_deliveries=lambda tenant, quote_id: handlers.list_deliveries(tenant, quote_id, uow()),
        keys=KeyReplica(engine, orm.api_keys, orm.outbox, orm.inbox),
    )
