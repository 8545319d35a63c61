"""Bus messages -> domain events -> handlers, each inside one unit of work with its inbox record."""
from __future__ import annotations

import logging
from datetime import datetime

from quoteflow.envelope import Envelope, MalformedEvent
from quoteflow.uow import AlreadyHandled
from services.signature.domain import events, model, purchase


log = logging.getLogger(__name__)


def _party(p) -> model.Party:
    return model.Party(id=p.id, name=p.name, email=p.email, phone=p.phone)


def _time(text: str) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise MalformedEvent(f"expires_at {text!r} is not an RFC 3339 time") from None
    if moment.tzinfo is None:
        raise MalformedEvent(f"expires_at {text!r} has no time zone")
    return moment


def _event_time(text: str) -> datetime | None:
    """The envelope's time, or None when it cannot be read: kept as data, it never refuses an event."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        return None
    return moment if moment.tzinfo is not None else None


def _line(line) -> dict:
    return {name: getattr(line, name) for name in purchase.LINE_FIELDS}


def _lines(snapshot) -> dict | None:
    """The frozen lines and totals quote.sent carries in its snapshot; None when it carries no line."""
    if not snapshot.lines:
        return None
    totals = snapshot.totals
    return purchase.snapshot(
        lines=[_line(line) for line in snapshot.lines], optional_lines=[_line(line) for line in snapshot.optional_lines],
        totals={name: getattr(totals, name) for name in purchase.TOTAL_FIELDS},
        vat=[{name: getattr(amount, name) for name in purchase.VAT_FIELDS} for amount in totals.vat],
        currency=totals.currency)


def to_event(envelope: Envelope) -> events.Event | None:
    """The events the service acts on; None for the others (quote.status_changed…), acknowledged unread."""
    if envelope.type == "quote.withdrawn":
        w = envelope.payload()
        return events.QuoteWithdrawn(event_id=envelope.id, tenant=envelope.tenant, quote_id=w.quote_id,
                                     version=w.version)
    if envelope.type != "quote.sent":
        return None
    p = envelope.payload()
    return events.QuoteSent(
        event_id=envelope.id, tenant=envelope.tenant, quote_id=p.quote_id, number=p.number or p.snapshot.number,
        version=p.version, signature_requested=p.signature_requested, document_sha256=p.pdf_sha256,
        recipient=_party(p.recipient), assignee=_party(p.assignee), total_ttc=p.snapshot.totals.total_ttc or "0",
        currency=p.snapshot.totals.currency or "EUR", expires_at=_time(p.expires_at),
        signature_otp=p.signature_otp, sent_at=_event_time(envelope.time), lines=_lines(p.snapshot))


def make_handler(app):
    def handle(envelope: Envelope) -> None:
        event = to_event(envelope)
        if event is None:
            return
        try:
            with app.uow() as uow:
                uow.record_inbox(envelope)
                app.handle_event(event, uow)
                uow.commit()
        except AlreadyHandled:
            log.info("event %s (%s) already handled", envelope.id, envelope.type)

    return handle
