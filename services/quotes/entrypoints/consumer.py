"""Bus messages -> domain events -> handlers, inside one unit of work with the inbox record(s).

The consumer takes what has arrived together (up to ``BATCH`` messages) to ``handle_batch``:
one inbox statement for the batch, views and downloads recorded set-based, the other events
by their handlers, one commit, then the acks. When the batch fails, each message is handled
alone by ``handle`` (its own unit of work), so a bad event is retried and dead-lettered alone.
"""
from __future__ import annotations

import logging
from datetime import datetime

from quoteflow.bus import EventConsumer
from quoteflow.envelope import Envelope
from quoteflow.uow import AlreadyHandled
from services.quotes import handlers
from services.quotes.domain import events

log = logging.getLogger(__name__)

# A batch is what has arrived, never waited for; a prefetch of two batches lets the next one arrive
# while this one is handled. A batch's transaction costs about 2.5 ms on PostgreSQL whatever its size
# (connection check, BEGIN, the inbox and the accesses statements, the commit's WAL flush) against
# some 40 µs per event: 200 keep that fixed share near 15 µs an event when the queue is full (50: 50 µs).
BATCH = 200
ACCESSES = (events.QuoteViewed, events.QuoteDownloaded)


def _at(text: str, fallback: str) -> datetime:
    return datetime.fromisoformat((text or fallback).replace("Z", "+00:00"))


def to_event(envelope: Envelope) -> events.Event | None:
    p = envelope.payload()
    if envelope.type == "portal.quote_viewed":
        return events.QuoteViewed(tenant=envelope.tenant, quote_id=p.quote_id, at=_at(p.at, envelope.time),
                                  who=p.recipient_email, ip=p.ip, user_agent=p.user_agent)
    if envelope.type == "portal.quote_downloaded":
        return events.QuoteDownloaded(tenant=envelope.tenant, quote_id=p.quote_id, at=_at(p.at, envelope.time),
                                      who=p.recipient_email, ip=p.ip, user_agent=p.user_agent)
    if envelope.type == "signature.requested":
        return events.SignatureRequested(tenant=envelope.tenant, quote_id=p.quote_id, at=_at("", envelope.time),
                                         signer_email=p.signer_email)
    if envelope.type == "signature.completed":
        return events.SignatureCompleted(
            tenant=envelope.tenant, quote_id=p.quote_id, at=_at(p.signed_at, envelope.time),
            signer_name=p.signer_name, signer_email=p.signer_email, signed_at=p.signed_at,
            request_id=p.request_id, document_sha256=p.document_sha256, evidence_sha256=p.evidence_sha256,
            signed_pdf_sha256=p.signed_pdf_sha256, proof_sha256=p.proof_sha256, version=p.version)
    if envelope.type == "signature.declined":
        return events.SignatureDeclined(
            tenant=envelope.tenant, quote_id=p.quote_id, at=_at(p.declined_at, envelope.time),
            signer_name=p.signer_name, signer_email=p.signer_email, reason=p.reason, declined_at=p.declined_at,
            request_id=p.request_id, version=p.version)
    if envelope.type in ("notification.sent", "notification.failed"):
        failed = envelope.type == "notification.failed"
        return events.NotificationDelivered(
            tenant=envelope.tenant, quote_id=p.quote_id, at=_at(p.at, envelope.time), channel=p.channel,
            recipient=p.recipient, template=p.template, subject="" if failed else p.subject,
            error=(p.error or "échec") if failed else "")
    return None


def make_handler(app):
    def handle(envelope: Envelope) -> None:
        event = to_event(envelope)
        if event is None:
            return
        try:
            with app.uow() as uow:
                uow.record_inbox(envelope)
                handlers.EVENT_HANDLERS[type(event)](event, uow)
                uow.commit()
        except AlreadyHandled:
            log.info("event %s (%s) already handled", envelope.id, envelope.type)

    return handle


def make_batch_handler(app):
    def handle_batch(envelopes: list[Envelope]) -> None:
        known = [(envelope, event) for envelope in envelopes if (event := to_event(envelope)) is not None]
        if not known:
            return
        with app.uow() as uow:
            fresh = {envelope.id for envelope in uow.record_inbox_many([envelope for envelope, _ in known])}
            accesses, others = [], []
            for envelope, event in known:
                if envelope.id not in fresh:
                    log.info("event %s (%s) already handled", envelope.id, envelope.type)
                    continue
                fresh.discard(envelope.id)  # twice in one batch: once
                (accesses if isinstance(event, ACCESSES) else others).append(event)
            # Counters first (their rows locked in id order), then the aggregates, in arrival order.
            handlers.record_accesses(accesses, uow)
            for event in others:
                handlers.EVENT_HANDLERS[type(event)](event, uow)
            uow.commit()

    return handle_batch


def build_consumer(app, **options) -> EventConsumer:
    """The service's consumer: batches of up to BATCH set-based, one by one when a batch fails."""
    common = app.config.common
    options = {"max_attempts": common.max_attempts, "prefetch": 2 * BATCH, "batch": BATCH, **options}
    return EventConsumer(common.broker_url, "quotes", make_handler(app), handle_batch=make_batch_handler(app),
                         **options)
