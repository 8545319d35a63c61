"""Alembic builds exactly the declared schema, on SQLite and PostgreSQL, and adopts a wave-1 database."""
import subprocess
import sys
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import inspect, select

from quoteflow.db import make_engine
from quoteflow.migrations import differences, upgrade
from services.notifier.adapters import orm
from services.notifier.bootstrap import MIGRATIONS, bootstrap, migrate
from tests.support.backends import private_databases

ROOT = Path(__file__).resolve().parents[3]


def test_sqlite_schema_matches_and_reruns_safely(app):
    upgrade(app.engine, MIGRATIONS)
    assert differences(app.engine, orm.metadata) == []
    assert "alembic_version" in inspect(app.engine).get_table_names()


def test_postgresql_schema_matches(cfg):
    from dataclasses import replace

    with private_databases(["notifier"]) as urls:
        app = bootstrap(replace(cfg, common=replace(cfg.common, database_url=urls["notifier"])))
        try:
            assert differences(app.engine, orm.metadata) == []
            migrate(app.engine)  # idempotent
        finally:
            app.engine.dispose()


def test_a_database_made_by_wave_one_create_all_is_adopted_and_upgraded(tmp_path):
    """Wave 1 created its tables without Alembic: they are stamped 0001, then upgraded, rows kept."""
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    command.upgrade(config, "0001")  # exactly wave 1's tables ...
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE alembic_version")  # ... as create_all left them
        conn.exec_driver_sql("INSERT INTO sent_quotes VALUES ('t', 'q', 1, 'DV-1', '12.00', 'EUR')")
    migrate(engine)
    assert differences(engine, orm.metadata) == []
    with engine.connect() as conn:
        row = conn.execute(select(orm.sent_quotes)).one()
    assert (row.number, row.variables) == ("DV-1", "{}")
    engine.dispose()


def test_the_migrate_command(tmp_path):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'n.db'}", "QUOTEFLOW_VAR": str(tmp_path), "PATH": "/usr/bin"}
    done = subprocess.run([sys.executable, "-m", "services.notifier", "migrate"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    engine = make_engine(env["DATABASE_URL"])
    assert differences(engine, orm.metadata) == []
    engine.dispose()
