from pathlib import Path

from quoteflow.envelope import EVENT_TYPES
from quoteflow.eventdoc import render

ROOT = Path(__file__).resolve().parents[3]


def test_events_document_is_up_to_date():
    assert (ROOT / "docs/events.md").read_text(encoding="utf-8") == render(), "run `python -m quoteflow.eventdoc`"


def test_every_event_has_a_consumer_and_is_documented():
    text = render()
    for event_type in EVENT_TYPES:
        assert f"## `{event_type}`" in text
    assert "- consumers: none" not in text
