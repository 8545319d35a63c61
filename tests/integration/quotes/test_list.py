"""The quote list: filters, sorts, keyset pages, counters from the row, and the index the query uses."""
import grpc
from sqlalchemy import text

from quoteflow.v1 import quotes_pb2
from services.quotes.adapters.repository import QuoteRepository
from services.quotes.domain import model
from tests.integration.quotes.support import create, directory, error_of, line, violations


def test_filters_sorts_and_pages(service):
    _, stub = service
    crm = stub("tenant-a")
    directory(crm)
    crm.UpsertDeal(quotes_pb2.Deal(id="d1", account_id="acc", title="Affaire"))
    crm.UpsertAccount(quotes_pb2.Account(id="acc3", name="Pâtisserie Œillet"))
    crm.UpsertContact(quotes_pb2.Contact(id="ct3", account_id="acc3", name="Zoé", email="zoe@example.fr"))
    small = create(crm, lines=[line(unit_price="10")], title="Petit devis")
    big = create(crm, lines=[line(unit_price="5000")], assignee_id="u2", title="Grand devis 100%_sûr")
    dealt = create(crm, deal_id="d1", lines=[line(unit_price="300")])
    elsewhere = create(crm, account_id="acc3", contact_id="ct3", lines=[line(unit_price="1")])
    crm.SendQuote(quotes_pb2.SendQuoteRequest(quote_id=big.id))

    def ids(**kw):
        return [q.id for q in crm.ListQuotes(quotes_pb2.ListQuotesRequest(**kw)).quotes]

    assert ids() == [elsewhere.id, dealt.id, big.id, small.id]
    assert ids(status="Envoyé") == [big.id] and ids(status="Brouillon") == [elsewhere.id, dealt.id, small.id]
    assert ids(assignee_id="u2") == [big.id]
    assert ids(deal_id="d1") == [dealt.id]
    assert ids(account_id="acc3") == [elsewhere.id]
    assert ids(text="petit") == [small.id]
    assert ids(text="100%_") == [big.id]  # LIKE wildcards are taken literally
    assert ids(text="Œillet") == [elsewhere.id]  # the account's name
    assert ids(text=big.number) == [big.id]
    assert ids(order_by="total_ttc") == [elsewhere.id, small.id, dealt.id, big.id]
    assert ids(order_by="-total_ttc") == [big.id, dealt.id, small.id, elsewhere.id]
    assert ids(order_by="number") == [small.id, big.id, dealt.id, elsewhere.id]

    listed = crm.ListQuotes(quotes_pb2.ListQuotesRequest(status="Envoyé")).quotes[0]
    assert listed.totals.total_ttc == "12000.00" and listed.version == 1
    assert listed.send_action == "Relancer par email" and not listed.lines and not listed.history

    for order_by in ("-created_at", "total_ttc", "-view_count", "last_viewed_at", "valid_until"):
        seen, token = [], ""
        while True:
            page = crm.ListQuotes(quotes_pb2.ListQuotesRequest(page_size=3, order_by=order_by, page_token=token))
            seen += [q.id for q in page.quotes]
            token = page.next_page_token
            if not token:
                break
        assert sorted(seen) == sorted(ids()) and len(seen) == 4, order_by

    token = crm.ListQuotes(quotes_pb2.ListQuotesRequest(page_size=1)).next_page_token
    for request, field in [
        (quotes_pb2.ListQuotesRequest(page_size=1, order_by="total_ttc", page_token=token), "page_token"),
        (quotes_pb2.ListQuotesRequest(page_token="garbage!"), "page_token"),
        (quotes_pb2.ListQuotesRequest(status="Perdu"), "status"),
        (quotes_pb2.ListQuotesRequest(order_by="secret_column"), "order_by"),
        (quotes_pb2.ListQuotesRequest(page_size=500), "page_size"),
        (quotes_pb2.ListQuotesRequest(text="a\x00b"), "text"),
    ]:
        error = error_of(crm.ListQuotes, request)
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and field in violations(error), request


def test_the_default_list_reads_the_tenant_created_index(service):
    """WHERE tenant = ? ORDER BY created_at DESC, id DESC LIMIT n: a (backward) scan of ix_quotes_tenant_created."""
    app, _ = service
    statement = QuoteRepository.list_statement(model.ListQuery(tenant="tenant-a", page_size=50))
    compiled = statement.compile(dialect=app.engine.dialect, compile_kwargs={"literal_binds": True})
    assert "count(" not in str(compiled).lower()
    with app.uow() as uow:
        if app.engine.dialect.name == "postgresql":
            uow.session.execute(text("SET LOCAL enable_seqscan = off"))  # tiny tables: show the plan it would pick
            plan = "\n".join(r[0] for r in uow.session.execute(text(f"EXPLAIN {compiled}")))
            assert "Index Scan Backward using ix_quotes_tenant_created" in plan, plan
            assert "Sort" not in plan, plan
        else:
            plan = " ".join(str(r[-1]) for r in uow.session.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))
            assert "ix_quotes_tenant_created" in plan and "TEMP B-TREE" not in plan, plan
