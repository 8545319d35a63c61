from quoteflow.migrations import differences, upgrade
from services.quotes.adapters import orm
from services.quotes.bootstrap import MIGRATIONS


def test_migrations_build_exactly_the_declared_schema_and_rerun_safely(service):
    app, _ = service  # bootstrap already upgraded the database
    upgrade(app.engine, MIGRATIONS)
    assert differences(app.engine, orm.metadata) == []
