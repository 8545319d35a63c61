"""``python -m services.signature``: the gRPC server, the event consumer and the outbox relay.

``python -m services.signature migrate`` brings the database to the newest revision;
``python -m services.signature verify FILE...`` checks signed quotes and proof files
(it needs neither the database nor the broker, so it imports neither);
``python -m services.signature new-seal-key`` replaces the seal's key on purpose (the certificate it
replaces stays trusted, in ``retired/`` beside the key);
``python -m services.signature extend-archive [--before-days N]`` adds a fresh document timestamp to every stored
signed PDF and proof PDF whose last one is getting old (PAdES B-LTA; run it from a daily or monthly job).
"""
from __future__ import annotations

import logging
import os
import sys

log = logging.getLogger("services.signature")


def migrate() -> None:
    from quoteflow.db import make_engine
    from quoteflow.migrations import upgrade
    from services.signature.bootstrap import MIGRATIONS, adopt_unversioned
    from services.signature.config import Config

    engine = make_engine(Config.from_env().common.database_url)
    try:
        adopt_unversioned(engine)
        upgrade(engine, MIGRATIONS)
    finally:
        engine.dispose()
    log.info("signature schema is up to date")


def serve() -> None:
    from quoteflow.auth import KeyRing
    from quoteflow.bus import EventConsumer
    from quoteflow.grpcserver import build_server
    from quoteflow.runner import ServiceProcess
    from quoteflow.v1 import signature_pb2, signature_pb2_grpc
    from services.signature.bootstrap import bootstrap
    from services.signature.config import Config
    from services.signature.entrypoints.consumer import make_handler
    from services.signature.entrypoints.grpc_api import SignatureServicer

    config = Config.from_env()
    app = bootstrap(config)
    server, port, _ = build_server(
        config.grpc_address,
        [lambda s: signature_pb2_grpc.add_SignatureServiceServicer_to_server(SignatureServicer(app), s)],
        [signature_pb2.DESCRIPTOR.services_by_name["SignatureService"].full_name],
        KeyRing.from_config(config.common.api_keys, config.common.service_key, app.keys),
    )
    consumer = EventConsumer(config.common.broker_url, "signature", app.keys.handling(make_handler(app)),
                             max_attempts=config.common.max_attempts)
    process = ServiceProcess("signature")
    process.loop("relay", app.relay.run, app.relay.stop)
    process.loop("consumer", consumer.run, consumer.stop)
    process.on_stop(lambda: server.stop(5).wait())
    server.start()
    process.run(f"signature gRPC listening on {config.grpc_address.rsplit(':', 1)[0]}:{port}")


def new_seal_key() -> None:
    from services.signature.adapters.keys import new_keypair
    from services.signature.config import seal_certificate_files

    if os.environ.get("SIGNATURE_KEY_FILE"):
        sys.exit("new-seal-key: the seal key is configured (SIGNATURE_KEY_FILE, SIGNATURE_CERT_FILE): replace those "
                 "files instead; the service keeps the certificate they replace and still trusts it")
    key_dir = seal_certificate_files()[0]
    key_path, cert_path, kept = new_keypair(key_dir)
    print(f"new seal key: {key_path} (certificate {cert_path})")
    if kept is not None:
        print(f"the previous certificate is kept in {kept}: PDFs it sealed still verify")
    print("restart every signature replica: each seals with the key it read at start")


def extend_archive(argv: list[str]) -> None:
    import argparse
    from datetime import timedelta
    from functools import partial

    from quoteflow.config import ConfigError
    from services.signature import handlers
    from services.signature.bootstrap import bootstrap
    from services.signature.config import Config

    parser = argparse.ArgumentParser(prog="python -m services.signature extend-archive",
                                     description="Adds a fresh document timestamp (PAdES B-LTA) to every stored "
                                                 "signed PDF and proof PDF whose last timestamp is getting old.")
    parser.add_argument("--before-days", type=int, default=365,
                        help="renew a timestamp older than this many days (default 365)")
    parser.add_argument("--tsa-margin-days", type=int, default=180,
                        help="renew a timestamp whose authority's certificate expires within this many days, "
                             "whatever its age (default 180): after that it could no longer be checked")
    args = parser.parse_args(argv)
    for name, value in (("--before-days", args.before_days), ("--tsa-margin-days", args.tsa_margin_days)):
        if value < 0:
            parser.error(f"{name} must be 0 or more, got {value}")
    config = Config.from_env()
    if not config.tsa_url:
        raise ConfigError("extend-archive needs SIGNATURE_TSA_URL: a document timestamp comes from a timestamp "
                          "authority")
    app = bootstrap(config)
    try:
        run = app.query(partial(handlers.extend_archive, older_than=timedelta(days=args.before_days),
                                tsa_margin=timedelta(days=args.tsa_margin_days)))
    finally:
        app.engine.dispose()
    print(f"extend-archive: {len(run.extended)} document(s) extended, {run.fresh} recent enough, "
          f"{run.untimestamped} sealed without a timestamp (left as they are), {len(run.failed)} failed")
    for request_id, kind, why in run.failed:
        print(f"  failed: {kind} of request {request_id}: {why}")
    if run.failed:
        sys.exit(1)


def main(argv: list[str]) -> None:
    if argv[:1] == ["verify"]:
        from services.signature.verify_cli import main as verify

        sys.exit(verify(argv[1:]))
    from quoteflow.config import ConfigError
    from quoteflow.runner import configure_logging

    configure_logging("signature")
    commands = {"migrate": migrate, "new-seal-key": new_seal_key,
                "extend-archive": lambda: extend_archive(argv[1:])}
    if argv and argv[0] not in commands:
        sys.exit("usage: python -m services.signature [migrate | new-seal-key | extend-archive [--before-days N] | "
                 f"verify FILE...] (got {' '.join(argv)!r})")
    run = commands[argv[0]] if argv else serve
    try:
        run()
    except ConfigError as exc:  # a missing setting or a lost seal key: say which, without a traceback
        log.critical("signature cannot start: %s", exc)
        sys.exit(2)


if __name__ == "__main__":
    main(sys.argv[1:])
