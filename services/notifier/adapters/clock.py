"""Time for the notifier: the system clock, or a hand-driven one for tests of the digest window.

The dispatcher never sleeps by itself: it asks the clock to wait until a moment or
until woken, so a test that moves a :class:`ManualClock` forward wakes it exactly
when a window closes, without waiting 15 real minutes.
"""
from __future__ import annotations

import threading
from datetime import datetime, timedelta

from quoteflow.envelope import utcnow


class SystemClock:
    def now(self) -> datetime:
        return utcnow()

    def wait(self, wakeup: threading.Event, until: datetime | None, sweep_seconds: float) -> None:
        """Returns when woken, at ``until``, or after ``sweep_seconds``, whichever comes first."""
        timeout = sweep_seconds
        if until is not None:
            timeout = max(0.0, min(timeout, (until - self.now()).total_seconds()))
        wakeup.wait(timeout)


class ManualClock:
    """A clock that only moves when told; waiting on it ends when woken or when moved past ``until``."""

    def __init__(self, start: datetime):
        self._now = start
        self._moved = threading.Condition()

    def now(self) -> datetime:
        with self._moved:
            return self._now

    def advance(self, **delta) -> datetime:
        with self._moved:
            self._now += timedelta(**delta)
            self._moved.notify_all()
            return self._now

    def wait(self, wakeup: threading.Event, until: datetime | None, sweep_seconds: float) -> None:
        with self._moved:
            while not wakeup.is_set() and (until is None or self._now < until):
                self._moved.wait(0.01)
