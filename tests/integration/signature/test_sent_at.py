"""The "sent" and "sent_again" entries keep when the CRM sent the quote (the quote.sent event's time)."""
from dataclasses import replace

from quoteflow.envelope import Envelope
from services.signature.entrypoints.consumer import to_event


def test_each_send_keeps_the_time_the_crm_sent_it(app, consume, send):
    first = send()
    with app.uow() as uow:
        request = uow.requests.latest(first.tenant, first.payload().quote_id)
    assert request.evidence[0].data["sent_at"] == first.time
    again = replace(Envelope.from_json(first.to_json()), id="relance-1", time="2026-11-30T08:00:00.123456Z")
    consume(again)
    with app.uow() as uow:
        request = uow.requests.latest(first.tenant, first.payload().quote_id)
    assert [e.step for e in request.evidence] == ["sent", "sent_again"]
    assert request.evidence[1].data["sent_at"] == "2026-11-30T08:00:00.123456Z"


def test_an_unreadable_event_time_is_left_out_rather_than_refusing_the_event(send):
    sent = send()
    assert to_event(replace(sent, time="yesterday")).sent_at is None
    assert to_event(replace(sent, time="2026-11-30T08:00:00")).sent_at is None  # no zone: not a time to keep
