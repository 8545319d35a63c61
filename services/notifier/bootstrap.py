"""The ONE place that wires the notifier: database, templates, transports, handlers, dispatcher."""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Callable

from sqlalchemy.engine import Engine

from quoteflow.blobs import FolderBlobStore
from quoteflow.db import make_engine, session_factory
from services.notifier import handlers
from services.notifier.adapters import orm
from services.notifier.adapters.mail import MailTransport, build_transport
from services.notifier.adapters.sms import SmsSender, build_sms
from services.notifier.adapters.templates import TemplateRenderer
from services.notifier.adapters.unit_of_work import NotifierUnitOfWork
from services.notifier.config import NotifierConfig
from services.notifier.domain.model import RetryPolicy
from services.notifier.entrypoints.dispatcher import Dispatcher


@dataclass
class Notifier:
    cfg: NotifierConfig
    engine: Engine
    renderer: TemplateRenderer
    mail: MailTransport
    sms: SmsSender
    dispatcher: Dispatcher
    uow: Callable[[], NotifierUnitOfWork]
    handle_event: Callable
    dispatch_due: Callable[[], int]
    preview_email: Callable
    get_preferences: Callable
    set_preferences: Callable
    list_deliveries: Callable


def bootstrap(cfg: NotifierConfig | None = None, *, mail: MailTransport | None = None,
              sms: SmsSender | None = None, renderer: TemplateRenderer | None = None,
              engine: Engine | None = None) -> Notifier:
    """Builds the notifier; creates its tables. Nothing is started: ``__main__`` runs the loops."""
    cfg = cfg or NotifierConfig.from_env()
    engine = engine or make_engine(cfg.common.database_url)
    orm.metadata.create_all(engine)
    sessions = session_factory(engine)
    renderer = renderer or TemplateRenderer()
    mail = mail or build_transport(cfg)
    sms = sms or build_sms(cfg)
    blobs = FolderBlobStore(cfg.common.blob_dir)
    policy = RetryPolicy(max_attempts=cfg.send_attempts, base_seconds=cfg.retry_base_seconds)

    dispatcher_ref: list[Dispatcher] = []

    class _Wake:
        def wake(self) -> None:
            dispatcher_ref[0].wake()

    def uow() -> NotifierUnitOfWork:
        return NotifierUnitOfWork(sessions, _Wake())

    dispatch_due = lambda: handlers.dispatch_due(uow(), mail, sms, cfg, policy)  # noqa: E731
    dispatcher = Dispatcher(dispatch_due, lambda: handlers.next_due(uow()), sweep_seconds=cfg.sweep_seconds)
    dispatcher_ref.append(dispatcher)

    event_handlers = {
        "quote.sent": lambda e: handlers.on_quote_sent(e, uow(), renderer, blobs, cfg),
        "portal.quote_viewed": lambda e: handlers.on_quote_viewed(e, uow(), renderer, cfg),
        "portal.quote_downloaded": lambda e: handlers.on_quote_downloaded(e, uow(), renderer, cfg),
        "signature.completed": lambda e: handlers.on_signature_completed(e, uow(), renderer, cfg),
    }
    return Notifier(
        cfg=cfg, engine=engine, renderer=renderer, mail=mail, sms=sms, dispatcher=dispatcher, uow=uow,
        handle_event=partial(handlers.handle_event, handlers=event_handlers),
        dispatch_due=dispatch_due,
        preview_email=lambda template, variables: handlers.preview_email(template, variables, renderer),
        get_preferences=lambda tenant, user_id: handlers.get_preferences(tenant, user_id, uow()),
        set_preferences=lambda tenant, prefs: handlers.set_preferences(tenant, prefs, uow()),
        list_deliveries=lambda tenant, quote_id: handlers.list_deliveries(tenant, quote_id, uow()),
    )
