"""The notifier's unit of work: repositories on one transaction; wakes the dispatcher (and the relay) after commit."""
from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from quoteflow.uow import SqlUnitOfWork, Wakeable
from services.notifier.adapters import orm


class NotifierUnitOfWork(SqlUnitOfWork):
    def __init__(self, sessions: sessionmaker[Session], dispatcher: Wakeable | None = None,
                 relay: Wakeable | None = None):
        super().__init__(sessions, orm.outbox, orm.inbox, relay)
        self._dispatcher = dispatcher

    def _open(self, session: Session) -> None:
        self.deliveries = orm.DeliveryRepository(session)
        self.preferences = orm.PreferencesRepository(session)
        self.sent_quotes = orm.SentQuoteRepository(session)
        self.templates = orm.TemplateRepository(session)
        self.digests = {action: orm.DigestRepository(session, action) for action in orm.DIGEST_TABLES}
        self.closures = orm.ClosureRepository(session)
        self.wake_dispatcher = False

    def commit(self) -> None:
        wake = self.deliveries.added or self.wake_dispatcher
        super().commit()
        self.deliveries.added = 0
        self.wake_dispatcher = False
        if wake and self._dispatcher is not None:
            self._dispatcher.wake()
