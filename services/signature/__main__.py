"""``python -m services.signature``: the gRPC server, the event consumer and the outbox relay."""
from __future__ import annotations

import logging
import sys

from quoteflow.auth import KeyRing
from quoteflow.bus import EventConsumer
from quoteflow.grpcserver import build_server
from quoteflow.runner import ServiceProcess, configure_logging
from quoteflow.v1 import signature_pb2, signature_pb2_grpc
from services.signature.bootstrap import bootstrap
from services.signature.config import Config
from services.signature.entrypoints.consumer import make_handler
from services.signature.entrypoints.grpc_api import SignatureServicer

log = logging.getLogger("services.signature")

SERVICE_NAME = signature_pb2.DESCRIPTOR.services_by_name["SignatureService"].full_name


def main(argv: list[str]) -> None:
    configure_logging("signature")
    config = Config.from_env()
    app = bootstrap(config)
    if argv[:1] == ["migrate"]:
        log.info("signature schema is up to date; seal certificate in %s", config.key_dir)
        return
    server, port, _ = build_server(
        config.grpc_address,
        [lambda s: signature_pb2_grpc.add_SignatureServiceServicer_to_server(SignatureServicer(app), s)],
        [SERVICE_NAME],
        KeyRing.from_config(config.common.api_keys, config.common.service_key),
    )
    consumer = EventConsumer(config.common.broker_url, "signature", make_handler(app),
                             max_attempts=config.common.max_attempts)
    process = ServiceProcess("signature")
    process.loop("relay", app.relay.run, app.relay.stop)
    process.loop("consumer", consumer.run, consumer.stop)
    process.on_stop(lambda: server.stop(5).wait())
    server.start()
    process.run(f"signature gRPC listening on {config.grpc_address.rsplit(':', 1)[0]}:{port}")


if __name__ == "__main__":
    main(sys.argv[1:])
