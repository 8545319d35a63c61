# One image for every Quoteflow process; each service (and its migration job)
# chooses what to run with its command:
#   python -m services.quotes | services.signature | services.notifier
#   gunicorn -c services/portal/gunicorn.conf.py services.portal.wsgi:app
#   python -m services.portal worker          (portal consumer + outbox relay)
#   python -m services.<name> migrate         (create/upgrade the schema, exit)

# Builds with the classic builder and BuildKit alike, with nothing fetched but the base image
# and the wheels: no `# syntax=` frontend, no cache mounts. Where no registry answers, pass a
# local base (see scripts/build-local-images.sh): --build-arg PYTHON_IMAGE=quoteflow-local/python:3.11
ARG PYTHON_IMAGE=python:3.11-slim

# ---- builder: resolve and install the dependencies into a self-contained venv
FROM ${PYTHON_IMAGE} AS builder
# Empty: PyPI. Else the index pip uses instead (--build-arg PIP_INDEX=https://...).
ARG PIP_INDEX=
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_INPUT=1 \
    PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# Every dependency ships manylinux wheels for CPython 3.11: no compiler needed.
COPY pyproject.toml README.md* ./
COPY quoteflow ./quoteflow
COPY services ./services
RUN pip install ${PIP_INDEX:+--index-url "$PIP_INDEX"} --upgrade pip \
 && pip install ${PIP_INDEX:+--index-url "$PIP_INDEX"} .

# ---- runtime: the venv and the source, nothing else
FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    QUOTEFLOW_ENV=production \
    QUOTEFLOW_VAR=/tmp/quoteflow \
    BLOB_DIR=/data/blobs
# uid/gid 10001: matches runAsUser in deploy/; the data folders are created
# here, owned by that user, so fresh named volumes mounted on them inherit it.
RUN groupadd --system --gid 10001 quoteflow \
 && useradd --system --uid 10001 --gid 10001 --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin quoteflow \
 && mkdir -p /data/blobs /data/signature-keys /data/portal-spool \
 && chown -R 10001:10001 /data
COPY --from=builder /opt/venv /opt/venv
WORKDIR /app
# The source is also copied (read-only, owned by root) because some files are
# used by path from /app: services/portal/gunicorn.conf.py, Alembic scripts,
# templates. `python -m` and gunicorn put /app first on sys.path.
COPY quoteflow ./quoteflow
COPY services ./services
RUN python -m compileall -q /app
USER 10001:10001
EXPOSE 50051 50052 50053 8080
CMD ["python", "-m", "services.quotes"]
