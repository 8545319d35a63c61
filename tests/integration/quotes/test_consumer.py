"""Events from the portal, signature and notifier: history, counters, status, each applied once."""
import grpc
from google.protobuf import field_mask_pb2

from quoteflow.envelope import Envelope
from quoteflow.v1 import events_pb2, quotes_pb2
from services.quotes.entrypoints.consumer import make_handler
from tests.integration.quotes.support import create, directory, error_of, moment


def test_views_downloads_and_signature_land_once_in_history_and_counters(service):
    app, stub = service
    crm = stub("tenant-a")
    directory(crm)
    quote = create(crm)
    sent = crm.SendQuote(quotes_pb2.SendQuoteRequest(quote_id=quote.id, request_signature=True))
    handle = make_handler(app)
    viewed = Envelope.wrap(events_pb2.QuoteViewed(quote_id=quote.id, version=1, recipient_email="chloe@example.fr",
                                                  ip="203.0.113.9", user_agent="Firefox/140",
                                                  at="2026-11-29T10:00:00Z"),
                           source="quoteflow/portal", subject=f"quote/{quote.id}", tenant="tenant-a")
    handle(viewed)
    handle(viewed)  # a redelivery changes nothing
    handle(Envelope.wrap(events_pb2.QuoteDownloaded(quote_id=quote.id, version=1, recipient_email="chloe@example.fr",
                                                    ip="203.0.113.9", user_agent="Firefox/140",
                                                    at="2026-11-29T10:01:00Z"),
                         source="quoteflow/portal", subject=f"quote/{quote.id}", tenant="tenant-a"))
    handle(Envelope.wrap(events_pb2.SignatureCompleted(
        request_id="r1", quote_id=quote.id, number=quote.number, version=1, signer_name="Chloé Lefèvre",
        signer_email="chloe@example.fr", signed_at="2026-11-29T10:05:00Z", document_sha256=sent.pdf_sha256,
        evidence_sha256="e" * 64, signed_pdf_sha256="s" * 64, proof_sha256="p" * 64),
        source="quoteflow/signature", subject=f"quote/{quote.id}", tenant="tenant-a"))
    detail = crm.GetQuote(quotes_pb2.GetQuoteRequest(quote_id=quote.id))
    assert (detail.view_count, detail.download_count) == (1, 1)
    assert detail.last_viewed_at.startswith("2026-11-29T10:00:00")
    assert detail.status == "Accepté"
    assert detail.signature.signer_name == "Chloé Lefèvre" and detail.signature.proof_sha256 == "p" * 64
    kinds = [(h.kind, h.at[:19]) for h in detail.history]
    assert ("viewed", "2026-11-29T10:00:00") in kinds and ("downloaded", "2026-11-29T10:01:00") in kinds
    assert ("signed", "2026-11-29T10:05:00") in kinds
    assert sum(1 for k, _ in kinds if k == "viewed") == 1


def test_an_event_of_another_tenant_does_not_touch_the_quote(service):
    app, stub = service
    crm = stub("tenant-a")
    directory(crm)
    quote = create(crm)
    handle = make_handler(app)
    foreign = Envelope.wrap(events_pb2.QuoteViewed(quote_id=quote.id, at="2026-11-29T10:00:00Z"),
                            source="quoteflow/portal", subject=f"quote/{quote.id}", tenant="tenant-b")
    try:
        handle(foreign)
    except Exception as error:
        assert "not found" in str(error)
    assert crm.GetQuote(quotes_pb2.GetQuoteRequest(quote_id=quote.id)).view_count == 0


def _event(payload, tenant="tenant-a"):
    return Envelope.wrap(payload, source="quoteflow/test", subject=f"quote/{payload.quote_id}", tenant=tenant)


def test_a_decline_sets_refuse_with_the_reason_and_a_later_signature_is_only_noted(service):
    app, stub = service
    crm = stub("tenant-a")
    directory(crm)
    quote = create(crm)
    crm.SendQuote(quotes_pb2.SendQuoteRequest(quote_id=quote.id, request_signature=True))
    handle = make_handler(app)
    declined_at, signed_at = moment(minutes=5), moment(minutes=65)  # after the send, whatever today is
    declined = _event(events_pb2.SignatureDeclined(
        request_id="r1", quote_id=quote.id, version=1, signer_name="Chloé Lefèvre", signer_email="chloe@example.fr",
        reason="Budget reporté à 2027 — merci", declined_at=declined_at))
    handle(declined)
    handle(declined)
    detail = crm.GetQuote(quotes_pb2.GetQuoteRequest(quote_id=quote.id))
    assert detail.status == "Refusé" and detail.decline.reason == "Budget reporté à 2027 — merci"
    [entry] = [h for h in detail.history if h.kind == "declined"]
    assert "Budget reporté à 2027" in entry.detail and entry.at.startswith(declined_at[:19])
    handle(_event(events_pb2.SignatureCompleted(request_id="r2", quote_id=quote.id, version=1,
                                                signer_name="Paul", signer_email="paul@example.fr",
                                                signed_at=signed_at)))
    detail = crm.GetQuote(quotes_pb2.GetQuoteRequest(quote_id=quote.id))
    assert detail.status == "Refusé" and not detail.signature.signer_name
    assert detail.history[-1].kind == "note" and "paul@example.fr" in detail.history[-1].detail


def test_signing_the_sent_version_while_a_revision_is_drafted_keeps_the_signed_content(service):
    app, stub = service
    crm = stub("tenant-a")
    directory(crm)
    quote = create(crm)
    sent = crm.SendQuote(quotes_pb2.SendQuoteRequest(quote_id=quote.id, request_signature=True))
    crm.UpdateQuote(quotes_pb2.UpdateQuoteRequest(
        quote_id=quote.id, title="Révision", update_mask=field_mask_pb2.FieldMask(paths=["title"])))
    make_handler(app)(_event(events_pb2.SignatureCompleted(
        request_id="r1", quote_id=quote.id, version=1, signer_name="Chloé", signer_email="chloe@example.fr",
        signed_at="2026-11-30T10:00:00Z", document_sha256=sent.pdf_sha256, signed_pdf_sha256="s" * 64,
        proof_sha256="p" * 64)))
    detail = crm.GetQuote(quotes_pb2.GetQuoteRequest(quote_id=quote.id))
    assert detail.status == "Accepté" and detail.title == quote.title and not detail.unsent_changes
    assert (detail.signature.version, detail.signature.request_id, detail.signature.signed_pdf_sha256,
            detail.signature.proof_sha256) == (1, "r1", "s" * 64, "p" * 64)
    error = error_of(crm.UpdateQuote, quotes_pb2.UpdateQuoteRequest(
        quote_id=quote.id, title="Après signature", update_mask=field_mask_pb2.FieldMask(paths=["title"])))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION and "locked" in error.details()


def test_notifications_land_in_the_history(service):
    app, stub = service
    crm = stub("tenant-a")
    directory(crm)
    quote = create(crm)
    crm.SendQuote(quotes_pb2.SendQuoteRequest(quote_id=quote.id))
    handle = make_handler(app)
    handle(_event(events_pb2.NotificationSent(delivery_id="d1", quote_id=quote.id, channel="email",
                                              recipient="chloe@example.fr", template="quote_send",
                                              at="2099-11-29T10:05:00Z", subject=f"Devis {quote.number}")))
    handle(_event(events_pb2.NotificationFailed(delivery_id="d2", quote_id=quote.id, channel="sms",
                                                recipient="+33600000002", template="quote_viewed",
                                                at="2099-11-29T10:06:00Z", error="Vonage: 401", attempts=5)))
    handle(_event(events_pb2.NotificationSent(delivery_id="d3", channel="email", recipient="x@example.fr",
                                              at="2099-11-29T10:07:00Z")))  # not about a quote: nothing to do
    history = crm.GetQuote(quotes_pb2.GetQuoteRequest(quote_id=quote.id)).history
    sent, failed = history[-2:]
    assert (sent.kind, sent.at[:19]) == ("notification", "2099-11-29T10:05:00")
    assert sent.detail == (f"email « Devis {quote.number} » envoyé le 29 novembre 2099 à 11:05 à chloe@example.fr "
                           "(quote_send)")
    assert failed.kind == "notification_failed" and "Vonage: 401" in failed.detail
