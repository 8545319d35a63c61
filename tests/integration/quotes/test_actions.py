"""Actions from a quote: invoice, sales order, task; their numbering; every quote RPC scoped to its tenant."""
import threading
from datetime import date

import grpc
from google.protobuf import field_mask_pb2

from quoteflow.v1 import quotes_pb2
from services.quotes.adapters import orm
from tests.integration.quotes.support import count, create, directory, error_of, line, outbox_events, violations


def test_invoice_order_and_task_from_a_quote(service):
    app, stub = service
    crm = stub("tenant-a")
    directory(crm)
    quote = create(crm, lines=[line(), line(description="Formation", quantity="1", unit_price="450", vat_rate="10")],
                   optional_lines=[line(description="Option non facturée")])
    year = date.today().year
    invoice = crm.CreateInvoice(quotes_pb2.CreateFromQuoteRequest(quote_id=quote.id, idempotency_key="inv-1"))
    assert invoice.kind == "invoice" and invoice.number == f"FA-{year}-00001"
    assert (invoice.quote_id, invoice.quote_number, invoice.account_id) == (quote.id, quote.number, "acc")
    assert [l.description for l in invoice.lines] == ["Audit œuvre", "Formation"]  # options are not invoiced
    assert invoice.totals.total_ttc == quote.totals.total_ttc
    assert crm.CreateInvoice(quotes_pb2.CreateFromQuoteRequest(quote_id=quote.id, idempotency_key="inv-1")).id \
        == invoice.id
    second = crm.CreateInvoice(quotes_pb2.CreateFromQuoteRequest(quote_id=quote.id))  # e.g. a balance invoice
    order = crm.CreateOrder(quotes_pb2.CreateFromQuoteRequest(quote_id=quote.id))
    assert second.number == f"FA-{year}-00002" and order.number == f"CO-{year}-00001" and order.kind == "order"

    ask = quotes_pb2.CreateTaskRequest(quote_id=quote.id, title="Rappeler Chloé", due_date="2030-01-15",
                                       description="Après réception", idempotency_key="task-1")
    task = crm.CreateTask(ask)
    assert (task.assignee_id, task.quote_id, task.due_date) == ("u", quote.id, "2030-01-15")
    assert crm.CreateTask(ask).id == task.id  # a retried call makes no second task
    other = crm.CreateTask(quotes_pb2.CreateTaskRequest(quote_id=quote.id, title="Préparer la pose",
                                                        due_date="2030-02-01", assignee_id="u2"))
    assert other.assignee_id == "u2"

    detail = crm.GetQuote(quotes_pb2.GetQuoteRequest(quote_id=quote.id))
    assert [i.number for i in detail.invoices] == [invoice.number, second.number]
    assert [o.number for o in detail.orders] == [order.number]
    assert [t.title for t in detail.tasks] == ["Rappeler Chloé", "Préparer la pose"]
    kinds = [h.kind for h in detail.history]
    assert kinds == ["created", "invoice", "invoice", "order", "task", "task"]
    assert f"facture {invoice.number} créée" in detail.history[1].detail
    assert detail.status == "Brouillon" and outbox_events(app) == []

    for request, field in [
        (quotes_pb2.CreateTaskRequest(quote_id=quote.id, title="", due_date="2030-01-01"), "title"),
        (quotes_pb2.CreateTaskRequest(quote_id=quote.id, title="T", due_date="15/01/2030"), "due_date"),
        (quotes_pb2.CreateTaskRequest(quote_id=quote.id, title="T"), "due_date"),
    ]:
        assert field in violations(error_of(crm.CreateTask, request))
    assert error_of(crm.CreateTask, quotes_pb2.CreateTaskRequest(
        quote_id=quote.id, title="T", due_date="2030-01-01", assignee_id="nobody")).code() == grpc.StatusCode.NOT_FOUND
    empty = crm.CreateQuote(quotes_pb2.CreateQuoteRequest(account_id="acc", assignee_id="u"))
    error = error_of(crm.CreateOrder, quotes_pb2.CreateFromQuoteRequest(quote_id=empty.id))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION and "without lines" in error.details()
    assert count(app, orm.sales_documents) == 3 and count(app, orm.tasks) == 2


def test_invoice_and_order_numbers_have_no_gap_and_no_duplicate_under_concurrency(service):
    _, stub = service
    crm = stub("tenant-a")
    directory(crm)
    quote = create(crm)
    numbers, errors = [], []

    def worker(call):
        try:
            for _ in range(4):
                numbers.append(call(quotes_pb2.CreateFromQuoteRequest(quote_id=quote.id)).number)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(call,)) for call in (crm.CreateInvoice, crm.CreateOrder) * 3]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    year = date.today().year
    assert sorted(n for n in numbers if n.startswith("FA")) == [f"FA-{year}-{i:05d}" for i in range(1, 13)]
    assert sorted(n for n in numbers if n.startswith("CO")) == [f"CO-{year}-{i:05d}" for i in range(1, 13)]
    other_tenant = stub("tenant-b")
    directory(other_tenant)
    assert other_tenant.CreateInvoice(quotes_pb2.CreateFromQuoteRequest(quote_id=create(other_tenant).id)).number \
        == f"FA-{year}-00001"  # each tenant its own series


def test_every_quote_rpc_answers_not_found_for_another_tenants_quote_and_writes_nothing(service):
    app, stub = service
    a, b = stub("tenant-a"), stub("tenant-b")
    directory(a)
    directory(b)
    quote = create(a)
    sent = a.SendQuote(quotes_pb2.SendQuoteRequest(quote_id=quote.id))
    doc = a.AddDocument(quotes_pb2.AddDocumentRequest(quote_id=quote.id, name="a.pdf", content=b"%PDF-1.4")
                        ).documents[0]
    before = a.GetQuote(quotes_pb2.GetQuoteRequest(quote_id=quote.id))
    events_before = len(outbox_events(app))
    calls = [
        (b.GetQuote, quotes_pb2.GetQuoteRequest(quote_id=quote.id)),
        (b.UpdateQuote, quotes_pb2.UpdateQuoteRequest(quote_id=quote.id, title="Piraté",
                                                      update_mask=field_mask_pb2.FieldMask(paths=["title"]))),
        (b.SendQuote, quotes_pb2.SendQuoteRequest(quote_id=quote.id)),
        (b.AddDocument, quotes_pb2.AddDocumentRequest(quote_id=quote.id, name="b.pdf", content=b"%PDF-1.4 b")),
        (b.RemoveDocument, quotes_pb2.RemoveDocumentRequest(quote_id=quote.id, sha256=doc.sha256)),
        (b.GetQuoteFile, quotes_pb2.GetQuoteFileRequest(quote_id=quote.id, sha256=sent.pdf_sha256)),
        (b.DuplicateQuote, quotes_pb2.DuplicateQuoteRequest(quote_id=quote.id)),
        (b.CreateInvoice, quotes_pb2.CreateFromQuoteRequest(quote_id=quote.id)),
        (b.CreateOrder, quotes_pb2.CreateFromQuoteRequest(quote_id=quote.id)),
        (b.CreateTask, quotes_pb2.CreateTaskRequest(quote_id=quote.id, title="T", due_date="2030-01-01")),
        (b.ListEquipment, quotes_pb2.ListEquipmentRequest(quote_id=quote.id)),
    ]
    for call, request in calls:
        error = error_of(call, request)
        assert error.code() == grpc.StatusCode.NOT_FOUND, (request, error.details())
        assert quote.id not in error.details() or "not found" in error.details()
    for listing in (quotes_pb2.ListQuotesRequest(), quotes_pb2.ListQuotesRequest(account_id="acc"),
                    quotes_pb2.ListQuotesRequest(text=quote.number)):
        assert list(b.ListQuotes(listing).quotes) == []
    assert a.GetQuote(quotes_pb2.GetQuoteRequest(quote_id=quote.id)) == before
    assert len(outbox_events(app)) == events_before
    assert count(app, orm.sales_documents) == 0 and count(app, orm.tasks) == 0
    # malformed ids are simply not found, never an internal error
    for bad in ("", "\x00", "é" * 300):
        assert error_of(a.GetQuote, quotes_pb2.GetQuoteRequest(quote_id=bad)).code() == grpc.StatusCode.NOT_FOUND
