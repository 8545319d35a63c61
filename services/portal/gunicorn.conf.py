"""gunicorn settings for the portal (production); every value can be overridden by environment."""
import os

bind = os.environ.get("PORTAL_HTTP_ADDRESS", "0.0.0.0:8080")
workers = int(os.environ.get("PORTAL_WORKERS", "2"))
threads = int(os.environ.get("PORTAL_THREADS", "8"))
worker_class = "gthread"
preload_app = False          # each worker opens its own database pool and gRPC channel after fork
timeout = 30
graceful_timeout = 20
keepalive = 5
accesslog = "-"
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
limit_request_line = 4096
limit_request_fields = 100


def post_worker_init(worker):
    # Publish this worker's view/download events right after they commit.
    worker.wsgi.extensions["portal"].start_relay()


def worker_exit(server, worker):
    app = getattr(worker, "wsgi", None)
    if app is not None:
        app.extensions["portal"].close()
