"""Alembic builds exactly the declared schema, on SQLite and PostgreSQL, and adopts a pre-migration database."""
import uuid
from datetime import datetime, timezone

import pytest
from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.script import ScriptDirectory
from sqlalchemy import text

from quoteflow.db import make_engine
from quoteflow.migrations import differences, upgrade
from services.signature.adapters import orm
from services.signature.bootstrap import MIGRATIONS, bootstrap
from services.signature.domain import model
from tests.integration.signature.support import make_config
from tests.support.backends import private_databases


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'signature.db'}"
        return
    with private_databases(["signature"], prefix="qf_sig") as urls:
        yield urls["signature"]


def test_migrations_build_exactly_the_declared_schema_and_rerun_safely(database_url, tmp_path):
    app = bootstrap(make_config(tmp_path, database_url))
    try:
        upgrade(app.engine, MIGRATIONS)
        assert differences(app.engine, orm.metadata) == []
        with app.engine.connect() as conn:
            head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == head
    finally:
        app.engine.dispose()


def test_a_database_made_before_migrations_is_adopted_and_keeps_its_requests(database_url, tmp_path):
    """Wave-1 databases were made by create_all: they are the 0001 schema without alembic_version."""
    engine = make_engine(database_url)
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    command.upgrade(config, "0001")
    request_id = str(uuid.uuid4())
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE alembic_version"))
        conn.execute(text(
            "INSERT INTO signature_requests (id, tenant, quote_id, number, version, document_sha256, signer, "
            "assignee, amount_ttc, currency, consent_text, status, created_at, signer_name, signer_email, "
            "signer_contact_id, signed_ip, signed_user_agent, signed_consent_text, evidence_sha256, "
            "signed_pdf_sha256, proof_sha256) VALUES (:id, 't', 'q-1', 'DV-1', 1, :doc, '{}', '{}', '10', 'EUR', "
            "'En signant…', 'open', :at, '', '', '', '', '', '', '', '', '')"),
            {"id": request_id, "doc": "d" * 64, "at": datetime(2026, 11, 1, tzinfo=timezone.utc)})
    engine.dispose()

    app = bootstrap(make_config(tmp_path, database_url))
    try:
        assert differences(app.engine, orm.metadata) == []
        with app.uow() as uow:
            kept = uow.requests.get("t", request_id)
        assert kept.status == model.OPEN and kept.otp_channel == "" and kept.expires_at is None
        assert kept.codes == [] and kept.declined is None
    finally:
        app.engine.dispose()
