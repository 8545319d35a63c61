"""Authentication on every method, and tenancy: tenant B's key on everything of tenant A sees and changes nothing."""
from __future__ import annotations

import hashlib

import grpc
import pytest
from google.protobuf import descriptor, message_factory
from sqlalchemy import select

from tests.security.report import TALLY
from tests.security.stack import TENANT_A, TENANT_B, all_methods, method_name

METHODS = all_methods()
FD = descriptor.FieldDescriptor
# What only tenant A's seed wrote: none of it may reach tenant B's answers.
A_MARKERS = [b"Compte a", b"Contact a", b"Soci\xc3\xa9t\xc3\xa9 a", b"contact-a@client.example", b"Vendeur a",
             b"u-a@vendeur.example"]


def _credentials(stack) -> dict[str, tuple]:
    valid = stack.keys[TENANT_A]
    return {
        "missing": (),
        "empty bearer": (("authorization", "Bearer "),),
        "no scheme": (("authorization", valid),),
        "basic scheme": (("authorization", f"Basic {valid}"),),
        "lowercase bearer": (("authorization", f"bearer {valid}"),),
        "malformed key": (("authorization", "Bearer qf_" + "%" * 40),),
        "truncated key": (("authorization", f"Bearer {valid[:-4]}"),),
        "huge key": (("authorization", "Bearer " + "k" * 6000),),
        "revoked key": stack.bearer("revoked"),
        "key in another header": (("x-api-key", valid),),
    }


@pytest.mark.parametrize("method", METHODS, ids=method_name)
def test_every_method_refuses_missing_malformed_and_revoked_keys(stack, method):
    request = message_factory.GetMessageClass(method.input_type)(tenant_id=TENANT_A) \
        if "tenant_id" in method.input_type.fields_by_name else message_factory.GetMessageClass(method.input_type)()
    before = stack.snapshot()
    for label, metadata in _credentials(stack).items():
        answer = stack.call(method, request, metadata)
        TALLY.record("gRPC authentication", answer.code.name, f"{method_name(method)} with {label}")
        assert answer.code == grpc.StatusCode.UNAUTHENTICATED, (method_name(method), label, answer.code,
                                                                 answer.details)
        assert "qf_" not in answer.details, "the refusal echoes the key"
    assert stack.snapshot() == before


def _tenant_rows(stack, exclude: str) -> str:
    """A digest of every row of every database but those belonging to tenant ``exclude``."""
    h = hashlib.sha256()
    for name, app in stack.apps.items():
        with app.engine.connect() as conn:
            for table in stack._tables(name):
                query = select(table)
                if "tenant" in table.c:
                    query = query.where(table.c.tenant != exclude)
                for row in sorted(repr(tuple(r)) for r in conn.execute(query)):
                    h.update(row.encode())
    return h.hexdigest()


def _aimed_at(method, value: str):
    """The method's request with every id-like field set to ``value`` and tenant_id to tenant A."""
    cls = message_factory.GetMessageClass(method.input_type)
    request = cls()
    for field in method.input_type.fields:
        if field.type != FD.TYPE_STRING or field.is_repeated:
            continue
        if field.name == "tenant_id":
            setattr(request, field.name, TENANT_A)
        elif field.name == "id" or field.name.endswith(("_id", "sha256", "name", "template")):
            setattr(request, field.name, value)
    if "version" in method.input_type.fields_by_name and method.input_type.fields_by_name["version"].type == FD.TYPE_INT32:
        request.version = 1
    if "update_mask" in method.input_type.fields_by_name:  # a change B would like to make: a text field
        text = "title" if "title" in method.input_type.fields_by_name else "default_terms"
        request.update_mask.paths.append(text)
        setattr(request, text, "pris par B")
    return request


@pytest.mark.parametrize("method", METHODS, ids=method_name)
def test_tenant_b_sees_and_changes_nothing_of_tenant_a(stack, method):
    seed = stack.seeds[TENANT_A]
    before = _tenant_rows(stack, exclude=TENANT_B)
    targets = [*seed["ids"], ""]
    for target in targets:
        request = _aimed_at(method, target)
        answer = stack.call(method, request, stack.bearer(TENANT_B))
        TALLY.record("gRPC tenancy (B's key on A's ids)", answer.code.name, f"{method_name(method)} -> {target}")
        assert answer.code not in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN), answer.details
        if answer.response is not None:
            leaked = [m for m in A_MARKERS if m in answer.response.SerializeToString()]
            assert not leaked, f"{method_name(method)} showed tenant A's {leaked} to tenant B"
        if target and target in (seed["draft"], seed["sent"]) and method.name in ("GetQuote", "UpdateQuote",
                                                                                  "SendQuote", "GetRequest"):
            assert answer.code == grpc.StatusCode.NOT_FOUND, (method_name(method), answer.code)
    assert _tenant_rows(stack, exclude=TENANT_B) == before, f"{method_name(method)} with B's key changed A's data"


def test_lists_and_counts_of_tenant_b_hold_nothing_of_tenant_a(stack):
    from quoteflow.v1 import notifier_pb2, quotes_pb2

    quotes = {m.name: m for m in METHODS if m.containing_service.name == "QuoteService"}
    notifier = {m.name: m for m in METHODS if m.containing_service.name == "NotifierService"}
    listed = stack.call(quotes["ListQuotes"], quotes_pb2.ListQuotesRequest(page_size=200), stack.bearer(TENANT_B))
    mine = {q.id for q in listed.response.quotes}
    assert mine == {stack.seeds[TENANT_B]["draft"], stack.seeds[TENANT_B]["sent"]}
    assert all(q.view_count == 0 for q in listed.response.quotes)
    for text in ("Compte a", "DV-", "a"):
        found = stack.call(quotes["ListQuotes"], quotes_pb2.ListQuotesRequest(text=text), stack.bearer(TENANT_B))
        assert {q.id for q in found.response.quotes} <= mine
    deliveries = stack.call(notifier["ListDeliveries"], notifier_pb2.ListDeliveriesRequest(quote_id=stack.seeds[TENANT_A]["sent"]),
                            stack.bearer(TENANT_B))
    assert deliveries.code == grpc.StatusCode.OK and not deliveries.response.deliveries
    own = stack.call(notifier["ListDeliveries"], notifier_pb2.ListDeliveriesRequest(quote_id=stack.seeds[TENANT_A]["sent"]),
                     stack.bearer(TENANT_A))
    TALLY.record("gRPC tenancy (B's key on A's ids)", "OK, nothing of A", "ListQuotes / ListDeliveries as B")
    print(f"B lists {len(mine)} quotes (its own); A's deliveries seen by A: {len(own.response.deliveries)}, by B: 0")


def test_a_key_revoked_in_the_key_table_is_refused_on_every_quotes_method(stack):
    """The database-backed key ring (``quoteflow apikey create/revoke``): a revoked key stops at once on quotes."""
    from quoteflow.apikeys import KeyIssuer
    from quoteflow.auth import KeyRing
    from quoteflow.grpcserver import build_server
    from quoteflow.v1 import quotes_pb2, quotes_pb2_grpc
    from services.quotes.adapters import orm
    from services.quotes.entrypoints.grpc_api import QuoteServicer

    issuer = KeyIssuer(stack.quotes.engine, orm.api_keys, orm.outbox, orm.inbox)
    record, key = issuer.create(TENANT_A, "security run")
    server, port, _ = build_server("127.0.0.1:0", [lambda s: quotes_pb2_grpc.add_QuoteServiceServicer_to_server(
        QuoteServicer(stack.quotes), s)], ["quoteflow.v1.QuoteService"], KeyRing.from_config("", "", issuer))
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            md = (("authorization", f"Bearer {key}"),)
            stub = quotes_pb2_grpc.QuoteServiceStub(channel)
            assert stub.GetQuote(quotes_pb2.GetQuoteRequest(quote_id=stack.seeds[TENANT_A]["sent"]), metadata=md).id
            issuer.revoke(record.key_id)
            for method in (m for m in METHODS if m.containing_service.name == "QuoteService"):
                request = message_factory.GetMessageClass(method.input_type)()
                call = channel.unary_unary(f"/{method.containing_service.full_name}/{method.name}",
                                           request_serializer=lambda m: m.SerializeToString(),
                                           response_deserializer=lambda b: b)
                with pytest.raises(grpc.RpcError) as refused:
                    call(request, metadata=md, timeout=30)
                TALLY.record("gRPC authentication", refused.value.code().name, f"{method.name} with a revoked key")
                assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    finally:
        server.stop(0).wait()
