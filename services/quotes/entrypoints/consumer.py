"""Bus messages -> domain events -> handlers, each inside one unit of work with its inbox record."""
from __future__ import annotations

import logging
from datetime import datetime

from quoteflow.envelope import Envelope
from quoteflow.uow import AlreadyHandled
from services.quotes import handlers
from services.quotes.domain import events

log = logging.getLogger(__name__)


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
