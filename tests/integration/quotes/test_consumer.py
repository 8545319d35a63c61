from quoteflow.envelope import Envelope
from quoteflow.v1 import events_pb2, quotes_pb2
from services.quotes.entrypoints.consumer import make_handler

from tests.integration.quotes.test_grpc_api import create, directory


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
