"""The quotes service in-process over real gRPC, on a SQLite file and on PostgreSQL."""
from __future__ import annotations

import uuid
from dataclasses import replace

import pytest
from sqlalchemy import create_engine, text

from quoteflow import client
from quoteflow.auth import KeyRing, hash_key, new_key
from quoteflow.config import CommonConfig
from quoteflow.grpcserver import build_server
from quoteflow.v1 import quotes_pb2, quotes_pb2_grpc
from services.quotes.bootstrap import bootstrap
from services.quotes.config import Config

ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'quotes.db'}"
        return
    name = f"qf_quotes_{uuid.uuid4().hex[:10]}"
    admin = create_engine(ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def service(database_url, tmp_path):
    """(app, stub factory by tenant): two tenants with their own keys."""
    keys = {"tenant-a": new_key(), "tenant-b": new_key()}
    common = replace(CommonConfig.from_env("quotes"), database_url=database_url, blob_dir=tmp_path / "blobs",
                     api_keys=",".join(f"{t}:{hash_key(k)}" for t, k in keys.items()))
    config = Config(common=common, grpc_address="127.0.0.1:0", portal_base_url="https://devis.example.fr")
    app = bootstrap(config)
    from services.quotes.entrypoints.grpc_api import QuoteServicer

    server, port, _ = build_server(
        "127.0.0.1:0", [lambda s: quotes_pb2_grpc.add_QuoteServiceServicer_to_server(QuoteServicer(app), s)],
        ["quoteflow.v1.QuoteService"], KeyRing.from_config(common.api_keys, ""))
    server.start()
    yield app, lambda tenant: client.quotes(f"127.0.0.1:{port}", keys[tenant])
    server.stop(0).wait()
    app.engine.dispose()
