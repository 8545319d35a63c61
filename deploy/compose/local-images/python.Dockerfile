# Python 3.11 from Debian bookworm, standing in for python:3.11-slim where no registry answers.
# The context holds the host's CA bundle: pip and apt inside later builds trust what the host trusts.
ARG BASE_IMAGE=quoteflow-local/debian:bookworm
FROM ${BASE_IMAGE}
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        python3 python3-venv python-is-python3 ca-certificates \
 && rm -rf /var/lib/apt/lists/*
# update-ca-certificates rewrote the bundle from Debian's list: put the host's back.
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt \
    LANG=C.UTF-8
CMD ["python"]
