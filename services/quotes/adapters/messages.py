"""What a quote records about itself (domain events) -> the envelopes the outbox publishes."""
from __future__ import annotations

from quoteflow.envelope import Envelope, rfc3339
from quoteflow.v1 import events_pb2
from services.quotes.domain import events

SOURCE = "quoteflow/quotes"


def envelope_of(event: events.Event) -> Envelope:
    if isinstance(event, events.QuoteStatusChanged):
        payload = events_pb2.QuoteStatusChanged(
            quote_id=event.quote_id, number=event.number, previous_status=event.previous_status,
            status=event.status, cause=event.cause, changed_at=rfc3339(event.at), version=event.version,
            actor=event.actor)
    elif isinstance(event, events.QuoteWithdrawn):
        payload = events_pb2.QuoteWithdrawn(
            quote_id=event.quote_id, number=event.number, version=event.version, reason=event.reason,
            withdrawn_at=rfc3339(event.at), actor=event.actor)
    else:
        raise TypeError(f"the quotes service does not publish {type(event).__name__}")
    return Envelope.wrap(payload, source=SOURCE, subject=f"quote/{event.quote_id}", tenant=event.tenant)
