"""The quotes service in-process over real gRPC, on a SQLite file and on PostgreSQL."""
from __future__ import annotations

import contextlib
import uuid
from dataclasses import replace

import pytest

from quoteflow import client
from quoteflow.auth import KeyRing, hash_key, new_key
from quoteflow.config import CommonConfig
from quoteflow.db import make_engine
from quoteflow.grpcserver import build_server
from quoteflow.migrations import upgrade
from quoteflow.v1 import quotes_pb2_grpc
from services.quotes.bootstrap import MIGRATIONS, bootstrap
from services.quotes.config import Config
from tests.support.backends import POSTGRES_ADMIN_URL, private_databases


@pytest.fixture(scope="session")
def migrated_template():
    """A private PostgreSQL database at the newest revision, cloned by each test (faster than migrating)."""
    with private_databases(["template"], "qf_quotes_tpl") as urls:
        engine = make_engine(urls["template"])
        upgrade(engine, MIGRATIONS)
        engine.dispose()
        yield urls["template"]


@contextlib.contextmanager
def _clone(template_url: str):
    from sqlalchemy import create_engine, text

    template = template_url.rsplit("/", 1)[1]
    name = f"qf_quotes_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
        yield template_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """A migrated, empty quotes database: a SQLite file, or a private PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'quotes.db'}"
        return
    with _clone(request.getfixturevalue("migrated_template")) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request, tmp_path):
    """A database without any table yet."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    with private_databases(["quotes"], "qf_quotes") as urls:
        yield urls["quotes"]


def make_config(database_url: str, tmp_path, keys: dict[str, str]) -> Config:
    common = replace(CommonConfig.from_env("quotes"), database_url=database_url, blob_dir=tmp_path / "blobs",
                     api_keys=",".join(f"{t}:{hash_key(k)}" for t, k in keys.items()))
    return Config(common=common, grpc_address="127.0.0.1:0", portal_base_url="https://devis.example.fr",
                  link_secret="test-link-secret")


@pytest.fixture
def service(database_url, tmp_path):
    """(app, stub factory by tenant): two tenants with their own keys."""
    keys = {"tenant-a": new_key(), "tenant-b": new_key()}
    config = make_config(database_url, tmp_path, keys)
    app = bootstrap(config)
    from services.quotes.entrypoints.grpc_api import QuoteServicer

    server, port, _ = build_server(
        "127.0.0.1:0", [lambda s: quotes_pb2_grpc.add_QuoteServiceServicer_to_server(QuoteServicer(app), s)],
        ["quoteflow.v1.QuoteService"], KeyRing.from_config(config.common.api_keys, ""))
    server.start()
    yield app, lambda tenant: client.quotes(f"127.0.0.1:{port}", keys[tenant])
    server.stop(0).wait()
    app.engine.dispose()
