"""GetQuote's read path: the quote with history, versions, invoices, orders and tasks in two statements, the same
data as loading each part on its own, on SQLite and PostgreSQL."""
from google.protobuf import field_mask_pb2
from sqlalchemy import event

from quoteflow.v1 import quotes_pb2
from services.quotes import handlers
from tests.integration.quotes.support import create, directory


def _statements(engine):
    seen = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    return seen, lambda: event.remove(engine, "before_cursor_execute", count)


def test_detail_reads_everything_in_two_statements_and_matches_the_full_load(service):
    app, stub = service
    crm = stub("tenant-a")
    directory(crm)
    quote = create(crm)
    crm.SendQuote(quotes_pb2.SendQuoteRequest(quote_id=quote.id))
    crm.UpdateQuote(quotes_pb2.UpdateQuoteRequest(quote_id=quote.id, title="Révisé",
                                                  update_mask=field_mask_pb2.FieldMask(paths=["title"])))
    crm.SendQuote(quotes_pb2.SendQuoteRequest(quote_id=quote.id))
    crm.SendQuote(quotes_pb2.SendQuoteRequest(quote_id=quote.id, recipient_contact_id="ct2"))  # a relance
    crm.CreateInvoice(quotes_pb2.CreateFromQuoteRequest(quote_id=quote.id))
    crm.CreateOrder(quotes_pb2.CreateFromQuoteRequest(quote_id=quote.id))
    crm.CreateTask(quotes_pb2.CreateTaskRequest(quote_id=quote.id, title="Rappeler", due_date="2030-01-15"))
    crm.CreateTask(quotes_pb2.CreateTaskRequest(quote_id=quote.id, title="Poser", due_date="2030-02-01"))

    seen, stop = _statements(app.engine)
    try:
        detail = app.query(handlers.quote_detail, "tenant-a", quote.id)
    finally:
        stop()
    assert len([s for s in seen if s.lstrip().upper().startswith("SELECT")]) == 2

    with app.uow() as uow:
        full = uow.quotes.get("tenant-a", quote.id, with_history=True)
        made = uow.quotes.sales_documents_of("tenant-a", quote.id)
        tasks = uow.quotes.tasks_of("tenant-a", quote.id)
    assert detail.quote.history == full.history and len(full.history) >= 5
    def sends(versions):
        return [(v.number, v.content_sha256, v.pdf_sha256, v.sent_at, v.recipient_email, v.last_sent_at,
                 v.last_recipient_email, v.send_count) for v in versions]

    assert sends(detail.quote.versions) == sends(full.versions)
    assert len(full.versions) == 2 and full.versions[-1].send_count == 2
    assert full.versions[-1].last_recipient_email == "paul@example.fr"
    assert detail.invoices == [m[1:] for m in made if m[0] == "invoice"] and len(detail.invoices) == 1
    assert detail.orders == [m[1:] for m in made if m[0] == "order"] and len(detail.orders) == 1
    assert detail.tasks == tasks and [t.title for t in tasks] == ["Rappeler", "Poser"]
    assert [str(t.due_date) for t in tasks] == ["2030-01-15", "2030-02-01"]
    assert (detail.quote.title, detail.quote.totals, detail.quote.send_action) == (
        full.title, full.totals, full.send_action)


def test_detail_of_another_tenants_quote_is_not_found(service):
    app, stub = service
    directory(stub("tenant-a"))
    quote = create(stub("tenant-a"))
    with app.uow() as uow:
        assert uow.quotes.detail("tenant-b", quote.id) is None
        assert uow.quotes.detail("tenant-a", quote.id)[0].id == quote.id
