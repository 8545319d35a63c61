"""The portal's unit of work (one transaction over the read model and the outbox), and its read-only twin."""
from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from quoteflow.uow import SqlUnitOfWork
from services.portal.adapters.repository import ReadModelRepository


class PortalUnitOfWork(SqlUnitOfWork):
    read_model: ReadModelRepository

    def _open(self, session: Session) -> None:
        self.read_model = ReadModelRepository(session)


class ReadOnlyReadModel:
    """Shows a page without a transaction: on PostgreSQL the lookup is one autocommit round trip
    (no BEGIN/ROLLBACK around it); elsewhere an ordinary connection. Used as ``with reader: ...``."""

    read_model: ReadModelRepository

    def __init__(self, engine: Engine):
        self.engine = engine
        self._connection = None

    def __enter__(self):
        options = {"isolation_level": "AUTOCOMMIT"} if self.engine.dialect.name == "postgresql" else {}
        self._connection = self.engine.connect().execution_options(**options)
        self.read_model = ReadModelRepository(self._connection)
        return self

    def __exit__(self, *exc):
        self._connection.close()
        self._connection = None
