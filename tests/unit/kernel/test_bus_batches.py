"""CloudEvents batch messages without a broker: how the publisher groups events, how a consumer splits them."""
from __future__ import annotations

import json
from dataclasses import replace

import pytest

from quoteflow.bus import (BATCH_CONTENT_TYPE, BATCH_MAX_EVENTS, CONTENT_TYPE, TRACEPARENT_HEADER, _batch_events,
                           _BatchDelivery, _messages_of, _Part)
from quoteflow.envelope import Envelope, MalformedEvent
from quoteflow.v1 import events_pb2


def downloaded(i: int) -> Envelope:
    return Envelope.wrap(events_pb2.QuoteDownloaded(quote_id=f"q{i}", ip="192.0.2.1"), source="quoteflow/portal",
                         subject=f"quote/q{i}", tenant="t")


def viewed(i: int) -> Envelope:
    return Envelope.wrap(events_pb2.QuoteViewed(quote_id=f"q{i}"), source="quoteflow/portal",
                         subject=f"quote/q{i}", tenant="t")


def items(envelopes):
    return [(e.type, e.to_json(), e.id) for e in envelopes]


def test_consecutive_events_of_one_type_travel_together_in_chunks_and_a_lone_one_stays_plain():
    run = [downloaded(i) for i in range(BATCH_MAX_EVENTS + 3)]
    lone, pair, last = viewed(0), [downloaded(900), downloaded(901)], viewed(1)
    flow = [*run, lone, *pair, last]

    messages = _messages_of(items(flow))

    assert [(m[0], m[2], m[3], m[4]) for m in messages] == [
        ("portal.quote_downloaded", f"batch:{run[0].id}", BATCH_MAX_EVENTS, BATCH_CONTENT_TYPE),
        ("portal.quote_downloaded", f"batch:{run[BATCH_MAX_EVENTS].id}", 3, BATCH_CONTENT_TYPE),
        ("portal.quote_viewed", lone.id, 1, CONTENT_TYPE),
        ("portal.quote_downloaded", f"batch:{pair[0].id}", 2, BATCH_CONTENT_TYPE),
        ("portal.quote_viewed", last.id, 1, CONTENT_TYPE),
    ]
    # A batch body is the JSON array of the events exactly as each travels alone; a plain one is the event.
    assert json.loads(messages[0][1]) == [e.to_dict() for e in run[:BATCH_MAX_EVENTS]]
    assert json.loads(messages[1][1]) == [e.to_dict() for e in run[BATCH_MAX_EVENTS:]]
    assert messages[2][1] == lone.to_json()
    assert sum(m[3] for m in messages) == len(flow)


def test_a_batch_body_must_be_a_json_array_of_objects():
    events = [downloaded(i) for i in range(3)]
    assert _batch_events("[" + ",".join(e.to_json() for e in events) + "]") == [e.to_dict() for e in events]
    assert _batch_events(b" [ ] ") == []  # an empty batch is valid CloudEvents
    for body, problem in (("[{}", "batch is not JSON"), (events[0].to_json(), "must be a JSON array, not an object"),
                          ("42", "must be a JSON array, not a scalar"),
                          (f"[{events[0].to_json()}, 42]", "element 1 of the CloudEvents batch is not a JSON object"),
                          (b"[\xff]", "batch is not JSON")):
        with pytest.raises(MalformedEvent, match=problem):
            _batch_events(body)


class FakeMessage:
    """The kombu message of a whole batch: counts its acks."""

    def __init__(self, headers: dict):
        self.headers = headers
        self.delivery_info = {"routing_key": "portal.quote_downloaded"}
        self.properties = {"message_id": "batch:first", "delivery_mode": 2}
        self.acks = 0

    def ack(self):
        self.acks += 1


def test_a_batch_message_is_acked_once_with_its_last_event_and_an_event_settles_once():
    trace = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    events = [downloaded(0), replace(downloaded(1), traceparent=trace)]
    parent = FakeMessage({TRACEPARENT_HEADER: "00-11111111111111111111111111111111-2222222222222222-01",
                          "x-other": "kept"})
    delivery = _BatchDelivery(parent, len(events))
    parts = [_Part(delivery, e.to_json(), e.id) for e in events]

    assert parts[0].headers == {"x-other": "kept"}  # no trace of its own: not the first event's either
    assert parts[1].headers == {"x-other": "kept", TRACEPARENT_HEADER: trace}
    assert [p.properties["message_id"] for p in parts] == [e.id for e in events]
    assert parts[1].properties["delivery_mode"] == 2 and parts[1].delivery_info == parent.delivery_info
    parts[1].ack()
    assert parent.acks == 0
    with pytest.raises(RuntimeError, match="settled twice"):
        parts[1].ack()
    parts[0].ack()
    assert parent.acks == 1
