# Catches every email over SMTP (aiosmtpd) and shows them over HTTP with the two calls of
# Mailpit's API a test needs, standing in for axllent/mailpit: SMTP on 1025, HTTP on 8025.
ARG PYTHON_IMAGE=quoteflow-local/python:3.11
FROM ${PYTHON_IMAGE}
ARG PIP_INDEX=
RUN python -m venv /opt/mailcatcher \
 && /opt/mailcatcher/bin/pip install --no-cache-dir ${PIP_INDEX:+--index-url "$PIP_INDEX"} aiosmtpd==1.4.6
COPY mailcatcher.py /opt/mailcatcher/mailcatcher.py
USER 10002:10002
EXPOSE 1025 8025
CMD ["/opt/mailcatcher/bin/python", "/opt/mailcatcher/mailcatcher.py"]
