"""When a quote's validity ends: one rule for its status (quotes), its link (portal) and its signature.

A quote « valable jusqu'au 14 juillet » is valid all of 14 July where the business is (``zone``), and no
longer from midnight: quotes judges its status by the day it is there, and the events carry that midnight
(:func:`ends_at`) as the instant the portal and the signature service compare with (:func:`ended`). The two
are the same rule: ``expired(day, now, zone) == ended(ends_at(day, zone), now)``.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DEFAULT_ZONE = "Europe/Paris"


def local_day(now: datetime, zone: str = DEFAULT_ZONE) -> date:
    """The date it is at ``now`` (an aware instant) where the business is."""
    return now.astimezone(ZoneInfo(zone)).date()


def ends_at(valid_until: date, zone: str = DEFAULT_ZONE) -> datetime:
    """The first instant a quote valid until ``valid_until`` is no longer valid: the next midnight in ``zone``."""
    return datetime.combine(valid_until + timedelta(days=1), time(0), tzinfo=ZoneInfo(zone))


def expired(valid_until: date, now: datetime, zone: str = DEFAULT_ZONE) -> bool:
    return valid_until < local_day(now, zone)


def ended(end: datetime | None, now: datetime) -> bool:
    """Whether an instant from :func:`ends_at` is past at ``now`` (None: no end)."""
    return end is not None and now >= end
