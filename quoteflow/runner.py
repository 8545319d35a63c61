"""Runs one service process: its gRPC server and background loops, stopped cleanly on SIGTERM/SIGINT."""
from __future__ import annotations

import logging
import os
import signal
import threading
from pathlib import Path
from typing import Callable

from quoteflow import observability

log = logging.getLogger(__name__)


def configure_logging(service: str) -> None:
    """JSON logs (or text with LOG_FORMAT=text) and, when configured, tracing for this process."""
    observability.configure_logging(service)
    observability.configure_tracing(service)


class ServiceProcess:
    def __init__(self, name: str, grace_seconds: float | None = None):
        self.name = name
        # How long in-flight work may take to finish after SIGTERM (SHUTDOWN_GRACE_SECONDS).
        self.grace_seconds = grace_seconds if grace_seconds is not None else float(
            os.environ.get("SHUTDOWN_GRACE_SECONDS", "10"))
        self.stopping = threading.Event()
        self._loops: list[tuple[threading.Thread, Callable[[], None]]] = []
        self._on_stop: list[Callable[[], None]] = []

    def loop(self, name: str, run: Callable[[], None], stop: Callable[[], None]) -> None:
        self._loops.append((threading.Thread(target=run, name=f"{self.name}-{name}", daemon=True), stop))

    def on_stop(self, callback: Callable[[], None]) -> None:
        self._on_stop.append(callback)

    def run(self, ready_message: str = "") -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self.stopping.set())
        for thread, _ in self._loops:
            thread.start()
        metrics_address = os.environ.get("METRICS_ADDRESS", "")
        if metrics_address:
            log.info("%s metrics on http://%s/metrics", self.name, metrics_address.rsplit(":", 1)[0] + ":"
                     + str(observability.serve_metrics(metrics_address)))
        heartbeat = os.environ.get("QUOTEFLOW_HEARTBEAT_FILE", "")
        if heartbeat:
            threading.Thread(target=self._beat, args=(Path(heartbeat),), name=f"{self.name}-heartbeat",
                             daemon=True).start()
        if ready_message:
            log.info("%s", ready_message)
        self.stopping.wait()
        log.info("%s stopping", self.name)
        for callback in self._on_stop:
            callback()
        for _, stop in self._loops:
            stop()
        for thread, _ in self._loops:
            thread.join(self.grace_seconds)
        log.info("%s stopped", self.name)

    def _beat(self, path: Path) -> None:
        """Touches ``path`` while every loop is alive, for the probes of a worker without a port."""
        path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            if all(thread.is_alive() for thread, _ in self._loops):
                path.touch()
            if self.stopping.wait(10):
                return
