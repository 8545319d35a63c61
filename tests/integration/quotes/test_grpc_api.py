import hashlib
import threading

import grpc
import pytest
from sqlalchemy import select

from quoteflow import sealing
from quoteflow.v1 import common_pb2, quotes_pb2
from services.quotes.adapters import orm
from tests.integration.quotes.support import create, directory, outbox_events, sent_events, violations


def test_send_freezes_a_version_and_commits_quote_sent_with_it(service):
    app, stub = service
    crm = stub("tenant-a")
    directory(crm)
    quote = create(crm)
    sent = crm.SendQuote(quotes_pb2.SendQuoteRequest(quote_id=quote.id, request_signature=True, attach_pdf=True,
                                                     subject="Votre devis"))
    pdf = (app.dependencies["blobs"]).get(sent.pdf_sha256)
    assert pdf.startswith(b"%PDF") and hashlib.sha256(pdf).hexdigest() == sent.pdf_sha256
    [event] = sent_events(app)
    payload = event.payload()
    assert event.type == "quote.sent" and event.tenant == "tenant-a"
    assert payload.version == 1 and payload.kind == "send" and payload.signature_requested
    assert payload.recipient.email == "chloe@example.fr" and payload.assignee.email == "antoine@example.com"
    assert payload.snapshot.totals.total_ttc == "1481.47"
    assert not payload.link_url and sealing.open_link(  # sealed for the notifier, never in clear
        app.config.seal_key, payload.sealed_link_url, tenant="tenant-a", quote_id=quote.id, version=1,
        token_sha256=payload.link_token_sha256) == sent.link_url
    token = sent.link_url.rsplit("/", 1)[1]
    assert len(token) >= 43 and payload.link_token_sha256 == hashlib.sha256(token.encode()).hexdigest()
    with app.engine.connect() as conn:
        stored = conn.execute(select(orm.quote_links.c.token_sha256)).scalars().all()
    assert stored == [payload.link_token_sha256]  # the token itself is never stored

    again = crm.SendQuote(quotes_pb2.SendQuoteRequest(quote_id=quote.id, recipient_contact_id="ct2"))
    assert again.version == 1 and again.pdf_sha256 == sent.pdf_sha256  # same content: PDF not rendered again
    to_paul = sent_events(app)[-1].payload()  # the same version, to a contact who never got it: a first send
    assert to_paul.kind == "send" and to_paul.recipient.email == "paul@example.fr"
    assert to_paul.template == "quote_send"
    crm.SendQuote(quotes_pb2.SendQuoteRequest(quote_id=quote.id))
    relance = sent_events(app)[-1].payload()  # Chloé again: she had it
    assert relance.kind == "relance" and relance.recipient.email == "chloe@example.fr"
    assert relance.template == "quote_relance"
    detail = crm.GetQuote(quotes_pb2.GetQuoteRequest(quote_id=quote.id))
    assert [h.kind for h in detail.history] == ["created", "sent", "status", "sent", "relance"]
    assert detail.send_action == "Relancer par email"


def test_send_rules(service):
    app, stub = service
    crm = stub("tenant-a")
    directory(crm, esignature=False)
    quote = create(crm)
    with pytest.raises(grpc.RpcError) as error:
        crm.SendQuote(quotes_pb2.SendQuoteRequest(quote_id=quote.id, request_signature=True))
    assert error.value.code() == grpc.StatusCode.FAILED_PRECONDITION and "e-signature" in error.value.details()
    with pytest.raises(grpc.RpcError) as error:
        crm.SendQuote(quotes_pb2.SendQuoteRequest(quote_id=quote.id, recipient_contact_id="stranger"))
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "recipient_contact_id" in violations(error.value)
    empty = crm.CreateQuote(quotes_pb2.CreateQuoteRequest(account_id="acc", contact_id="ct", assignee_id="u"))
    with pytest.raises(grpc.RpcError) as error:
        crm.SendQuote(quotes_pb2.SendQuoteRequest(quote_id=empty.id))
    assert error.value.code() == grpc.StatusCode.FAILED_PRECONDITION and "without lines" in error.value.details()
    for subject in ("Devis\r\nBcc: x@evil.example", "Devis\u2028", "Devis\x85suite"):
        with pytest.raises(grpc.RpcError) as error:
            crm.SendQuote(quotes_pb2.SendQuoteRequest(quote_id=quote.id, subject=subject))
        assert "subject" in violations(error.value)
    assert outbox_events(app) == []  # nothing half-written
    assert crm.GetQuote(quotes_pb2.GetQuoteRequest(quote_id=quote.id)).status == "Brouillon"


def test_invalid_fields_are_named_and_nothing_is_written(service):
    _, stub = service
    crm = stub("tenant-a")
    directory(crm)
    with pytest.raises(grpc.RpcError) as error:
        crm.CreateQuote(quotes_pb2.CreateQuoteRequest(account_id="acc", contact_id="ct", assignee_id="u", lines=[
            common_pb2.QuoteLine(description="ok", quantity="1", unit_price="1", vat_rate="20"),
            common_pb2.QuoteLine(description="x", quantity="1", unit_price="1.001", vat_rate="20")]))
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "lines[1].unit_price" in violations(error.value)
    with pytest.raises(grpc.RpcError) as error:
        create(crm, contact_id="stranger")
    assert "contact_id" in violations(error.value)
    with pytest.raises(grpc.RpcError) as error:
        create(crm, assignee_id="nobody")
    assert error.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as error:
        crm.UpsertContact(quotes_pb2.Contact(id="c9", account_id="acc", name="N", email="not-an-email"))
    assert "email" in violations(error.value)
    assert list(crm.ListQuotes(quotes_pb2.ListQuotesRequest()).quotes) == []


def test_another_tenants_quote_is_not_found(service):
    _, stub = service
    directory(stub("tenant-a"))
    quote = create(stub("tenant-a"))
    with pytest.raises(grpc.RpcError) as error:
        stub("tenant-b").GetQuote(quotes_pb2.GetQuoteRequest(quote_id=quote.id))
    assert error.value.code() == grpc.StatusCode.NOT_FOUND
    assert list(stub("tenant-b").ListQuotes(quotes_pb2.ListQuotesRequest()).quotes) == []


def test_numbers_have_no_gap_and_no_duplicate_under_concurrency(service):
    _, stub = service
    crm = stub("tenant-a")
    directory(crm)
    numbers, errors = [], []

    def worker():
        try:
            for _ in range(5):
                numbers.append(create(crm).number)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    year = numbers[0].split("-")[1]
    assert sorted(numbers) == [f"DV-{year}-{i:05d}" for i in range(1, 21)]


def test_list_pages_newest_first_with_counters(service):
    _, stub = service
    crm = stub("tenant-a")
    directory(crm)
    created = [create(crm).id for _ in range(5)]
    first = crm.ListQuotes(quotes_pb2.ListQuotesRequest(page_size=3))
    second = crm.ListQuotes(quotes_pb2.ListQuotesRequest(page_size=3, page_token=first.next_page_token))
    ids = [q.id for q in first.quotes] + [q.id for q in second.quotes]
    assert ids == list(reversed(created)) and not second.next_page_token
    assert all(q.view_count == 0 and not q.history for q in first.quotes)
