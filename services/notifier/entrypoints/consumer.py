"""Maps bus envelopes to the notifier's event handlers."""
from __future__ import annotations

from quoteflow.bus import EventConsumer


def build_consumer(app) -> EventConsumer:
    cfg = app.cfg.common
    return EventConsumer(cfg.broker_url, "notifier", app.keys.handling(app.handle_event),
                         max_attempts=cfg.max_attempts)
