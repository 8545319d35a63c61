"""The CloudEvents 1.0 envelope every event travels in, with its protobuf payload as JSON."""
from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone

from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from quoteflow.observability import current_traceparent
from quoteflow.v1 import events_pb2

# Routing key / CloudEvents type -> payload message. One source of truth: proto/.
EVENT_TYPES: dict[str, type[Message]] = {
    "quote.sent": events_pb2.QuoteSent,
    "quote.assignee_changed": events_pb2.QuoteAssigneeChanged,
    "quote.status_changed": events_pb2.QuoteStatusChanged,
    "quote.withdrawn": events_pb2.QuoteWithdrawn,
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


# What the fast converters do with a field's value (json_format's proto3 JSON mapping):
_AS_IS, _QUOTED, _NESTED = "as is", "quoted", "nested"
_KIND_OF_TYPE = {
    FieldDescriptor.TYPE_STRING: _AS_IS, FieldDescriptor.TYPE_BOOL: _AS_IS,
    FieldDescriptor.TYPE_INT32: _AS_IS, FieldDescriptor.TYPE_SINT32: _AS_IS,
    FieldDescriptor.TYPE_SFIXED32: _AS_IS, FieldDescriptor.TYPE_UINT32: _AS_IS,
    FieldDescriptor.TYPE_FIXED32: _AS_IS,
    # 64-bit integers are JSON strings: a JSON number loses precision beyond 2**53.
    FieldDescriptor.TYPE_INT64: _QUOTED, FieldDescriptor.TYPE_SINT64: _QUOTED,
    FieldDescriptor.TYPE_SFIXED64: _QUOTED, FieldDescriptor.TYPE_UINT64: _QUOTED,
    FieldDescriptor.TYPE_FIXED64: _QUOTED,
    FieldDescriptor.TYPE_MESSAGE: _NESTED,
}
# The Python type json.loads gives a value that ParseDict sets as it is, per kind of "as is" field.
_JSON_TYPE = {FieldDescriptor.CPPTYPE_STRING: str, FieldDescriptor.CPPTYPE_BOOL: bool,
              FieldDescriptor.CPPTYPE_INT32: int, FieldDescriptor.CPPTYPE_UINT32: int}
# A 64-bit integer as _to_dict writes it (ParseDict also takes " 1", "1e3", "1.0", "1_000", "+1", "١"...).
_DECIMAL = re.compile(r"-?[0-9]+")
_MAX_DEPTH = 100  # ParseDict's default max_recursion_depth: it refuses messages nested deeper


class _Plans(dict):
    """Per message type: (plan for _to_dict, plan for _from_dict), or None when json_format has to
    convert it. The first maps each field descriptor to (name, kind, repeated, nested type's plan); the
    second each JSON key it takes to (name, kind or Python type of the value, repeated, nested type's
    plan). Filled on first use, so a call costs one dict lookup per field."""

    def __missing__(self, descriptor: Descriptor) -> tuple[dict, dict] | None:
        plan = self[descriptor] = _plan(descriptor)
        return plan


_PLANS = _Plans()


def _to_dict(message: Message) -> dict:
    """json_format.MessageToDict(message, preserving_proto_field_name=True), without its per-field
    dispatch (~9 of the ~23 µs the portal spends building a download's event). Handles strings, bools,
    integers and nested messages of such; any other kind anywhere in the type goes to json_format."""
    plan = _PLANS[message.DESCRIPTOR]
    if plan is None:
        return json_format.MessageToDict(message, preserving_proto_field_name=True)
    return _convert(message, plan[0])


def _convert(message: Message, plan: dict) -> dict:
    # ListFields is what json_format walks too: the set fields (with presence, set even to the default;
    # without, non-default), in field-number order, so the keys come out in the same order.
    doc = {}
    for field, value in message.ListFields():
        name, kind, repeated, nested = plan[field]
        if kind is _AS_IS:
            doc[name] = list(value) if repeated else value
        elif kind is _QUOTED:
            doc[name] = [str(item) for item in value] if repeated else str(value)
        else:
            doc[name] = [_convert(item, nested) for item in value] if repeated else _convert(value, nested)
    return doc


class _Unplanned(Exception):
    """A value the fast parser leaves to json_format."""


def _from_dict(data: dict, message_class: type[Message]) -> Message:
    """json_format.ParseDict(data, message_class()), without its per-field dispatch (Envelope.from_json
    of a download's event: ~40 µs with ParseDict, ~11 without), for data as _to_dict writes it: proto
    field names, values of exactly the JSON type of their field, 64-bit integers as numbers or decimal
    strings. Anything else (camelCase names, nulls, floats or bools for integers, tuples, values out of
    range, members of a oneof of several fields) goes to ParseDict, which then coerces, or refuses in its
    own words, as it always did."""
    plan = _PLANS[message_class.DESCRIPTOR]
    if plan is not None:
        message = message_class()
        try:
            _parse(data, message, plan[1], 1)
            return message
        # KeyError: a key it does not take; ValueError, TypeError (those ParseDict makes ParseErrors
        # of): a value protobuf refuses (out of range, a surrogate in a string, too many digits for int).
        except (_Unplanned, KeyError, ValueError, TypeError):
            pass
    return json_format.ParseDict(data, message_class())


def _parse(doc: dict, message: Message, plan: dict, depth: int) -> None:
    if type(doc) is not dict or depth > _MAX_DEPTH:
        raise _Unplanned
    for key, value in doc.items():
        name, kind, repeated, nested = plan[key]
        if repeated:
            if type(value) is not list:
                raise _Unplanned
            if kind is _NESTED:
                add = getattr(message, name).add
                for item in value:
                    _parse(item, add(), nested, depth + 1)
            else:
                getattr(message, name).extend([_scalar(item, kind) for item in value])
        elif type(value) is kind:
            setattr(message, name, value)
        elif kind is _NESTED:
            child = getattr(message, name)
            child.SetInParent()  # as ParseDict does: {} sets the field
            _parse(value, child, nested, depth + 1)
        else:
            setattr(message, name, _scalar(value, kind))


def _scalar(value, kind):
    """The value as ParseDict sets it, where that is the value itself or a 64-bit integer in decimal."""
    if type(value) is kind:
        return value
    if kind is _QUOTED and (type(value) is int or type(value) is str and _DECIMAL.fullmatch(value)):
        return int(value)
    raise _Unplanned


def _plan(root: Descriptor) -> tuple[dict, dict] | None:
    """The root type's plans, with those of the types it nests (recursive types included), or None if
    any of them has a field kind json_format treats specially: float/double (Infinity, NaN, shortest
    float), bytes (base64), enums (names), maps, groups, extensions, well-known types."""
    descriptors: set[Descriptor] = set()
    pending = [root]
    while pending:
        descriptor = pending.pop()
        if descriptor in descriptors:
            continue
        if descriptor.file.package == "google.protobuf" or descriptor.extension_ranges:
            return None
        descriptors.add(descriptor)
        for field in descriptor.fields:
            kind = _KIND_OF_TYPE.get(field.type)
            if kind is None or (kind is _NESTED and field.message_type.GetOptions().map_entry):
                return None
            if kind is _NESTED:
                pending.append(field.message_type)
    writes = {descriptor: {} for descriptor in descriptors}
    reads = {descriptor: {} for descriptor in descriptors}
    for descriptor in descriptors:
        by_json_name = {field.json_name: field for field in descriptor.fields}
        for field in descriptor.fields:
            kind = _KIND_OF_TYPE[field.type]
            nested = field.message_type if kind is _NESTED else None
            writes[descriptor][field] = (field.name, kind, field.is_repeated, writes.get(nested))
            # ParseDict takes a key for the field of that JSON name first (another field's, in proto2),
            # and refuses two members of a oneof.
            oneof = field.containing_oneof
            if by_json_name.get(field.name, field) is field and (oneof is None or len(oneof.fields) == 1):
                value_kind = _JSON_TYPE[field.cpp_type] if kind is _AS_IS else kind
                reads[descriptor][field.name] = (field.name, value_kind, field.is_repeated, reads.get(nested))
    return writes[root], reads[root]


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
        data = _to_dict(payload)
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
            try:
                message = _from_dict(self.data, EVENT_TYPES[self.type])
            except json_format.ParseError as exc:
                raise MalformedEvent(f"{self.type} data does not match its schema: {exc}") from None
            object.__setattr__(self, "_parsed", message)
        copy = EVENT_TYPES[self.type]()
        copy.CopyFrom(self._parsed)
        return copy
