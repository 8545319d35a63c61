"""French formatting and the event mapping, without a database."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

from hypothesis import given, strategies as st

from quoteflow.envelope import Envelope
from quoteflow.v1 import common_pb2, events_pb2
from services.portal.adapters import messages
from services.portal.adapters.formatting import FrenchFormat
from services.portal.domain import events

fmt = FrenchFormat("Europe/Paris")


def plain(text: str) -> str:
    return text.replace("\u202f", " ").replace("\u00a0", " ")


def test_money_rates_and_dates_in_french():
    assert plain(fmt.money("1234.56")) == "1 234,56 €"
    assert plain(fmt.money("0")) == "0,00 €"
    assert plain(fmt.rate("5.5")) == "5,5 %"
    assert fmt.number("2.50") == "2,5"
    assert fmt.day("2025-03-05") == "5 mars 2025"
    assert fmt.moment(datetime(2025, 7, 14, 16, 5, tzinfo=timezone.utc)) == "14 juillet 2025 à 18:05"
    assert fmt.money("pas un nombre") == "" and fmt.day("") == ""


@given(st.decimals(min_value=Decimal("-1e9"), max_value=Decimal("1e9"), places=2, allow_nan=False))
def test_money_keeps_every_cent(amount):
    text = plain(fmt.money(amount))
    assert text.endswith(" €")
    digits = text[:-2].replace(" ", "").replace(",", ".").replace("\u2212", "-")
    assert Decimal(digits) == amount


def test_quote_sent_envelope_becomes_a_domain_event():
    sent = events_pb2.QuoteSent(
        quote_id="q-1", number="DEV-1", version=3, recipient=common_pb2.Party(email="zoe@example.fr"),
        assignee=common_pb2.Party(name="Hélène"), link_token_sha256="A" * 64,
        expires_at="2025-04-04T22:00:00Z", pdf_sha256="b" * 64, signature_requested=True,
        snapshot=common_pb2.QuoteSnapshot(number="DEV-1", totals=common_pb2.Totals(total_ttc="12.00")))
    envelope = Envelope.from_json(Envelope.wrap(sent, source="quoteflow/quotes", subject="quote/q-1",
                                                tenant="t-1").to_json())
    event = messages.quote_sent(envelope)
    assert event.id == envelope.id and event.type == "quote.sent"
    assert event.tenant == "t-1" and event.version == 3
    assert event.link_token_sha256 == "a" * 64
    assert event.expires_at == datetime(2025, 4, 4, 22, 0, tzinfo=timezone.utc)
    assert event.recipient == {"email": "zoe@example.fr"}
    assert event.snapshot["totals"]["total_ttc"] == "12.00"


def test_view_event_becomes_a_valid_envelope():
    at = datetime(2025, 3, 6, 9, 30, tzinfo=timezone.utc)
    envelope = messages.envelope_of(events.QuoteViewed(
        tenant="t-1", quote_id="q-1", number="DEV-1", version=2, recipient_email="zoe@example.fr",
        ip="203.0.113.7", user_agent="UA", at=at, assignee={"name": "Hélène", "email": "h@example.fr"}))
    back = Envelope.from_json(envelope.to_json())
    assert back.type == "portal.quote_viewed" and back.subject == "quote/q-1" and back.tenant == "t-1"
    payload = back.payload()
    assert isinstance(payload, events_pb2.QuoteViewed)
    assert payload.at == "2025-03-06T09:30:00.000000Z"
    assert payload.assignee.email == "h@example.fr" and payload.version == 2


def test_sizes_and_times_in_french():
    assert fmt.size(12_600) == ("12,3", "kb")
    assert fmt.size(2_500_000) == ("2,4", "mb")
    assert fmt.size(None) == ("0", "kb")
    assert fmt.time(datetime(2025, 7, 14, 16, 5, tzinfo=timezone.utc)) == "18:05"
    assert fmt.time(None) == ""


def test_quote_sent_carries_the_one_time_code_channel():
    sent = events_pb2.QuoteSent(quote_id="q-1", number="DV-1", version=1, signature_otp="sms",
                                link_token_sha256="a" * 64)
    envelope = Envelope.wrap(sent, source="quoteflow/quotes", subject="quote/q-1", tenant="t-1")
    assert messages.quote_sent(Envelope.from_json(envelope.to_json())).signature_otp == "sms"


def test_signature_declined_envelope_becomes_a_domain_event():
    declined = events_pb2.SignatureDeclined(request_id="r", quote_id="q-1", number="DV-1", version=2,
                                            signer_name="Zoé", reason="Trop cher", declined_at="2025-03-07T08:15:00Z")
    envelope = Envelope.from_json(Envelope.wrap(declined, source="quoteflow/signature", subject="quote/q-1",
                                                tenant="t-1").to_json())
    event = messages.signature_declined(envelope)
    assert event.type == "signature.declined" and event.id == envelope.id
    assert (event.tenant, event.quote_id, event.version, event.reason) == ("t-1", "q-1", 2, "Trop cher")
    assert event.declined_at == datetime(2025, 3, 7, 8, 15, tzinfo=timezone.utc)


def test_phone_numbers_are_written_the_french_way():
    from services.portal.entrypoints.pages import phone_display

    assert phone_display("+33600000001") == "+33 6 00 00 00 01"
    assert phone_display("06 12 34 56 78") == "06 12 34 56 78"
    assert phone_display("0612345678") == "06 12 34 56 78"
    assert phone_display("+44 20 7946 0958") == "+44 20 7946 0958"
