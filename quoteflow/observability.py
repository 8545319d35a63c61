"""Metrics, structured logs and tracing, the same in every service.

- Metrics: Prometheus, served on ``METRICS_ADDRESS`` (e.g. ``0.0.0.0:9100``; unset = not served).
- Logs: JSON lines on stderr with service, tenant, correlation id, event id and trace id
  (``LOG_FORMAT=text`` for a person at a terminal).
- Tracing: OpenTelemetry, off unless ``TRACING_EXPORTER`` is ``otlp`` (``OTEL_EXPORTER_OTLP_ENDPOINT``
  is honoured) or ``file:/path`` (one JSON span per line, for tests and for a look without a collector).
  Context travels as W3C ``traceparent``: gRPC metadata, and the CloudEvents ``traceparent`` attribute
  (also copied into the AMQP headers) of every event.
"""
from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterator

from prometheus_client import REGISTRY, Counter, Gauge, Histogram, start_http_server

# --- metrics -------------------------------------------------------------------------------------

RPC_REQUESTS = Counter("quoteflow_rpc_requests_total", "gRPC calls handled", ["service", "method", "code"])
RPC_LATENCY = Histogram("quoteflow_rpc_duration_seconds", "gRPC call latency", ["service", "method"])
HTTP_LATENCY = Histogram("quoteflow_http_request_duration_seconds", "HTTP request latency",
                         ["route", "method", "status"])
EVENTS_PUBLISHED = Counter("quoteflow_events_published_total", "events confirmed by the broker", ["type"])
EVENTS_CONSUMED = Counter("quoteflow_events_consumed_total", "events handled and acked", ["service", "type"])
EVENTS_RETRIED = Counter("quoteflow_events_retried_total", "event handling failures retried", ["service", "type"])
EVENTS_DEAD = Counter("quoteflow_events_dead_lettered_total", "events sent to a dead-letter queue",
                      ["service", "type"])
OUTBOX_BACKLOG = Gauge("quoteflow_outbox_unpublished", "events committed but not yet confirmed")
OUTBOX_OLDEST = Gauge("quoteflow_outbox_oldest_age_seconds", "age of the oldest unpublished event")
MESSAGES_SENT = Counter("quoteflow_messages_sent_total", "emails and SMS accepted by the relay", ["channel"])
MESSAGES_FAILED = Counter("quoteflow_messages_failed_total", "emails and SMS given up", ["channel"])


def serve_metrics(address: str, registry=REGISTRY) -> int:
    """Serves /metrics of ``registry`` on ``host:port``; returns the bound port."""
    host, _, port = address.rpartition(":")
    server, _thread = start_http_server(int(port), addr=host.strip("[]") or "0.0.0.0", registry=registry)
    return server.server_port

# --- log context ---------------------------------------------------------------------------------

_context: ContextVar[dict] = ContextVar("quoteflow_log_context", default={})


@contextmanager
def log_context(**fields: str) -> Iterator[None]:
    """Adds fields (tenant, correlation_id, event_id…) to every log line written inside the block."""
    token = _context.set({**_context.get(), **{k: v for k, v in fields.items() if v}})
    try:
        yield
    finally:
        _context.reset(token)


class JsonFormatter(logging.Formatter):
    converter = time.gmtime

    def __init__(self, service: str):
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        doc = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "message": record.getMessage(),
            **_context.get(),
        }
        trace_id = current_trace_id()
        if trace_id:
            doc["trace_id"] = trace_id
        if record.exc_info:
            doc["error"] = self.formatException(record.exc_info)
        return json.dumps(doc, ensure_ascii=False)


def configure_logging(service: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if os.environ.get("LOG_FORMAT", "json").lower() == "text":
        handler.setFormatter(logging.Formatter(f"%(asctime)s {service} %(levelname)s %(name)s: %(message)s"))
    else:
        handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(os.environ.get("LOG_LEVEL", "INFO").upper())

# --- tracing -------------------------------------------------------------------------------------

_tracer_lock = threading.Lock()
_tracing_on = False


def configure_tracing(service: str) -> None:
    """Installs an OpenTelemetry tracer provider when ``TRACING_EXPORTER`` asks for one."""
    global _tracing_on
    exporter_setting = os.environ.get("TRACING_EXPORTER", "").strip()
    if not exporter_setting or exporter_setting == "off":
        return
    from opentelemetry import trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": f"quoteflow-{service}"}))
    if exporter_setting.startswith("file:"):
        provider.add_span_processor(SimpleSpanProcessor(_FileExporter(exporter_setting[len("file:"):])))
    elif exporter_setting == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    else:
        raise ValueError(f"TRACING_EXPORTER must be off, otlp or file:/path, got {exporter_setting!r}")
    with _tracer_lock:
        trace.set_tracer_provider(provider)
        _tracing_on = True


class _FileExporter:
    """One JSON object per finished span, appended to a file shared by the services of a test."""

    def __init__(self, path: str):
        self.path = path
        self._lock = threading.Lock()

    def export(self, spans):
        from opentelemetry.sdk.trace.export import SpanExportResult

        lines = []
        for span in spans:
            parent = span.parent
            lines.append(json.dumps({
                "service": span.resource.attributes.get("service.name"),
                "name": span.name,
                "trace_id": format(span.context.trace_id, "032x"),
                "span_id": format(span.context.span_id, "016x"),
                "parent_id": format(parent.span_id, "016x") if parent else None,
                "start": span.start_time, "end": span.end_time,
                "attributes": {k: str(v) for k, v in (span.attributes or {}).items()},
            }))
        with self._lock, open(self.path, "a", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")
        return SpanExportResult.SUCCESS

    def shutdown(self):
        pass

    def force_flush(self, timeout_millis: int = 0):
        return True


def tracer():
    from opentelemetry import trace

    return trace.get_tracer("quoteflow")


@contextmanager
def span(name: str, *, traceparent: str = "", kind: str = "internal", **attributes) -> Iterator[None]:
    """A span named ``name``, child of ``traceparent`` when given, else of the current span."""
    if not _tracing_on:
        yield
        return
    from opentelemetry import trace
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    parent = TraceContextTextMapPropagator().extract({"traceparent": traceparent}) if traceparent else None
    kinds = {"server": trace.SpanKind.SERVER, "client": trace.SpanKind.CLIENT,
             "producer": trace.SpanKind.PRODUCER, "consumer": trace.SpanKind.CONSUMER}
    with tracer().start_as_current_span(name, context=parent, kind=kinds.get(kind, trace.SpanKind.INTERNAL),
                                        attributes={k: str(v) for k, v in attributes.items() if v}):
        yield


def current_traceparent() -> str:
    """The W3C traceparent of the current span ("" when tracing is off or no span is open)."""
    if not _tracing_on:
        return ""
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    carrier: dict[str, str] = {}
    TraceContextTextMapPropagator().inject(carrier)
    return carrier.get("traceparent", "")


def current_trace_id() -> str:
    if not _tracing_on:
        return ""
    from opentelemetry import trace

    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else ""
