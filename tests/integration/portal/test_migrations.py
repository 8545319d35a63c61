"""The portal's schema is Alembic's: upgrading builds exactly the tables the code declares, on SQLite
and PostgreSQL, reruns safely, and 0002 keeps what a wave-1 (0001) database held."""
from __future__ import annotations

import json
from datetime import datetime, timezone

from alembic import command
from sqlalchemy import inspect, insert, select, text

from quoteflow.db import make_engine
from quoteflow.migrations import _config, differences, upgrade
from services.portal.adapters import orm
from services.portal.bootstrap import MIGRATIONS
from tests.support.backends import private_databases


def check(engine):
    upgrade(engine, MIGRATIONS)
    upgrade(engine, MIGRATIONS)  # idempotent
    assert differences(engine, orm.metadata) == []
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0004"


def test_sqlite_upgrade_matches_the_declared_tables(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'portal.db'}")
    try:
        check(engine)
    finally:
        engine.dispose()


def test_postgresql_upgrade_matches_the_declared_tables():
    with private_databases(["portal"], "qf_portal") as urls:
        engine = make_engine(urls["portal"])
        try:
            check(engine)
        finally:
            engine.dispose()


def test_0002_keeps_the_links_and_versions_of_a_0001_database(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'portal.db'}")
    try:
        command.upgrade(_config(engine, MIGRATIONS), "0001")
        assert "views" not in inspect(engine).get_table_names()
        now = datetime(2025, 3, 6, tzinfo=timezone.utc)
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO links (token_sha256, tenant, quote_id, version, recipient, expires_at, superseded, "
                "created_at) VALUES (:h, 't', 'q', 1, :r, NULL, 0, :now)"),
                {"h": "a" * 64, "r": json.dumps({"email": "zoe@example.fr"}), "now": now})
            conn.execute(text(
                "INSERT INTO versions (tenant, quote_id, version, number, snapshot, pdf_sha256, signature_requested, "
                "assignee, status, signer_name, signed_at, signed_pdf_sha256) VALUES ('t', 'q', 1, 'DV-1', '{}', "
                ":sha, 1, '{}', 'open', '', NULL, '')"), {"sha": "b" * 64})
        upgrade(engine, MIGRATIONS)
        with engine.connect() as conn:
            link = conn.execute(select(orm.links)).mappings().one()
            version = conn.execute(select(orm.versions)).mappings().one()
        assert link["recipient"] == {"email": "zoe@example.fr"} and link["revoked"] is False
        assert link["code_channel"] == "" and link["code_expires_at"] is None
        assert version["number"] == "DV-1" and version["signature_otp"] == "" and version["decline_reason"] == ""
        with engine.begin() as conn:
            conn.execute(insert(orm.views).values(view_id="v", token_sha256="a" * 64, trigger="page",
                                                  confirmed_at=now))
    finally:
        engine.dispose()
