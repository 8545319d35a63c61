"""WithdrawQuote over gRPC, and quote.status_changed for the changes of status around it, each written to the
outbox in the transaction of the change (SQLite and PostgreSQL). The sweep's: test_expiry.py."""
import grpc
from google.protobuf import field_mask_pb2

from quoteflow.envelope import Envelope
from quoteflow.v1 import events_pb2, quotes_pb2
from services.quotes.entrypoints.consumer import make_handler
from tests.integration.quotes.support import create, directory, error_of, line, moment, outbox_events, violations

STATUS_CHANGED, WITHDRAWN = "quote.status_changed", "quote.withdrawn"


def changes(app, quote_id: str) -> list[tuple[str, str, str, int, str]]:
    """(previous, new, cause, version, actor) of each quote.status_changed of the quote, oldest first."""
    found = [e.payload() for e in outbox_events(app, STATUS_CHANGED)]
    return [(p.previous_status, p.status, p.cause, p.version, p.actor) for p in found if p.quote_id == quote_id]


def sent_quote(crm):
    quote = create(crm)
    crm.SendQuote(quotes_pb2.SendQuoteRequest(quote_id=quote.id, request_signature=True))
    return quote


def test_a_sent_quote_is_withdrawn_once_with_its_reason_in_history_and_events(service):
    app, stub = service
    crm = stub("tenant-a")
    directory(crm)
    quote = sent_quote(crm)
    before = len(outbox_events(app))

    withdrawn = crm.WithdrawQuote(quotes_pb2.WithdrawQuoteRequest(quote_id=quote.id, reason="Erreur de tarif"))
    assert withdrawn.status == "Retiré" and withdrawn.version == 1
    assert [(h.kind, h.actor, h.detail) for h in withdrawn.history[-2:]] == [
        ("withdrawn", "crm", "version 1 retirée : « Erreur de tarif »"), ("status", "crm", "Envoyé → Retiré")]
    told = outbox_events(app)[before:]
    assert [e.type for e in told] == [STATUS_CHANGED, WITHDRAWN]
    assert all(e.tenant == "tenant-a" and e.subject == f"quote/{quote.id}" and e.source == "quoteflow/quotes"
               for e in told)
    change, withdrawal = (e.payload() for e in told)
    assert (change.quote_id, change.number, change.previous_status, change.status, change.cause, change.version,
            change.actor) == (quote.id, quote.number, "Envoyé", "Retiré", "withdrawn", 1, "crm")
    assert (withdrawal.quote_id, withdrawal.number, withdrawal.version, withdrawal.reason, withdrawal.actor) == (
        quote.id, quote.number, 1, "Erreur de tarif", "crm")
    assert withdrawal.withdrawn_at == change.changed_at and change.changed_at.endswith("Z")
    listed = crm.ListQuotes(quotes_pb2.ListQuotesRequest(status="Retiré")).quotes
    assert [q.id for q in listed] == [quote.id]

    again = crm.WithdrawQuote(quotes_pb2.WithdrawQuoteRequest(quote_id=quote.id, reason="encore"))
    assert again.status == "Retiré" and len(again.history) == len(withdrawn.history)
    assert len(outbox_events(app)) == before + 2  # a repeated call tells nothing more


def test_only_a_sent_quote_can_be_withdrawn_and_a_refusal_writes_nothing(service):
    app, stub = service
    crm = stub("tenant-a")
    directory(crm)
    draft = create(crm)
    signed, declined = sent_quote(crm), sent_quote(crm)
    handle = make_handler(app)
    handle(Envelope.wrap(events_pb2.SignatureCompleted(
        request_id="r1", quote_id=signed.id, number=signed.number, version=1, signer_name="Chloé Lefèvre",
        signer_email="chloe@example.fr", signed_at=moment(1), document_sha256="d" * 64, evidence_sha256="e" * 64,
        signed_pdf_sha256="s" * 64, proof_sha256="p" * 64),
        source="quoteflow/signature", subject=f"quote/{signed.id}", tenant="tenant-a"))
    handle(Envelope.wrap(events_pb2.SignatureDeclined(
        request_id="r2", quote_id=declined.id, number=declined.number, version=1, signer_name="Chloé Lefèvre",
        signer_email="chloe@example.fr", reason="Trop cher", declined_at=moment(1), evidence_sha256="e" * 64),
        source="quoteflow/signature", subject=f"quote/{declined.id}", tenant="tenant-a"))
    assert changes(app, signed.id)[-1] == ("Envoyé", "Accepté", "signed", 1, "signature")
    assert changes(app, declined.id)[-1] == ("Envoyé", "Refusé", "declined", 1, "signature")
    events = len(outbox_events(app))

    for quote, says in ((draft, "never sent"), (signed, "Accepté: a signed quote cannot be withdrawn"),
                        (declined, "Refusé: the client declined it")):
        error = error_of(crm.WithdrawQuote, quotes_pb2.WithdrawQuoteRequest(quote_id=quote.id))
        assert error.code() == grpc.StatusCode.FAILED_PRECONDITION and says in error.details(), error.details()
    assert len(outbox_events(app)) == events
    assert crm.GetQuote(quotes_pb2.GetQuoteRequest(quote_id=draft.id)).status == "Brouillon"

    error = error_of(crm.WithdrawQuote, quotes_pb2.WithdrawQuoteRequest(quote_id=signed.id, reason="x" * 2001))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and "reason" in violations(error)
    theirs = stub("tenant-b")
    error = error_of(theirs.WithdrawQuote, quotes_pb2.WithdrawQuoteRequest(quote_id=declined.id))
    assert error.code() == grpc.StatusCode.NOT_FOUND


def test_a_withdrawn_quote_is_edited_into_its_next_version_and_sent_again(service):
    app, stub = service
    crm = stub("tenant-a")
    directory(crm)
    quote = sent_quote(crm)
    crm.WithdrawQuote(quotes_pb2.WithdrawQuoteRequest(quote_id=quote.id))
    error = error_of(crm.SendQuote, quotes_pb2.SendQuoteRequest(quote_id=quote.id))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION and "withdrawn" in error.details()
    crm.UpdateQuote(quotes_pb2.UpdateQuoteRequest(quote_id=quote.id, lines=[line(unit_price="500.00")],
                                                  update_mask=field_mask_pb2.FieldMask(paths=["lines"])))
    assert crm.SendQuote(quotes_pb2.SendQuoteRequest(quote_id=quote.id)).version == 2
    assert changes(app, quote.id) == [("Brouillon", "Envoyé", "sent", 1, "crm"),
                                      ("Envoyé", "Retiré", "withdrawn", 1, "crm"),
                                      ("Retiré", "Brouillon", "revised", 1, "crm"),
                                      ("Brouillon", "Envoyé", "sent", 2, "crm")]

