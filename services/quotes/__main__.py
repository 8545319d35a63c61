"""``python -m services.quotes``: the gRPC server, the event consumer and the outbox relay."""
from __future__ import annotations

import logging
import sys

from quoteflow.apikeys import KeyTable
from quoteflow.auth import KeyRing
from quoteflow.bus import Publisher
from quoteflow.grpcserver import build_server
from quoteflow.runner import ServiceProcess, configure_logging
from quoteflow.v1 import quotes_pb2, quotes_pb2_grpc
from services.quotes.adapters import orm
from services.quotes.bootstrap import bootstrap
from services.quotes.config import Config
from services.quotes.entrypoints.consumer import build_consumer
from services.quotes.entrypoints.grpc_api import QuoteServicer
from services.quotes.entrypoints.sweeper import ExpirySweeper

log = logging.getLogger("services.quotes")


def main(argv: list[str]) -> None:
    configure_logging("quotes")
    config = Config.from_env()
    if argv[:1] == ["migrate"]:
        bootstrap(config, pdf=lambda snapshot, **_: b"")
        log.info("quotes schema is up to date")
        return
    app = bootstrap(config, publisher=Publisher(config.common.broker_url))
    server, port, _ = build_server(
        config.grpc_address,
        [lambda s: quotes_pb2_grpc.add_QuoteServiceServicer_to_server(QuoteServicer(app), s)],
        [quotes_pb2.DESCRIPTOR.services_by_name["QuoteService"].full_name],
        KeyRing.from_config(config.common.api_keys, config.common.service_key, KeyTable(app.engine, orm.api_keys)),
    )
    consumer = build_consumer(app)
    process = ServiceProcess("quotes")
    process.loop("relay", app.relay.run, app.relay.stop)
    process.loop("consumer", consumer.run, consumer.stop)
    sweeper = ExpirySweeper(app, config.expiry_sweep_seconds)
    process.loop("expiry", sweeper.run, sweeper.stop)
    process.on_stop(lambda: server.stop(5).wait())
    server.start()
    process.run(f"quotes gRPC listening on {config.grpc_address.rsplit(':', 1)[0]}:{port}")


if __name__ == "__main__":
    main(sys.argv[1:])
