"""python -m services.notifier [migrate]: gRPC NotifierService + event consumer + delivery dispatcher + outbox relay."""
from __future__ import annotations

import logging
import sys

from quoteflow.auth import KeyRing
from quoteflow.bus import Publisher
from quoteflow.grpcserver import build_server
from quoteflow.runner import ServiceProcess, configure_logging
from services.notifier.bootstrap import bootstrap, migrate
from services.notifier.config import NotifierConfig
from services.notifier.entrypoints.consumer import build_consumer
from services.notifier.entrypoints.grpc_api import SERVICE_NAME, NotifierServicer, register

log = logging.getLogger("services.notifier")


def main(argv: list[str]) -> None:
    configure_logging("notifier")
    cfg = NotifierConfig.from_env()
    if argv[:1] == ["migrate"]:
        from quoteflow.db import make_engine

        engine = make_engine(cfg.common.database_url)
        migrate(engine)
        engine.dispose()
        log.info("notifier schema is up to date")
        return
    app = bootstrap(cfg, publisher=Publisher(cfg.common.broker_url))
    server, port, _health = build_server(
        cfg.grpc_address, [register(NotifierServicer(app))], [SERVICE_NAME],
        KeyRing.from_config(cfg.common.api_keys, cfg.common.service_key, app.keys))
    consumer = build_consumer(app)
    process = ServiceProcess("notifier")
    process.loop("consumer", consumer.run, consumer.stop)
    process.loop("dispatcher", app.dispatcher.run, app.dispatcher.stop)
    process.loop("relay", app.relay.run, app.relay.stop)
    process.on_stop(lambda: server.stop(5).wait())
    server.start()
    mail = f"SMTP {cfg.smtp_host}:{cfg.smtp_port} ({cfg.smtp_tls})" if cfg.smtp_host else f"Maildir {cfg.mail_sink_dir}"
    sms = f"Vonage via {cfg.vonage_rest_host}" if cfg.vonage_api_key else f"log {cfg.sms_log}"
    process.run(f"notifier gRPC on port {port}; mail to {mail}; SMS to {sms}; "
                f"view digest window {cfg.digest_window_seconds}s")


if __name__ == "__main__":
    main(sys.argv[1:])
