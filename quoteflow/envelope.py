"""The CloudEvents 1.0 envelope every event travels in, with its protobuf payload as JSON."""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone

from google.protobuf import json_format
from google.protobuf.message import Message

from quoteflow.observability import current_traceparent
from quoteflow.v1 import events_pb2

# Routing key / CloudEvents type -> payload message. One source of truth: proto/.
EVENT_TYPES: dict[str, type[Message]] = {
    "quote.sent": events_pb2.QuoteSent,
    "portal.quote_viewed": events_pb2.QuoteViewed,
    "portal.quote_downloaded": events_pb2.QuoteDownloaded,
    "signature.requested": events_pb2.SignatureRequested,
    "signature.completed": events_pb2.SignatureCompleted,
    "signature.declined": events_pb2.SignatureDeclined,
    "signature.code_requested": events_pb2.SignatureCodeRequested,
    "notification.sent": events_pb2.NotificationSent,
    "notification.failed": events_pb2.NotificationFailed,
    "apikey.created": events_pb2.ApiKeyCreated,
    "apikey.revoked": events_pb2.ApiKeyRevoked,
}


class MalformedEvent(ValueError):
    """A message on the bus is not a valid Quoteflow event; the text says why."""


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Envelope:
    type: str
    source: str
    subject: str
    tenant: str
    data: dict
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    time: str = field(default_factory=lambda: rfc3339(utcnow()))
    correlation_id: str = ""
    traceparent: str = ""  # CloudEvents distributed-tracing extension
    _parsed: Message | None = field(default=None, init=False, compare=False, repr=False)

    @classmethod
    def wrap(cls, payload: Message, *, source: str, subject: str, tenant: str,
             correlation_id: str = "") -> "Envelope":
        type_ = next((t for t, m in EVENT_TYPES.items() if isinstance(payload, m)), None)
        if type_ is None:
            raise TypeError(f"{type(payload).__name__} is not a registered event payload")
        data = json_format.MessageToDict(payload, preserving_proto_field_name=True)
        event_id = str(uuid.uuid4())
        return cls(type=type_, source=source, subject=subject, tenant=tenant, data=data,
                   id=event_id, correlation_id=correlation_id or event_id, traceparent=current_traceparent())

    def to_dict(self) -> dict:
        doc = {
            "specversion": "1.0",
            "id": self.id,
            "type": self.type,
            "source": self.source,
            "subject": self.subject,
            "time": self.time,
            "datacontenttype": "application/json",
            "tenantid": self.tenant,
            "correlationid": self.correlation_id,
            "data": self.data,
        }
        if self.traceparent:
            doc["traceparent"] = self.traceparent
        return doc

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str | bytes | dict) -> "Envelope":
        try:
            doc = raw if isinstance(raw, dict) else json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise MalformedEvent(f"not JSON: {exc}") from None
        if not isinstance(doc, dict):
            raise MalformedEvent("envelope is not a JSON object")
        if doc.get("specversion") != "1.0":
            raise MalformedEvent(f"specversion must be '1.0', got {doc.get('specversion')!r}")
        missing = [k for k in ("id", "type", "source", "time", "tenantid", "data") if not doc.get(k) and k != "data"]
        if missing:
            raise MalformedEvent(f"missing attribute(s): {', '.join(missing)}")
        if doc["type"] not in EVENT_TYPES:
            raise MalformedEvent(f"unknown event type {doc['type']!r}")
        if not isinstance(doc.get("data"), dict):
            raise MalformedEvent("data must be a JSON object")
        envelope = cls(type=doc["type"], source=doc["source"], subject=doc.get("subject", ""),
                       tenant=doc["tenantid"], data=doc["data"], id=doc["id"], time=doc["time"],
                       correlation_id=doc.get("correlationid", ""), traceparent=doc.get("traceparent", ""))
        envelope.payload()  # validates the data against the schema
        return envelope

    def payload(self) -> Message:
        """The data as its protobuf message: parsed once (validation already parses it), a copy per call."""
        if self._parsed is None:
            message = EVENT_TYPES[self.type]()
            try:
                json_format.ParseDict(self.data, message)
            except json_format.ParseError as exc:
                raise MalformedEvent(f"{self.type} data does not match its schema: {exc}") from None
            object.__setattr__(self, "_parsed", message)
        copy = EVENT_TYPES[self.type]()
        copy.CopyFrom(self._parsed)
        return copy
