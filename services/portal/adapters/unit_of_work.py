"""The portal's unit of work (one transaction over the read model and the outbox), and its read-only twin."""
from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from quoteflow.uow import SqlUnitOfWork
from services.portal.adapters.repository import DriverReadModel, ReadModelRepository, Remembered


class PortalUnitOfWork(SqlUnitOfWork):
    read_model: ReadModelRepository

    def __init__(self, *args, remembered: Remembered | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.remembered = remembered

    def _open(self, session: Session) -> None:
        self.read_model = ReadModelRepository(session, self.remembered)

    def commit(self) -> None:
        super().commit()
        # This process forgets at once what it just changed (the database's notice follows, for the others).
        if self.remembered is not None:
            for quote in self.read_model.touched:
                self.remembered.rows.changed(quote)
        self.read_model.touched.clear()


class ReadOnlyReadModel:
    """Shows a page without a transaction. On PostgreSQL the lookup is one autocommit round trip on a
    pooled connection's driver (:class:`DriverReadModel`: no BEGIN/ROLLBACK, no SQLAlchemy execution
    machinery), taken from the pool only if the rows kept in memory do not answer; elsewhere an
    ordinary connection. Used as ``with reader: ...``."""

    read_model: ReadModelRepository

    def __init__(self, engine: Engine, remembered: Remembered | None = None, *, kept: bool = True):
        self.engine = engine
        self.remembered = remembered
        self.kept = kept  # False: read the database even if the row is kept (DriverReadModel)
        self._connection = None

    def __enter__(self):
        if self.engine.dialect.name == "postgresql":
            self.read_model = DriverReadModel(self._driver_connection, self.engine.dialect, self.remembered,
                                              kept=self.kept)
        else:
            self._connection = self.engine.connect()
            self.read_model = ReadModelRepository(self._connection, self.remembered)
        return self

    def view_counted(self, view_id: str) -> bool:
        """True when this process already knows the view ``view_id`` counted (no query: a confirmed view
        stays confirmed); False means it may or may not be."""
        return self.remembered is not None and self.remembered.view_counted(view_id)

    def _driver_connection(self):
        if self._connection is None:
            self._connection = self.engine.raw_connection()
            self._connection.driver_connection.autocommit = True
        return self._connection.driver_connection

    def __exit__(self, exc_type, exc, tb):
        connection, self._connection = self._connection, None
        if connection is None:
            return
        if self.engine.dialect.name != "postgresql":
            connection.close()
            return
        try:
            connection.driver_connection.autocommit = False  # as the pool lends it to everyone else
        except Exception:  # noqa: BLE001 -- a broken connection: the pool must not lend it again
            connection.invalidate()
        connection.close()
