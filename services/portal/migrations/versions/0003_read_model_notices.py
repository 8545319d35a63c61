"""changes of links and versions notified (PostgreSQL): web processes keep lookup rows until told

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 12:20:00

Each insert, update or delete of a ``links`` or ``versions`` row sends, when its transaction commits,
``NOTIFY portal_read_model, '["<tenant>", "<quote id>"]'``; a TRUNCATE sends ``'*'``. The web
processes' listeners (services/portal/adapters/fresh.py) drop what they kept of that quote.
SQLite has no notifications: there the web processes keep nothing and this revision does nothing.
"""
from typing import Sequence, Union

from alembic import op

revision: str = '0003'
down_revision: Union[str, Sequence[str], None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

TABLES = ("links", "versions")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("""
        CREATE OR REPLACE FUNCTION portal_read_model_changed() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_LEVEL = 'STATEMENT' THEN
                PERFORM pg_notify('portal_read_model', '*');
            ELSIF TG_OP = 'DELETE' THEN
                PERFORM pg_notify('portal_read_model', json_build_array(OLD.tenant, OLD.quote_id)::text);
            ELSE
                PERFORM pg_notify('portal_read_model', json_build_array(NEW.tenant, NEW.quote_id)::text);
                IF TG_OP = 'UPDATE' AND (OLD.tenant, OLD.quote_id) IS DISTINCT FROM (NEW.tenant, NEW.quote_id) THEN
                    PERFORM pg_notify('portal_read_model', json_build_array(OLD.tenant, OLD.quote_id)::text);
                END IF;
            END IF;
            RETURN NULL;
        END
        $$
    """)
    for table in TABLES:
        op.execute(f"CREATE TRIGGER {table}_changed AFTER INSERT OR UPDATE OR DELETE ON {table} "
                   f"FOR EACH ROW EXECUTE FUNCTION portal_read_model_changed()")
        op.execute(f"CREATE TRIGGER {table}_truncated AFTER TRUNCATE ON {table} "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION portal_read_model_changed()")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_truncated ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_changed ON {table}")
    op.execute("DROP FUNCTION IF EXISTS portal_read_model_changed()")
