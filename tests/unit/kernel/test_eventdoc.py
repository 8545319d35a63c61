from pathlib import Path

from quoteflow.envelope import EVENT_TYPES, Envelope
from quoteflow.eventdoc import example_envelope, proto_comments, render
from quoteflow.eventexamples import EXAMPLES

ROOT = Path(__file__).resolve().parents[3]
# Fields no example fills: quote.sent's link in clear, left empty since the link travels sealed.
LEFT_EMPTY = {"quoteflow.v1.QuoteSent.link_url"}


def test_events_document_is_up_to_date():
    assert (ROOT / "docs/events.md").read_text(encoding="utf-8") == render(), "run `python -m quoteflow.eventdoc`"


def test_every_event_has_a_consumer_and_is_documented():
    text = render()
    for event_type in EVENT_TYPES:
        assert f"## `{event_type}`" in text
    assert "- consumers: none" not in text


def test_every_event_and_every_field_says_what_it_means_in_the_proto():
    comments = proto_comments()
    for message in EVENT_TYPES.values():
        assert comments.get(message.DESCRIPTOR.full_name), f"{message.DESCRIPTOR.name} has no comment"
        for field in message.DESCRIPTOR.fields:
            assert comments.get(field.full_name), f"{field.full_name} has no comment in events.proto"


def test_every_event_has_an_example_that_fills_its_fields_and_reads_back_as_sent():
    assert set(EXAMPLES) == set(EVENT_TYPES)
    for event_type, payload in EXAMPLES.items():
        assert isinstance(payload, EVENT_TYPES[event_type]), event_type
        filled = {field.full_name for field, _ in payload.ListFields()}
        assert filled == {f.full_name for f in payload.DESCRIPTOR.fields} - LEFT_EMPTY, event_type
        envelope = example_envelope(event_type)
        read = Envelope.from_json(envelope.to_json())
        assert read.type == event_type and read.payload() == payload
        assert read.time == envelope.time and read.subject.split("/", 1)[1] in (getattr(payload, "quote_id", ""),
                                                                                getattr(payload, "key_id", ""))
