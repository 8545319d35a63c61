"""The quotes consumer's set-based batch: same effects as one by one, each event once, a bad one isolated."""
from dataclasses import replace

import pytest
from sqlalchemy import func, select

from quoteflow.bus import EventConsumer, Publisher
from quoteflow.envelope import Envelope
from quoteflow.errors import NotFound
from quoteflow.v1 import events_pb2, quotes_pb2
from services.quotes.adapters import orm
from services.quotes.entrypoints.consumer import build_consumer, make_batch_handler, make_handler
from tests.integration.kernel.support import start, wait_for
from tests.integration.quotes.support import create, directory
from tests.support.backends import private_vhost


def _event(payload, tenant="tenant-a"):
    return Envelope.wrap(payload, source="quoteflow/portal", subject=f"quote/{payload.quote_id}", tenant=tenant)


def _viewed(quote_id, at, ip="203.0.113.9", tenant="tenant-a"):
    return _event(events_pb2.QuoteViewed(quote_id=quote_id, version=1, recipient_email="chloe@example.fr", ip=ip,
                                         user_agent="Firefox/140", at=at), tenant)


def _downloaded(quote_id, at):
    return _event(events_pb2.QuoteDownloaded(quote_id=quote_id, version=1, recipient_email="chloe@example.fr",
                                             ip="198.51.100.4", user_agent="Safari/18", at=at))


def _accesses(quote_id):
    """Views out of time order, downloads between them."""
    return [_viewed(quote_id, "2026-11-29T10:05:00Z"), _downloaded(quote_id, "2026-11-29T10:06:00Z"),
            _viewed(quote_id, "2026-11-29T10:09:00Z", ip="203.0.113.10"), _viewed(quote_id, "2026-11-29T10:01:00Z"),
            _downloaded(quote_id, "2026-11-29T10:02:00Z")]


def _sent(crm):
    quote = create(crm)
    crm.SendQuote(quotes_pb2.SendQuoteRequest(quote_id=quote.id, request_signature=True))
    return quote


def _one_sent_quote(service):
    """(app, tenant-a's stub, a quote sent by tenant-a)."""
    app, stub = service
    crm = stub("tenant-a")
    directory(crm)
    return app, crm, _sent(crm)


def _state(crm, quote_id):
    detail = crm.GetQuote(quotes_pb2.GetQuoteRequest(quote_id=quote_id))
    accesses = sorted((h.kind, h.at, h.actor, h.detail) for h in detail.history if h.kind in ("viewed", "downloaded"))
    return detail.view_count, detail.download_count, detail.last_viewed_at, accesses


def _inbox_rows(app) -> int:
    with app.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(orm.inbox)).scalar_one()


def test_a_batch_records_the_same_history_and_counters_as_one_by_one(service):
    app, stub = service
    crm = stub("tenant-a")
    directory(crm)
    by_one, by_batch = _sent(crm), _sent(crm)
    handle = make_handler(app)
    for envelope in _accesses(by_one.id):
        handle(envelope)
    make_batch_handler(app)(_accesses(by_batch.id))
    views, downloads, last_viewed, history = _state(crm, by_batch.id)
    assert (views, downloads) == (3, 2) and last_viewed.startswith("2026-11-29T10:09:00")
    assert (views, downloads, last_viewed, history) == _state(crm, by_one.id)
    assert ("viewed", "IP 203.0.113.10 — Firefox/140") in [(k, d) for k, _, _, d in history]


def test_an_event_is_recorded_once_inside_a_batch_and_across_batches(service):
    app, crm, quote = _one_sent_quote(service)
    first, second = _viewed(quote.id, "2026-11-29T10:00:00Z"), _viewed(quote.id, "2026-11-29T11:00:00Z")
    batch = make_batch_handler(app)
    batch([first, first, second])
    batch([second, first])  # a redelivery of both
    make_handler(app)(first)  # the one-by-one path shares the inbox
    rows = _inbox_rows(app)
    later = _downloaded(quote.id, "2026-11-29T12:00:00Z")
    make_handler(app)(later)
    batch([later, first])  # handled one by one first, then in a batch
    views, downloads, last_viewed, history = _state(crm, quote.id)
    assert (views, downloads, len(history)) == (2, 1, 3) and last_viewed.startswith("2026-11-29T11:00:00")
    assert _inbox_rows(app) == rows + 1


def test_a_batch_mixing_views_with_a_signature_and_a_notification_keeps_every_effect(service):
    app, crm, quote = _one_sent_quote(service)
    signed = _event(events_pb2.SignatureCompleted(
        request_id="r1", quote_id=quote.id, version=1, signer_name="Chloé Lefèvre", signer_email="chloe@example.fr",
        signed_at="2026-11-29T10:07:00Z", signed_pdf_sha256="s" * 64, proof_sha256="p" * 64))
    mailed = _event(events_pb2.NotificationSent(delivery_id="d1", quote_id=quote.id, channel="email",
                                                recipient="antoine@example.com", template="signature_confirmation",
                                                at="2026-11-29T10:08:00Z", subject=f"Devis {quote.number} signé"))
    views = _accesses(quote.id)
    make_batch_handler(app)([*views[:2], signed, *views[2:], mailed, signed])
    detail = crm.GetQuote(quotes_pb2.GetQuoteRequest(quote_id=quote.id))
    assert detail.status == "Accepté" and detail.signature.proof_sha256 == "p" * 64
    assert (detail.view_count, detail.download_count) == (3, 2)  # the aggregate's save kept the batch's counts
    kinds = [h.kind for h in detail.history]
    assert kinds.count("signed") == 1 and kinds.count("notification") == 1
    assert kinds.count("viewed") == 3 and kinds.count("downloaded") == 2


def test_a_view_of_another_tenants_quote_fails_the_batch_and_writes_nothing(service):
    app, crm, quote = _one_sent_quote(service)
    rows = _inbox_rows(app)
    foreign = _viewed(quote.id, "2026-11-29T10:00:00Z", tenant="tenant-b")
    with pytest.raises(NotFound, match="not found"):
        make_batch_handler(app)([_viewed(quote.id, "2026-11-29T09:00:00Z"), foreign])
    assert _state(crm, quote.id)[:2] == (0, 0) and _inbox_rows(app) == rows


def test_a_batch_across_tenants_counts_each_tenants_quotes_apart(service):
    app, stub = service
    crm_a, crm_b = stub("tenant-a"), stub("tenant-b")
    directory(crm_a)
    directory(crm_b)
    quote_a, quote_b = _sent(crm_a), _sent(crm_b)
    batch = [_viewed(quote_a.id, "2026-11-29T10:00:00Z"),
             _viewed(quote_b.id, "2026-11-29T10:01:00Z", tenant="tenant-b"),
             _downloaded(quote_a.id, "2026-11-29T10:02:00Z"),
             _viewed(quote_b.id, "2026-11-29T10:03:00Z", tenant="tenant-b")]
    make_batch_handler(app)(batch)
    views, downloads, last_viewed, history = _state(crm_a, quote_a.id)
    assert (views, downloads, len(history)) == (1, 1, 2) and last_viewed.startswith("2026-11-29T10:00:00")
    views, downloads, last_viewed, history = _state(crm_b, quote_b.id)
    assert (views, downloads, len(history)) == (2, 0, 2) and last_viewed.startswith("2026-11-29T10:03:00")


def test_an_older_view_never_moves_the_last_view_back_and_a_download_never_moves_it(service):
    app, crm, quote = _one_sent_quote(service)
    batch = make_batch_handler(app)
    batch([_viewed(quote.id, "2026-11-29T10:00:00Z")])
    batch([_viewed(quote.id, "2026-11-29T09:00:00Z"), _downloaded(quote.id, "2026-11-29T11:00:00Z")])
    views, downloads, last_viewed, _ = _state(crm, quote.id)
    assert (views, downloads) == (2, 1) and last_viewed.startswith("2026-11-29T10:00:00")


def test_accesses_at_the_same_moment_keep_their_arrival_order_in_the_history(service):
    app, crm, quote = _one_sent_quote(service)
    ips = [f"203.0.113.{n}" for n in (40, 7, 99, 12, 3)]
    make_batch_handler(app)([_viewed(quote.id, "2026-11-29T10:00:00Z", ip=ip) for ip in ips])
    detail = crm.GetQuote(quotes_pb2.GetQuoteRequest(quote_id=quote.id))
    assert [h.detail.split()[1] for h in detail.history if h.kind == "viewed"] == ips


def test_a_view_naming_no_possible_quote_id_fails_the_batch_before_any_write(service):
    app, crm, quote = _one_sent_quote(service)
    rows = _inbox_rows(app)
    with pytest.raises(NotFound, match="not found"):
        make_batch_handler(app)([_viewed(quote.id, "2026-11-29T09:00:00Z"),
                                 _viewed("bad\x00id", "2026-11-29T09:01:00Z")])
    assert _state(crm, quote.id)[:2] == (0, 0) and _inbox_rows(app) == rows


def test_a_bad_event_in_a_consumed_batch_is_dead_lettered_alone_and_the_others_land_once(service):
    app, stub = service
    crm = stub("tenant-a")
    directory(crm)
    quotes = [_sent(crm) for _ in range(3)]
    views = [_viewed(quotes[i % 3].id, f"2026-11-29T10:{i:02d}:00Z") for i in range(60)]
    poison = _viewed("00000000-0000-4000-8000-000000000000", "2026-11-29T10:00:00Z")
    flow = [*views[:25], poison, views[3], *views[25:]]
    with private_vhost() as url:
        app.config = replace(app.config, common=replace(app.config.common, broker_url=url, max_attempts=2))
        consumer = build_consumer(app, backoff=0.05)
        publisher = Publisher(url)
        assert publisher.publish_batch([(e.type, e.to_json(), e.id) for e in flow]) == len(flow)
        thread = start(consumer)
        try:
            assert wait_for(lambda: consumer.stats["dead_lettered"] == 1
                            and consumer.stats["handled"] + consumer.stats["duplicates"] == 61, timeout=30)
        finally:
            consumer.stop()
            thread.join(10)
            publisher.close()
    assert sum(_state(crm, q.id)[0] for q in quotes) == 60
    for q in quotes:
        history = _state(crm, q.id)[3]
        assert len(history) == 20 and len({at for _, at, _, _ in history}) == 20
    assert consumer.stats["batches"] < 30  # most events shared a transaction
