"""The notifier's unit of work: repositories on one transaction; wakes the dispatcher after commit."""
from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from quoteflow.uow import SqlUnitOfWork, Wakeable
from services.notifier.adapters import orm


class NotifierUnitOfWork(SqlUnitOfWork):
    def __init__(self, sessions: sessionmaker[Session], dispatcher: Wakeable | None = None):
        super().__init__(sessions, orm.outbox, orm.inbox)
        self._dispatcher = dispatcher

    def _open(self, session: Session) -> None:
        self.deliveries = orm.DeliveryRepository(session)
        self.preferences = orm.PreferencesRepository(session)
        self.sent_quotes = orm.SentQuoteRepository(session)

    def commit(self) -> None:
        added = self.deliveries.added
        super().commit()
        self.deliveries.added = 0
        if added and self._dispatcher is not None:
            self._dispatcher.wake()
