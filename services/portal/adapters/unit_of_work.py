"""The portal's unit of work: one transaction over the read model and the outbox."""
from __future__ import annotations

from sqlalchemy.orm import Session

from quoteflow.uow import SqlUnitOfWork
from services.portal.adapters.repository import ReadModelRepository


class PortalUnitOfWork(SqlUnitOfWork):
    read_model: ReadModelRepository

    def _open(self, session: Session) -> None:
        self.read_model = ReadModelRepository(session)
