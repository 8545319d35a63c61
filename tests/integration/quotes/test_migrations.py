"""Alembic revisions build exactly the declared schema, rerun safely, and carry existing data to 0002."""
import uuid

from alembic import command
from sqlalchemy import select

from quoteflow.db import make_engine
from quoteflow.migrations import _config, differences, upgrade
from services.quotes.adapters import orm
from services.quotes.bootstrap import MIGRATIONS


def test_migrations_build_exactly_the_declared_schema_and_rerun_safely(service):
    app, _ = service  # bootstrap already upgraded the database
    upgrade(app.engine, MIGRATIONS)
    assert differences(app.engine, orm.metadata) == []


def test_a_database_of_revision_0001_with_quotes_upgrades_with_its_totals_filled(empty_database_url):
    engine = make_engine(empty_database_url)
    try:
        command.upgrade(_config(engine, MIGRATIONS), "0001")
        quote_id = str(uuid.uuid4())
        lines = [{"description": "Audit", "quantity": "2", "unit": "", "unit_price": "617.28",
                  "discount_percent": "0", "vat_rate": "20", "product_ref": ""},
                 {"description": "Remise", "quantity": "1.5", "unit": "", "unit_price": "0.05",
                  "discount_percent": "0", "vat_rate": "5.5", "product_ref": ""}]
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO quotes (id, tenant, number, status, account_id, contact_id, assignee_id, title, lines, "
                "valid_until, terms, created_at, view_count, download_count) VALUES "
                f"('{quote_id}', 't', 'DV-2026-00001', 'Envoyé', 'a', 'c', 'u', 'T', '{_json(lines)}', "
                "'2026-12-31', '', '2026-11-29 00:00:00+00:00', 3, 1)")
            conn.exec_driver_sql(
                "INSERT INTO quote_versions (quote_id, number, content_sha256, pdf_sha256, sent_at, recipient_email) "
                f"VALUES ('{quote_id}', 2, '{'c' * 64}', '{'p' * 64}', '2026-11-29 00:00:00+00:00', 'c@x.fr')")
        upgrade(engine, MIGRATIONS)
        assert differences(engine, orm.metadata) == []
        with engine.connect() as conn:
            row = conn.execute(select(orm.quotes).where(orm.quotes.c.id == quote_id)).mappings().one()
        assert (row["total_ht_cents"], row["total_vat_cents"], row["total_ttc_cents"]) == (123464, 24691, 148155)
        assert (row["last_version"], row["unsent_changes"], row["deal_id"]) == (2, False, "")
    finally:
        engine.dispose()


def _json(value) -> str:
    import json

    return json.dumps(value).replace("'", "''")
