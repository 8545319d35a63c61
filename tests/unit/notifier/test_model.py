from dataclasses import replace
from datetime import datetime, timedelta, timezone

from services.notifier.domain.model import (
    DOWNLOAD,
    EMAIL,
    FAILED,
    QUEUED,
    SENT,
    SMS,
    VIEW,
    Closure,
    Delivery,
    DigestWindow,
    Preferences,
    RetryPolicy,
    Visit,
    clean_header,
    msisdn,
    valid_email,
)

NOW = datetime(2026, 4, 3, 12, 0, tzinfo=timezone.utc)


def delivery(attempts: int) -> Delivery:
    return Delivery(id="d", tenant="t", event_id="e", channel=EMAIL, recipient="a@b.fr", template="quote_send",
                    quote_id="q", subject="s", payload=b"", created_at=NOW, attempts=attempts)


def test_default_preferences_email_on_sms_off():
    prefs = Preferences(user_id="u1")
    assert prefs.channels_for(VIEW) == [EMAIL] and prefs.channels_for(DOWNLOAD) == [EMAIL]
    muted = Preferences(user_id="u1", on_view_email=False, on_download_email=False, on_download_sms=True)
    assert muted.channels_for(VIEW) == [] and muted.channels_for(DOWNLOAD) == [SMS]


def test_retry_policy_backs_off_then_gives_up():
    policy = RetryPolicy(max_attempts=3, base_seconds=2)
    first = policy.after_failure(delivery(1), "451 busy", True, NOW)
    second = policy.after_failure(delivery(2), "451 busy", True, NOW)
    assert first.status == QUEUED and first.next_attempt_at == NOW + timedelta(seconds=2)
    assert second.next_attempt_at == NOW + timedelta(seconds=4)
    assert policy.after_failure(delivery(3), "451 busy", True, NOW).status == FAILED
    permanent = policy.after_failure(delivery(1), "550 no such user", False, NOW)
    assert permanent.status == FAILED and permanent.error == "550 no such user"


def test_clean_header_and_valid_email():
    assert clean_header("a\r\nBcc: x\u2028y\x00") == "a Bcc: x y"
    assert valid_email("zoe.l@client.example") and not valid_email("a@b.fr\r\nBcc: c@d.fr")
    assert not valid_email("zoé.l@client.example")  # a non-ASCII local part cannot be sent (quoteflow.addresses)
    assert not valid_email("") and not valid_email("no-at-sign")


def test_msisdn_accepts_e164_international_and_french_numbers_only():
    assert msisdn("+33 6 12 34 56 78") == msisdn("0033612345678") == msisdn("06.12.34.56.78") == "33612345678"
    assert msisdn("+1 (415) 555-0100") == "14155550100"
    for bad in ("", "12", "+33 6 12 34\n56 78", "abc", "+0612345678", "0612345678901234567"):
        assert msisdn(bad) == "", bad


def test_view_window_first_view_at_once_then_gathered_until_it_closes():
    window = DigestWindow(tenant="t", quote_id="q")
    span = timedelta(minutes=15)
    first, second, third = (Visit(event_id=f"e{i}", viewer_email="z@c.fr", ip="", user_agent="", at="")
                            for i in range(3))
    assert window.on_action(first, NOW, span) is True and window.closes_at == NOW + span
    assert window.on_action(second, NOW + timedelta(minutes=5), span) is False
    assert not window.due(NOW + timedelta(minutes=14))
    assert window.due(NOW + span) and window.take() == [second] and not window.pending
    assert window.on_action(third, NOW + timedelta(minutes=16), span) is True  # a new window
    assert window.on_action(third, NOW, timedelta(0)) is True  # no window configured: each at once


def test_closure_silences_its_version_and_older_ones():
    closure = Closure(quote_id="q", version=2, outcome="signed")
    assert closure.silences(1) and closure.silences(2) and not closure.silences(3)


def test_a_sensitive_delivery_is_wiped_once_over():
    secret = replace(delivery(1), payload=b"code 123456", sensitive=True)
    assert secret.finished().payload == b"code 123456"  # still queued: kept for the next attempt
    assert replace(secret, status=SENT).finished().payload == b""
    assert replace(secret, status=FAILED).finished().payload == b""
    assert replace(delivery(1), payload=b"mail", status=SENT).finished().payload == b"mail"
