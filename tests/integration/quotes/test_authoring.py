"""Authoring a quote: prefilled creation, product lines, options, documents, editing into new versions."""
import hashlib
import threading
from datetime import date, timedelta

import grpc
from google.protobuf import field_mask_pb2

from quoteflow.v1 import common_pb2, quotes_pb2
from services.quotes.adapters import orm
from tests.integration.quotes.support import count, create, directory, error_of, line, sent_events, violations


def mask(*paths):
    return field_mask_pb2.FieldMask(paths=list(paths))


def test_created_from_a_deal_a_contact_or_an_account_prefilled_with_catalogue_lines(service):
    _, stub = service
    crm = stub("tenant-a")
    directory(crm, extra_vat_rates=["8.5"], default_terms="Paiement à 30 jours.")
    crm.UpsertProduct(quotes_pb2.Product(id="p1", reference="SW-24", label="Commutateur 24 ports PoE",
                                         unit_price="389.90", vat_rate="20", unit="u"))
    crm.UpsertDeal(quotes_pb2.Deal(id="d1", account_id="acc", contact_id="ct2", assignee_id="u2",
                                   title="Rénovation du réseau"))

    from_deal = crm.CreateQuote(quotes_pb2.CreateQuoteRequest(deal_id="d1", lines=[
        common_pb2.QuoteLine(product_ref="SW-24", quantity="4", discount_percent="5"),
        common_pb2.QuoteLine(product_ref="SW-24", quantity="1", unit_price="350", description="Remis"),
        line(description="Déplacement DOM", quantity="1", unit_price="100", vat_rate="8.5")]))
    assert (from_deal.account_id, from_deal.contact_id, from_deal.assignee_id, from_deal.deal_id) == \
        ("acc", "ct2", "u2", "d1")
    assert from_deal.title == "Rénovation du réseau" and from_deal.terms == "Paiement à 30 jours."
    first, second, dom = from_deal.lines
    assert (first.description, first.unit, first.unit_price, first.vat_rate, first.total_ht) == \
        ("Commutateur 24 ports PoE", "u", "389.90", "20", "1481.62")
    assert (second.description, second.unit_price) == ("Remis", "350")
    assert dom.vat_rate == "8.5" and from_deal.totals.total_ttc == "2306.44"  # 1931.62 HT + 366.32 + 8.50
    assert date.fromisoformat(from_deal.valid_until) == date.today() + timedelta(days=30)
    assert from_deal.status == "Brouillon" and from_deal.send_action == "Envoyer par email"

    from_contact = crm.CreateQuote(quotes_pb2.CreateQuoteRequest(contact_id="ct", assignee_id="u"))
    assert (from_contact.account_id, from_contact.contact_id) == ("acc", "ct")
    from_account = crm.CreateQuote(quotes_pb2.CreateQuoteRequest(account_id="acc", assignee_id="u"))
    assert from_account.contact_id == "" and from_account.title == "Devis pour Boulangerie Lefèvre"

    for request, field in [
        (quotes_pb2.CreateQuoteRequest(assignee_id="u"), "account_id"),
        (quotes_pb2.CreateQuoteRequest(account_id="acc"), "assignee_id"),
        (quotes_pb2.CreateQuoteRequest(account_id="other", deal_id="d1", assignee_id="u"), "deal_id"),
        (quotes_pb2.CreateQuoteRequest(account_id="acc", assignee_id="u", valid_until="2001-01-01"), "valid_until"),
        (quotes_pb2.CreateQuoteRequest(account_id="acc", assignee_id="u", lines=[
            common_pb2.QuoteLine(product_ref="NOPE", quantity="1")]), "lines[0].product_ref"),
        (quotes_pb2.CreateQuoteRequest(account_id="acc", assignee_id="u", optional_lines=[
            line(vat_rate="7")]), "optional_lines[0].vat_rate"),
        (quotes_pb2.CreateQuoteRequest(account_id="acc", assignee_id="u", title="deux\nlignes"), "title"),
    ]:
        error = error_of(crm.CreateQuote, request)
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and field in violations(error), (request, error)
    assert error_of(crm.CreateQuote, quotes_pb2.CreateQuoteRequest(deal_id="nope", assignee_id="u")).code() == \
        grpc.StatusCode.NOT_FOUND
    assert len(crm.ListQuotes(quotes_pb2.ListQuotesRequest()).quotes) == 3


def test_optional_products_are_apart_and_never_in_the_totals(service):
    app, stub = service
    crm = stub("tenant-a")
    directory(crm)
    quote = create(crm, optional_lines=[line(description="Extension de garantie", quantity="1",
                                             unit_price="199", vat_rate="20")])
    assert quote.totals.total_ht == "1234.56" and len(quote.optional_lines) == 1
    assert quote.optional_lines[0].total_ht == "199.00"
    crm.SendQuote(quotes_pb2.SendQuoteRequest(quote_id=quote.id))
    snapshot = sent_events(app)[-1].payload().snapshot
    assert [l.description for l in snapshot.optional_lines] == ["Extension de garantie"]
    assert snapshot.totals.total_ht == "1234.56"


def test_the_same_idempotency_key_creates_one_quote(service):
    app, stub = service
    crm = stub("tenant-a")
    directory(crm)
    first = create(crm, idempotency_key="crm-req-1")
    assert create(crm, idempotency_key="crm-req-1").id == first.id
    error = error_of(create, crm, idempotency_key="crm-req-1", title="Autre chose")
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION and "different request" in error.details()
    assert create(crm, idempotency_key="crm-req-2").number.endswith("00002")

    results, errors = [], []

    def worker():
        try:
            results.append(create(crm, idempotency_key="crm-req-3").id)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and len(set(results)) == 1
    assert count(app, orm.quotes) == 3  # crm-req-1, -2, -3: no second quote, no gap in the numbers
    numbers = sorted(q.number for q in crm.ListQuotes(quotes_pb2.ListQuotesRequest()).quotes)
    assert [n[-5:] for n in numbers] == ["00001", "00002", "00003"]


def test_editing_a_sent_quote_makes_a_draft_whose_next_send_is_version_two(service):
    app, stub = service
    crm = stub("tenant-a")
    directory(crm)
    quote = create(crm)
    first = crm.SendQuote(quotes_pb2.SendQuoteRequest(quote_id=quote.id, request_signature=True))
    edited = crm.UpdateQuote(quotes_pb2.UpdateQuoteRequest(
        quote_id=quote.id, lines=[line(unit_price="700")], terms="Acompte 30 %", title="Devis révisé",
        valid_until=(date.today() + timedelta(days=60)).isoformat(),
        update_mask=mask("lines", "terms", "title", "valid_until")))
    assert edited.status == "Brouillon" and edited.unsent_changes and edited.version == 1
    assert edited.send_action == "Envoyer par email" and edited.totals.total_ht == "1400.00"
    updated, status = edited.history[-2:]
    assert updated.kind == "updated" and "lines" in updated.detail
    assert status.kind == "status" and status.detail == "Envoyé → Brouillon : version 2 en préparation"
    assert [q.status for q in crm.ListQuotes(quotes_pb2.ListQuotesRequest()).quotes] == ["Brouillon"]

    second = crm.SendQuote(quotes_pb2.SendQuoteRequest(quote_id=quote.id, request_signature=True))
    assert second.version == 2 and second.pdf_sha256 != first.pdf_sha256 and second.link_url != first.link_url
    sent = [e.payload() for e in sent_events(app)]
    assert [(p.version, p.kind) for p in sent] == [(1, "send"), (2, "send")]
    assert sent[1].snapshot.title == "Devis révisé" and sent[1].snapshot.terms == "Acompte 30 %"
    detail = crm.GetQuote(quotes_pb2.GetQuoteRequest(quote_id=quote.id))
    assert [v.number for v in detail.versions] == [1, 2] and detail.status == "Envoyé"
    assert not detail.unsent_changes and detail.send_action == "Relancer par email"

    for request, field in [
        (quotes_pb2.UpdateQuoteRequest(quote_id=quote.id, title="x"), "update_mask"),
        (quotes_pb2.UpdateQuoteRequest(quote_id=quote.id, update_mask=mask("status")), "update_mask"),
        (quotes_pb2.UpdateQuoteRequest(quote_id=quote.id, update_mask=mask("title")), "title"),
        (quotes_pb2.UpdateQuoteRequest(quote_id=quote.id, contact_id="stranger", update_mask=mask("contact_id")),
         "contact_id"),
        (quotes_pb2.UpdateQuoteRequest(quote_id=quote.id, lines=[line(quantity="-1")], update_mask=mask("lines")),
         "lines[0].quantity"),
    ]:
        error = error_of(crm.UpdateQuote, request)
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and field in violations(error), request
    assert crm.GetQuote(quotes_pb2.GetQuoteRequest(quote_id=quote.id)).status == "Envoyé"  # nothing half-written


def test_documents_are_typed_stored_by_hash_and_shared_with_the_version(service):
    app, stub = service
    crm = stub("tenant-a")
    directory(crm)
    quote = create(crm)
    pdf = b"%PDF-1.4\n% fiche technique\n"
    with_doc = crm.AddDocument(quotes_pb2.AddDocumentRequest(quote_id=quote.id, name="Fiche technique.pdf",
                                                             content=pdf))
    [document] = with_doc.documents
    assert (document.name, document.content_type, document.size) == ("Fiche technique.pdf", "application/pdf",
                                                                      len(pdf))
    assert document.sha256 == hashlib.sha256(pdf).hexdigest()
    assert app.dependencies["blobs"].get(document.sha256) == pdf
    assert with_doc.history[-1].kind == "updated" and "Fiche technique.pdf" in with_doc.history[-1].detail

    for request, field in [
        (quotes_pb2.AddDocumentRequest(quote_id=quote.id, name="faux.pdf", content=b"MZ\x90"), "content"),
        (quotes_pb2.AddDocumentRequest(quote_id=quote.id, name="script.exe", content=b"MZ\x90"), "name"),
        (quotes_pb2.AddDocumentRequest(quote_id=quote.id, name="gros.pdf",
                                       content=b"%PDF-" + b"0" * (10 * 1024 * 1024)), "content"),
    ]:
        error = error_of(crm.AddDocument, request)
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and field in violations(error)
    duplicate = error_of(crm.AddDocument, quotes_pb2.AddDocumentRequest(quote_id=quote.id, name="copie.pdf",
                                                                        content=pdf))
    assert duplicate.code() == grpc.StatusCode.FAILED_PRECONDITION
    retried = quotes_pb2.AddDocumentRequest(quote_id=quote.id, name="plan.png", content=b"\x89PNG\r\n\x1a\n0",
                                            idempotency_key="doc-1")
    assert len(crm.AddDocument(retried).documents) == 2
    assert len(crm.AddDocument(retried).documents) == 2  # the retry is answered, not refused as a duplicate
    crm.RemoveDocument(quotes_pb2.RemoveDocumentRequest(quote_id=quote.id, sha256=hashlib.sha256(
        b"\x89PNG\r\n\x1a\n0").hexdigest()))

    sent = crm.SendQuote(quotes_pb2.SendQuoteRequest(quote_id=quote.id))
    snapshot = sent_events(app)[-1].payload().snapshot
    assert [(d.name, d.sha256) for d in snapshot.documents] == [("Fiche technique.pdf", document.sha256)]
    file = crm.GetQuoteFile(quotes_pb2.GetQuoteFileRequest(quote_id=quote.id, sha256=document.sha256))
    assert (file.name, file.content) == ("Fiche technique.pdf", pdf)
    frozen = crm.GetQuoteFile(quotes_pb2.GetQuoteFileRequest(quote_id=quote.id, sha256=sent.pdf_sha256))
    assert frozen.content_type == "application/pdf" and frozen.content.startswith(b"%PDF")
    assert error_of(crm.GetQuoteFile, quotes_pb2.GetQuoteFileRequest(quote_id=quote.id, sha256="0" * 64)).code() \
        == grpc.StatusCode.NOT_FOUND

    removed = crm.RemoveDocument(quotes_pb2.RemoveDocumentRequest(quote_id=quote.id, sha256=document.sha256))
    assert list(removed.documents) == [] and removed.status == "Brouillon" and removed.unsent_changes
    # the file stays reachable through the version that shared it
    assert crm.GetQuoteFile(quotes_pb2.GetQuoteFileRequest(quote_id=quote.id, sha256=document.sha256)).content == pdf


def test_duplicate_has_a_new_number_the_same_content_and_no_history(service):
    app, stub = service
    crm = stub("tenant-a")
    directory(crm)
    quote = create(crm, optional_lines=[line(description="Option")], title="Original")
    crm.AddDocument(quotes_pb2.AddDocumentRequest(quote_id=quote.id, name="plan.txt", content="Plan".encode()))
    crm.SendQuote(quotes_pb2.SendQuoteRequest(quote_id=quote.id))
    copy = crm.DuplicateQuote(quotes_pb2.DuplicateQuoteRequest(quote_id=quote.id, idempotency_key="dup-1"))
    assert copy.id != quote.id and copy.number.endswith("00002") and copy.status == "Brouillon"
    assert [l.description for l in copy.lines] == [l.description for l in quote.lines]
    assert [l.description for l in copy.optional_lines] == ["Option"] and copy.documents[0].name == "plan.txt"
    assert [h.kind for h in copy.history] == ["created"] and not copy.versions and copy.view_count == 0
    assert crm.DuplicateQuote(quotes_pb2.DuplicateQuoteRequest(quote_id=quote.id, idempotency_key="dup-1")).id \
        == copy.id
    original = crm.GetQuote(quotes_pb2.GetQuoteRequest(quote_id=quote.id))
    assert original.history[-1].kind == "duplicated" and copy.number in original.history[-1].detail
    assert len(sent_events(app)) == 1  # duplicating sends nothing
