"""The delivery dispatcher loop: woken right after a handler queued mail, sweeping for leftovers."""
from __future__ import annotations

import logging
import threading
from typing import Callable

from quoteflow.envelope import utcnow

log = logging.getLogger(__name__)


class Dispatcher:
    """Runs ``dispatch()`` whenever woken, when a retry falls due, and every ``sweep_seconds``.

    ``dispatch()`` sends what is due and returns how many it attempted;
    ``next_due()`` says when the earliest queued delivery (a back-off) falls due.
    """

    def __init__(self, dispatch: Callable[[], int], next_due: Callable[[], object], *, sweep_seconds: float = 5.0):
        self._dispatch = dispatch
        self._next_due = next_due
        self.sweep_seconds = sweep_seconds
        self._wakeup = threading.Event()
        self.stopping = threading.Event()

    def wake(self) -> None:
        self._wakeup.set()

    def stop(self) -> None:
        self.stopping.set()
        self._wakeup.set()

    def run(self) -> None:
        while not self.stopping.is_set():
            self._wakeup.clear()
            try:
                while self._dispatch() and not self.stopping.is_set():
                    pass
                wait = self.sweep_seconds
                due = self._next_due()
                if due is not None:
                    wait = max(0.0, min(wait, (due - utcnow()).total_seconds()))
            except Exception:  # database away: keep the rows, try again at the next sweep
                log.exception("delivery dispatcher failed; will retry")
                wait = self.sweep_seconds
            self._wakeup.wait(wait)
