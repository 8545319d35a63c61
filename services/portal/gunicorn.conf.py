"""gunicorn settings for the portal (production); every value can be overridden by environment.

``gunicorn -c services/portal/gunicorn.conf.py services.portal.wsgi:app``
"""
import os

bind = os.environ.get("PORTAL_HTTP_ADDRESS", "0.0.0.0:8080")
workers = int(os.environ.get("PORTAL_WORKERS", "2"))
threads = int(os.environ.get("PORTAL_THREADS", "8"))
worker_class = "gthread"
preload_app = False          # each worker opens its own database pool and gRPC channel after fork
timeout = 30
graceful_timeout = 20
keepalive = 5
# Each worker listens on its own SO_REUSEPORT socket and the kernel spreads new connections over them.
# With one socket shared by all, whichever worker wakes first accepts: the kept-alive connections of a
# burst could all land on one worker (one core, one GIL) while the other idled -- measured: the quote
# page at 1,100-1,300 req/s instead of 3,100 in one run out of three. The cost: connections still
# queued on a worker that dies are reset (PORTAL_REUSE_PORT=0 goes back to one shared socket).
reuse_port = os.environ.get("PORTAL_REUSE_PORT", "1") != "0"
accesslog = "-"
errorlog = "-"
# A link token is a capability: the access log, gunicorn's error log and the app's log show it as
# /d/h:<first 12 hex digits of its SHA-256> (the link's token_sha256), never the token itself.
logger_class = "services.portal.entrypoints.accesslog.RedactingLogger"
# Client addresses (views, rate limit) come from PORTAL_TRUSTED_PROXIES (ProxyFix in the app);
# this only lets gunicorn trust X-Forwarded-Proto from the ingress.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# gunicorn's defaults, stated: the longest portal URL (a document of a link, with its view id) is under
# 250 bytes. Requests over these limits get gunicorn's own 414/431/400, which carry none of the app's
# security headers: the ingress adds them (deploy/base/ingress.yaml).
limit_request_line = 4096
limit_request_fields = 100
limit_request_field_size = 8190
# Heartbeat files in memory, not on the (read-only) root filesystem of the container.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
# No runtime control socket: nothing to write under $HOME, nothing more to protect.
control_socket_disable = True

# Prometheus (quoteflow_http_request_duration_seconds by route, ...): with METRICS_ADDRESS set, each
# worker writes its samples to files in PROMETHEUS_MULTIPROC_DIR (a fresh folder unless given; it must
# be set before any worker imports prometheus_client, hence here), and the master serves the sum of
# all workers on METRICS_ADDRESS, as the other services do -- never on the public HTTP port.
metrics_address = os.environ.get("METRICS_ADDRESS", "")
if metrics_address and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    import tempfile

    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="quoteflow-portal-metrics-",
                                                              dir=worker_tmp_dir)
    _own_metrics_dir = os.environ["PROMETHEUS_MULTIPROC_DIR"]


def on_starting(server):
    # Outside production (where `python -m services.portal migrate` runs first, once per
    # rollout), the master brings the schema up to date once, before any worker starts.
    # Only SQLAlchemy and Alembic are imported here: no gRPC in the master before it forks.
    from pathlib import Path

    from quoteflow.config import production

    if not production():
        from quoteflow.db import make_engine
        from quoteflow.migrations import upgrade
        from services.portal.config import PortalConfig

        engine = make_engine(PortalConfig.from_env().common.database_url)
        try:
            upgrade(engine, Path(__file__).resolve().parent / "migrations")
        finally:
            engine.dispose()


def when_ready(server):
    if metrics_address:
        from prometheus_client import CollectorRegistry, multiprocess

        from quoteflow.observability import serve_metrics

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        port = serve_metrics(metrics_address, registry)
        server.log.info("portal metrics on http://%s:%d/metrics", metrics_address.rpartition(":")[0], port)


def child_exit(server, worker):
    if metrics_address:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if "_own_metrics_dir" in globals():
        import shutil

        shutil.rmtree(_own_metrics_dir, ignore_errors=True)


def post_worker_init(worker):
    # This worker's relay (events published right after they commit) and read-model listener.
    worker.wsgi.extensions["portal"].start()


def worker_exit(server, worker):
    app = getattr(worker, "wsgi", None)
    if app is not None:
        app.extensions["portal"].close()
