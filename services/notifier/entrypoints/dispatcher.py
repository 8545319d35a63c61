"""The delivery dispatcher loop: woken right after a handler queued mail, at the next retry or digest
window end, and every ``sweep_seconds`` for leftovers."""
from __future__ import annotations

import logging
import threading
from typing import Callable

log = logging.getLogger(__name__)


class Dispatcher:
    """Runs ``dispatch()`` whenever woken and whenever ``next_due()`` (a back-off, a window end) comes.

    ``dispatch()`` sends what is due and returns how many it attempted; the ``clock``
    does the waiting, so a test clock decides when a window end has come.
    """

    def __init__(self, dispatch: Callable[[], int], next_due: Callable[[], object], clock, *,
                 sweep_seconds: float = 5.0):
        self._dispatch = dispatch
        self._next_due = next_due
        self._clock = clock
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
            due = None
            try:
                while self._dispatch() and not self.stopping.is_set():
                    pass
                due = self._next_due()
            except Exception:  # database away: keep the rows, try again at the next sweep
                log.exception("delivery dispatcher failed; will retry")
            if self.stopping.is_set():
                break
            self._clock.wait(self._wakeup, due, self.sweep_seconds)
