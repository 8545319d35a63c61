"""Event payloads (protobuf, proto/quoteflow/v1/events.proto) <-> the portal's event dataclasses."""
from __future__ import annotations

from datetime import datetime, timezone

from google.protobuf import json_format

from quoteflow.envelope import Envelope, rfc3339
from quoteflow.v1 import common_pb2, events_pb2
from services.portal.domain import events

SOURCE = "quoteflow/portal"


def parse_time(text: str) -> datetime | None:
    """RFC 3339 (or an ISO date, read as midnight UTC) -> aware datetime; "" -> None."""
    if not text:
        return None
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _dict(message) -> dict:
    return json_format.MessageToDict(message, preserving_proto_field_name=True)


def quote_sent(envelope: Envelope) -> events.QuoteSent:
    sent: events_pb2.QuoteSent = envelope.payload()
    return events.QuoteSent(
        event_id=envelope.id, tenant=envelope.tenant, quote_id=sent.quote_id, number=sent.number,
        version=sent.version, recipient=_dict(sent.recipient), assignee=_dict(sent.assignee),
        link_token_sha256=sent.link_token_sha256.lower(), expires_at=parse_time(sent.expires_at),
        pdf_sha256=sent.pdf_sha256, signature_requested=sent.signature_requested,
        snapshot=_dict(sent.snapshot), signature_otp=sent.signature_otp)


def quote_assignee_changed(envelope: Envelope) -> events.QuoteAssigneeChanged:
    changed: events_pb2.QuoteAssigneeChanged = envelope.payload()
    return events.QuoteAssigneeChanged(event_id=envelope.id, tenant=envelope.tenant, quote_id=changed.quote_id,
                                       assignee=_dict(changed.assignee))


def quote_withdrawn(envelope: Envelope) -> events.QuoteWithdrawn:
    withdrawn: events_pb2.QuoteWithdrawn = envelope.payload()
    return events.QuoteWithdrawn(event_id=envelope.id, tenant=envelope.tenant, quote_id=withdrawn.quote_id,
                                 version=withdrawn.version)


def signature_completed(envelope: Envelope) -> events.SignatureCompleted:
    done: events_pb2.SignatureCompleted = envelope.payload()
    return events.SignatureCompleted(
        event_id=envelope.id, tenant=envelope.tenant, quote_id=done.quote_id, version=done.version,
        signer_name=done.signer_name, signed_at=parse_time(done.signed_at) or parse_time(envelope.time),
        signed_pdf_sha256=done.signed_pdf_sha256)


def signature_declined(envelope: Envelope) -> events.SignatureDeclined:
    declined: events_pb2.SignatureDeclined = envelope.payload()
    return events.SignatureDeclined(
        event_id=envelope.id, tenant=envelope.tenant, quote_id=declined.quote_id, version=declined.version,
        signer_name=declined.signer_name, reason=declined.reason,
        declined_at=parse_time(declined.declined_at) or parse_time(envelope.time))


_PARTY_FIELDS = tuple(f.name for f in common_pb2.Party.DESCRIPTOR.fields)  # all strings


def _party(doc: dict) -> common_pb2.Party:
    """The read model's person (a dict from the quote's event) as a Party; unknown keys left out. Built
    field by field: json_format.ParseDict cost more than the rest of a download's event."""
    doc = doc or {}
    return common_pb2.Party(**{name: str(doc[name]) for name in _PARTY_FIELDS if doc.get(name)})


def envelope_of(event: events.Event) -> Envelope:
    if isinstance(event, events.QuoteViewed):
        payload = events_pb2.QuoteViewed(
            quote_id=event.quote_id, number=event.number, version=event.version,
            recipient_email=event.recipient_email, ip=event.ip, user_agent=event.user_agent,
            at=rfc3339(event.at), assignee=_party(event.assignee))
    elif isinstance(event, events.QuoteDownloaded):
        payload = events_pb2.QuoteDownloaded(
            quote_id=event.quote_id, number=event.number, version=event.version,
            recipient_email=event.recipient_email, ip=event.ip, user_agent=event.user_agent,
            at=rfc3339(event.at), assignee=_party(event.assignee), pdf_sha256=event.pdf_sha256)
    else:
        raise TypeError(f"the portal does not publish {type(event).__name__}")
    return Envelope.wrap(payload, source=SOURCE, subject=f"quote/{event.quote_id}", tenant=event.tenant)
