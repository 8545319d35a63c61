import json

import pytest

from quoteflow.envelope import Envelope, MalformedEvent
from quoteflow.v1 import events_pb2


def test_envelope_round_trips_as_cloudevents_json():
    envelope = Envelope.wrap(events_pb2.QuoteViewed(quote_id="q1", ip="10.0.0.1", user_agent="Firefox"),
                             source="quoteflow/portal", subject="quote/q1", tenant="t1")
    doc = json.loads(envelope.to_json())
    assert doc["specversion"] == "1.0" and doc["type"] == "portal.quote_viewed"
    assert doc["tenantid"] == "t1" and doc["correlationid"] == envelope.id and doc["time"].endswith("Z")
    again = Envelope.from_json(envelope.to_json())
    assert again.payload().user_agent == "Firefox"


@pytest.mark.parametrize("raw,reason", [
    ("not json", "not JSON"),
    ("[]", "not a JSON object"),
    ('{"specversion": "0.3"}', "specversion"),
    ('{"specversion": "1.0", "id": "x", "type": "quote.nope", "source": "s", "time": "t", "tenantid": "t", "data": {}}',
     "unknown event type"),
    ('{"specversion": "1.0", "id": "x", "type": "quote.sent", "source": "s", "time": "t", "tenantid": "t",'
     ' "data": {"version": "deux"}}', "does not match its schema"),
])
def test_malformed_events_say_why(raw, reason):
    with pytest.raises(MalformedEvent, match=reason):
        Envelope.from_json(raw)
