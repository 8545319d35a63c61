"""One rule for the end of a quote's validity (quoteflow.validity): the day quotes judges its status by and the
instant the portal and the signature service close its link at say the same, in every zone, at every hour."""
from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given, strategies as st

from quoteflow import validity

UTC = timezone.utc
ZONES = ["Europe/Paris", "UTC", "America/Santiago", "Pacific/Apia", "Asia/Kolkata", "America/St_Johns"]


@given(st.dates(date(2000, 1, 1), date(2090, 12, 31)), st.integers(-3 * 86400, 3 * 86400), st.sampled_from(ZONES))
def test_the_day_and_the_instant_agree(valid_until, offset_seconds, zone):
    midnight_utc = datetime.combine(valid_until + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    now = midnight_utc + timedelta(seconds=offset_seconds)
    assert validity.expired(valid_until, now, zone) == validity.ended(validity.ends_at(valid_until, zone), now)


@pytest.mark.parametrize("valid_until, utc_time, expired", [
    # Winter (UTC+1): valid until 23:00 UTC.
    (date(2027, 1, 15), "2027-01-15T22:30:00", False),   # 23:30 in Paris, the last day
    (date(2027, 1, 15), "2027-01-15T22:59:59", False),
    (date(2027, 1, 15), "2027-01-15T23:00:00", True),    # midnight in Paris
    (date(2027, 1, 15), "2027-01-15T23:30:00", True),    # 00:30 in Paris the next day; still the 15th in UTC
    # Summer (UTC+2): valid until 22:00 UTC.
    (date(2027, 7, 15), "2027-07-15T21:30:00", False),   # 23:30 in Paris
    (date(2027, 7, 15), "2027-07-15T22:30:00", True),    # 00:30 in Paris the next day
    (date(2027, 7, 15), "2027-07-15T23:30:00", True),
])
def test_paris_midnight_ends_the_last_day_not_utc_midnight(valid_until, utc_time, expired):
    now = datetime.fromisoformat(utc_time).replace(tzinfo=UTC)
    assert validity.expired(valid_until, now) is expired
    assert validity.ended(validity.ends_at(valid_until), now) is expired


def test_no_end_never_ends():
    assert not validity.ended(None, datetime(2999, 1, 1, tzinfo=UTC))

