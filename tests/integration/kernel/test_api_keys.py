"""API keys in the database: quotes issues and revokes them, a service's copy follows the events."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import MetaData, select

from quoteflow.apikeys import KeyIssuer, KeyReplica, KeyTable, add_api_keys_table
from quoteflow.auth import KeyRing, hash_key, new_key
from quoteflow.db import add_kernel_tables, make_engine
from quoteflow.envelope import Envelope
from quoteflow.errors import FailedPrecondition, InvalidArgument, NotFound
from quoteflow.migrations import differences, upgrade


def _tables(url: str):
    engine = make_engine(url)
    metadata = MetaData()
    outbox, inbox = add_kernel_tables(metadata)
    keys = add_api_keys_table(metadata)
    metadata.create_all(engine)
    return engine, keys, outbox, inbox


@pytest.fixture
def issuer(tmp_path):
    engine, keys, outbox, inbox = _tables(f"sqlite:///{tmp_path / 'quotes.db'}")
    yield KeyIssuer(engine, keys, outbox, inbox)
    engine.dispose()


@pytest.fixture
def replica(tmp_path):
    engine, keys, outbox, inbox = _tables(f"sqlite:///{tmp_path / 'notifier.db'}")
    yield KeyReplica(engine, keys, outbox, inbox)
    engine.dispose()


def _events(issuer) -> list[Envelope]:
    with issuer.engine.connect() as conn:
        return [Envelope.from_json(body) for body in conn.execute(
            select(issuer._outbox.c.body).order_by(issuer._outbox.c.id)).scalars()]


def test_a_created_key_authenticates_its_tenant_and_is_stored_and_published_only_as_a_hash(issuer):
    key, raw = issuer.create("acme", label="CRM production")
    assert raw.startswith("qf_") and key.prefix == raw[:10] and key.key_id.startswith("ak_")
    assert issuer.tenant_of(hash_key(raw)) == "acme"
    assert KeyRing({}, "svc", issuer).resolve(raw).tenant == "acme"

    [event] = _events(issuer)
    assert event.type == "apikey.created" and event.tenant == "acme"
    assert event.payload().sha256 == hash_key(raw) and event.payload().key_id == key.key_id
    with issuer.engine.connect() as conn:
        stored = [str(v) for table in (issuer.table, issuer._outbox) for row in conn.execute(select(table))
                  for v in row]
    assert not any(raw in value or raw[10:] in value for value in stored)


def test_a_revoked_key_is_refused_at_once_and_its_revocation_is_published(issuer):
    key, raw = issuer.create("acme")
    revoked = issuer.revoke(key.key_id)
    assert revoked.revoked_at is not None
    assert issuer.tenant_of(hash_key(raw)) is None
    assert KeyRing({}, "svc", issuer).resolve(raw) is None
    assert [e.type for e in _events(issuer)] == ["apikey.created", "apikey.revoked"]
    assert _events(issuer)[1].payload().sha256 == hash_key(raw)
    with pytest.raises(FailedPrecondition, match="already revoked"):
        issuer.revoke(key.key_id)
    with pytest.raises(NotFound):
        issuer.revoke("ak_unknown")
    assert len(_events(issuer)) == 2  # a refused revocation publishes nothing


def test_list_shows_keys_per_tenant_without_secrets(issuer):
    first, _ = issuer.create("acme", label="CRM")
    issuer.create("globex")
    issuer.revoke(first.key_id)
    listing = issuer.list("acme")
    assert [(k.key_id, k.label, k.revoked_at is not None) for k in listing] == [(first.key_id, "CRM", True)]
    assert {k.tenant for k in issuer.list()} == {"acme", "globex"}
    assert not hasattr(listing[0], "sha256")


@pytest.mark.parametrize("tenant, label, field", [("", "", "tenant"), ("x" * 65, "", "tenant"),
                                                  ("acme", "l" * 201, "label")])
def test_bad_input_names_the_field(issuer, tenant, label, field):
    with pytest.raises(InvalidArgument) as error:
        issuer.create(tenant, label)
    assert field in error.value.violations
    assert issuer.list() == [] and _events(issuer) == []


def test_the_static_bootstrap_keys_still_work_beside_the_store(issuer):
    static = new_key()
    ring = KeyRing.from_config(f"demo:{hash_key(static)}", "svc", issuer)
    assert ring.resolve(static).tenant == "demo"
    assert ring.resolve("svc").service
    assert ring.resolve(new_key()) is None


def test_a_replica_follows_created_then_revoked_once_each(issuer, replica):
    key, raw = issuer.create("acme")
    created = _events(issuer)[0]
    replica.apply(created)
    assert replica.tenant_of(hash_key(raw)) == "acme"
    issuer.revoke(key.key_id)
    revoked = _events(issuer)[1]
    replica.apply(revoked)
    assert replica.tenant_of(hash_key(raw)) is None
    replica.apply(created)  # a redelivery changes nothing (inbox)
    assert replica.tenant_of(hash_key(raw)) is None
    with replica.engine.connect() as conn:
        assert conn.execute(select(replica._inbox.c.event_id).order_by(replica._inbox.c.event_id)).scalars().all() \
            == sorted([created.id, revoked.id])


def test_a_revocation_arriving_before_its_creation_stays_final(issuer, replica):
    key, raw = issuer.create("acme", label="CRM")
    issuer.revoke(key.key_id)
    created, revoked = _events(issuer)
    replica.apply(revoked)
    replica.apply(created)
    assert replica.tenant_of(hash_key(raw)) is None
    with replica.engine.connect() as conn:
        row = conn.execute(select(replica.table)).one()
    assert row.label == "CRM" and row.revoked_at is not None


def test_the_replica_handler_takes_key_events_and_passes_the_others_on(issuer, replica):
    _, raw = issuer.create("acme")
    seen = []
    handle = replica.handling(seen.append)
    handle(_events(issuer)[0])
    other = Envelope(type="quote.sent", source="quoteflow/quotes", subject="quote/1", tenant="acme", data={})
    handle(other)
    assert seen == [other] and replica.tenant_of(hash_key(raw)) == "acme"


@pytest.mark.parametrize("service", ["quotes", "signature", "notifier"])
def test_each_service_migration_creates_the_key_table(tmp_path, service):
    import importlib

    orm = importlib.import_module(f"services.{service}.adapters.orm")
    engine = make_engine(f"sqlite:///{tmp_path / uuid.uuid4().hex}.db")
    upgrade(engine, f"services/{service}/migrations")
    assert not [d for d in differences(engine, orm.metadata) if "api_keys" in str(d)]
    assert "api_keys" in orm.metadata.tables
    engine.dispose()


def test_a_key_table_out_of_reach_gives_unavailable_not_unauthenticated(tmp_path, issuer):
    import grpc

    from quoteflow import client
    from quoteflow.grpcserver import build_server
    from quoteflow.v1 import signature_pb2, signature_pb2_grpc

    class Servicer(signature_pb2_grpc.SignatureServiceServicer):
        def GetRequest(self, request, context):
            return signature_pb2.SignatureRequest(quote_id=request.quote_id)

    _, raw = issuer.create("acme")
    empty = make_engine(f"sqlite:///{tmp_path / 'no-tables.db'}")  # no api_keys table: every lookup fails
    stores = {"good": issuer, "broken": KeyTable(empty, issuer.table)}
    for name, store in stores.items():
        server, port, _ = build_server(
            "127.0.0.1:0", [lambda s: signature_pb2_grpc.add_SignatureServiceServicer_to_server(Servicer(), s)],
            ["quoteflow.v1.SignatureService"], KeyRing({}, "svc", store))
        server.start()
        try:
            stub = client.signature(f"127.0.0.1:{port}", raw)
            if name == "good":
                assert stub.GetRequest(signature_pb2.GetRequestRequest(quote_id="q")).quote_id == "q"
            else:
                with pytest.raises(grpc.RpcError) as error:
                    stub.GetRequest(signature_pb2.GetRequestRequest(quote_id="q"))
                assert error.value.code() == grpc.StatusCode.UNAVAILABLE
        finally:
            server.stop(0)
    empty.dispose()
