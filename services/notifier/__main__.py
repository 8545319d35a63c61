"""python -m services.notifier: gRPC NotifierService + event consumer + delivery dispatcher."""
from __future__ import annotations

import logging

from quoteflow.auth import KeyRing
from quoteflow.grpcserver import build_server
from quoteflow.runner import ServiceProcess, configure_logging
from services.notifier.bootstrap import bootstrap
from services.notifier.config import NotifierConfig
from services.notifier.entrypoints.consumer import build_consumer
from services.notifier.entrypoints.grpc_api import SERVICE_NAME, NotifierServicer, register

log = logging.getLogger("services.notifier")


def main() -> None:
    configure_logging("notifier")
    cfg = NotifierConfig.from_env()
    app = bootstrap(cfg)
    server, port, _health = build_server(
        cfg.grpc_address, [register(NotifierServicer(app))], [SERVICE_NAME],
        KeyRing.from_config(cfg.common.api_keys, cfg.common.service_key))
    consumer = build_consumer(app)
    process = ServiceProcess("notifier")
    process.loop("consumer", consumer.run, consumer.stop)
    process.loop("dispatcher", app.dispatcher.run, app.dispatcher.stop)
    process.on_stop(lambda: server.stop(5).wait())
    server.start()
    target = f"SMTP {cfg.smtp_host}:{cfg.smtp_port}" if cfg.smtp_host else f"Maildir {cfg.mail_sink_dir}"
    process.run(f"notifier gRPC on port {port}; mail to {target}")


if __name__ == "__main__":
    main()
