"""Runs the portal.

``python -m services.portal``         embedded mode, one process: the HTTP server on
                                      PORTAL_HTTP_ADDRESS (werkzeug, threaded), the event
                                      consumer (quote.#, signature.#) and the outbox relay.
``python -m services.portal migrate`` brings the portal's database to the newest Alembic
                                      revision, then exits (production runs it once per rollout).
``python -m services.portal worker``  production: the consumer and the outbox relay only,
                                      while gunicorn serves the pages:
                                      ``gunicorn -c services/portal/gunicorn.conf.py services.portal.wsgi:app``
                                      (each gunicorn worker publishes its own view/download
                                      events as soon as they commit; this worker's relay sweeps
                                      whatever a crashed web worker left behind).

Both stop cleanly on SIGTERM/SIGINT.
"""
from __future__ import annotations

import logging
import sys

from werkzeug.serving import make_server

from quoteflow.bus import EventConsumer
from quoteflow.runner import ServiceProcess, configure_logging
from services.portal.bootstrap import bootstrap
from services.portal.config import PortalConfig
from services.portal.entrypoints.accesslog import redact_handlers
from services.portal.entrypoints.consumer import make_handler
from services.portal.entrypoints.web import create_app

log = logging.getLogger("services.portal")

USAGE = "usage: python -m services.portal [serve|worker|migrate]"


def split_address(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return (host.strip("[]") or "127.0.0.1"), int(port)


def main(argv: list[str]) -> int:
    mode = argv[0] if argv else "serve"
    if mode not in ("serve", "worker", "migrate"):
        print(USAGE, file=sys.stderr)
        return 2
    configure_logging("portal")
    redact_handlers(logging.getLogger())  # werkzeug's request lines hold /d/<token>: logged as /d/h:<hash>
    config = PortalConfig.from_env()
    portal = bootstrap(config)  # upgrades the schema first
    if mode == "migrate":
        portal.close()
        log.info("portal schema is up to date")
        return 0
    process = ServiceProcess("portal")
    consumer = EventConsumer(config.common.broker_url, "portal", make_handler(portal.handle),
                             max_attempts=config.common.max_attempts)
    process.loop("consumer", consumer.run, consumer.stop)
    process.loop("relay", portal.relay.run, portal.relay.stop)
    ready = "portal worker consuming quote.#, signature.#"
    if mode == "serve":
        host, port = split_address(config.http_address)
        server = make_server(host, port, create_app(config, portal=portal), threaded=True)
        listener = portal.listener()
        if listener is not None:
            process.loop("listener", listener.run, listener.stop)
        process.loop("http", server.serve_forever, server.shutdown)
        ready = f"portal serving http://{host}:{server.server_port}/ (consumer and outbox relay running)"
    try:
        process.run(ready)
    finally:
        portal.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
