"""Loaded by every Python process that ``scripts/far-ahead.sh`` starts (it puts this folder on PYTHONPATH).

libfaketime 0.9.10 (Debian 12) shifts the absolute deadline of ``clock_nanosleep`` by its offset even
when it leaves the monotonic clock real, so Python's ``time.sleep`` (an absolute monotonic deadline)
fails with EINVAL. A sleep here waits on a lock instead, which libfaketime leaves alone.
"""
import threading
import time


def _sleep(seconds: float) -> None:
    if seconds < 0:
        raise ValueError("sleep length must be non-negative")
    threading.Event().wait(seconds)


time.sleep = _sleep
