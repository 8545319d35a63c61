"""Envelopes from the portal's queue -> the portal's event handlers."""
from __future__ import annotations

import logging
from typing import Callable

from quoteflow.envelope import Envelope
from quoteflow.uow import AlreadyHandled
from services.portal.adapters import messages

log = logging.getLogger(__name__)


_PARSERS = {
    "quote.sent": messages.quote_sent,
    "quote.assignee_changed": messages.quote_assignee_changed,
    "quote.withdrawn": messages.quote_withdrawn,
    "signature.completed": messages.signature_completed,
    "signature.declined": messages.signature_declined,
}


def make_handler(handle: Callable) -> Callable[[Envelope], None]:
    """The EventConsumer callback: parse, handle once (a redelivery is a no-op), let failures raise."""

    def on_event(envelope: Envelope) -> None:
        parse = _PARSERS.get(envelope.type)
        if parse is None:
            return  # other quote.* / signature.* events (quote.status_changed…) say nothing the pages show
        try:
            handle(parse(envelope))
        except AlreadyHandled:
            log.info("event %s (%s) already handled", envelope.id, envelope.type)

    return on_event
