"""Envelopes from the portal's queue -> the portal's event handlers."""
from __future__ import annotations

import logging
from typing import Callable

from google.protobuf import json_format

from quoteflow.envelope import Envelope
from quoteflow.uow import AlreadyHandled
from services.portal import handlers
from services.portal.adapters import messages

log = logging.getLogger(__name__)

def _assignee_changed(envelope: Envelope) -> handlers.QuoteAssigneeChanged:
    changed = envelope.payload()
    return handlers.QuoteAssigneeChanged(
        event_id=envelope.id, tenant=envelope.tenant, quote_id=changed.quote_id,
        assignee=json_format.MessageToDict(changed.assignee, preserving_proto_field_name=True))


_PARSERS = {
    "quote.sent": messages.quote_sent,
    "quote.assignee_changed": _assignee_changed,
    "signature.completed": messages.signature_completed,
    "signature.declined": messages.signature_declined,
}


def make_handler(handle: Callable) -> Callable[[Envelope], None]:
    """The EventConsumer callback: parse, handle once (a redelivery is a no-op), let failures raise."""

    def on_event(envelope: Envelope) -> None:
        parse = _PARSERS.get(envelope.type)
        if parse is None:
            return  # other quote.* / signature.* events say nothing the pages show
        try:
            handle(parse(envelope))
        except AlreadyHandled:
            log.info("event %s (%s) already handled", envelope.id, envelope.type)

    return on_event
