"""A consumer process for the fault tests: the kernel's EventConsumer writing two effect rows per event.

    python tests/faults/effect_consumer.py BROKER_URL DATABASE_URL SERVICE WORKER [WORK_MS]

It prints "ready" once consuming. WORK_MS is slept between the two rows, inside the
transaction, so a ``kill -9`` lands in the middle of a unit of work.
"""
from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from quoteflow.bus import EventConsumer  # noqa: E402
from tests.integration.kernel.support import EffectStore  # noqa: E402


def main(argv: list[str]) -> None:
    broker_url, database_url, service, worker = argv[:4]
    work = float(argv[4]) / 1000 if len(argv) > 4 else 0.0
    logging.basicConfig(level=logging.WARNING, format=f"%(asctime)s {worker} %(levelname)s %(message)s")
    store = EffectStore(database_url, create=False)
    consumer = EventConsumer(broker_url, service,
                             lambda e: store.handle(e, between=lambda _: time.sleep(work), worker=worker))
    signal.signal(signal.SIGTERM, lambda *_: consumer.stop())
    threading.Timer(0.2, lambda: print("ready", flush=True)).start()
    consumer.run()


if __name__ == "__main__":
    main(sys.argv[1:])
