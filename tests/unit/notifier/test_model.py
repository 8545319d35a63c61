from datetime import datetime, timedelta, timezone

from services.notifier.domain.model import (
    DOWNLOAD,
    EMAIL,
    FAILED,
    QUEUED,
    SMS,
    VIEW,
    Delivery,
    Preferences,
    RetryPolicy,
    clean_header,
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
    assert valid_email("zoé.l@client.example") and not valid_email("a@b.fr\r\nBcc: c@d.fr")
    assert not valid_email("") and not valid_email("no-at-sign")
