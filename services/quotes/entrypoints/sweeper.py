"""The expiry sweep: a background loop of the quotes process.

Expiry is persisted, not computed on read: every ``interval`` seconds (and once at start)
the Envoyé quotes whose validity ended (the last valid day over where the business is, the
moment their links close: quoteflow.validity) become Expiré with a history
entry, so the list filters, the counters and the CRM all see one status. The loop waits
on an Event, so stopping it is immediate.
"""
from __future__ import annotations

import logging
import threading

from services.quotes.domain import commands

log = logging.getLogger(__name__)


class ExpirySweeper:
    def __init__(self, app, interval: float):
        self.app = app
        self.interval = interval
        self._stopping = threading.Event()

    def sweep(self) -> int:
        expired = self.app.handle(commands.ExpireQuotes())
        if expired:
            log.info("%d quote(s) expired", expired)
        return expired

    def run(self) -> None:
        while not self._stopping.is_set():
            try:
                self.sweep()
            except Exception:  # the next sweep retries; a failing one must not stop the process
                log.exception("expiry sweep failed")
            self._stopping.wait(self.interval)

    def stop(self) -> None:
        self._stopping.set()
