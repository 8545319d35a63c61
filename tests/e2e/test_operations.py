"""Operations end to end on RabbitMQ + PostgreSQL: a trace across services, and SIGTERM mid-flow."""
from __future__ import annotations

import contextlib
import json
import signal
import threading
import time
import uuid
from collections import Counter

import pytest
from aiosmtpd.controller import Controller

from quoteflow import client
from quoteflow.auth import new_key
from quoteflow.launcher import SERVICES, Suite, free_port
from quoteflow.v1 import common_pb2, quotes_pb2
from tests.support.backends import private_databases, private_vhost

pytestmark = pytest.mark.e2e


class _Sink:
    """An SMTP server that keeps (recipient, subject) of every message it accepts."""

    def __init__(self):
        self.received: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        from email import message_from_bytes, policy

        message = message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            for rcpt in envelope.rcpt_tos:
                self.received.append((rcpt, str(message["Subject"])))
        return "250 OK"


@pytest.fixture
def rabbit_suite(tmp_path):
    sink = _Sink()
    smtp = Controller(sink, hostname="127.0.0.1", port=free_port())
    smtp.start()
    tenant = f"t-{uuid.uuid4().hex[:8]}"
    with contextlib.ExitStack() as stack:
        suite = Suite(var=tmp_path / "var", ports={name: free_port() for name in SERVICES},
                      api_keys={tenant: new_key()},
                      broker_url=stack.enter_context(private_vhost("qf_ops")),
                      database_urls=stack.enter_context(private_databases(SERVICES, "qf_ops")),
                      extra_env={"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp.port), "SMTP_TLS": "none",
                                 "TRACING_EXPORTER": f"file:{tmp_path / 'spans.jsonl'}",
                                 "SHUTDOWN_GRACE_SECONDS": "20"})
        suite.tenant, suite.sink, suite.spans = tenant, sink, tmp_path / "spans.jsonl"
        suite.start()
        try:
            suite.wait_healthy(90)
            yield suite
        finally:
            suite.stop()
            smtp.stop()


def _directory(crm):
    crm.UpsertAccount(quotes_pb2.Account(id="acc", name="Boulangerie Lefèvre"))
    crm.UpsertContact(quotes_pb2.Contact(id="ct", account_id="acc", name="Chloé", email="chloe@example.fr"))
    crm.UpsertUser(quotes_pb2.User(id="u", name="Antoine", email="antoine@example.com"))


def _send_one(crm) -> quotes_pb2.SendQuoteResponse:
    quote = crm.CreateQuote(quotes_pb2.CreateQuoteRequest(account_id="acc", contact_id="ct", assignee_id="u", lines=[
        common_pb2.QuoteLine(description="Audit", quantity="1", unit_price="100", vat_rate="20")]))
    return crm.SendQuote(quotes_pb2.SendQuoteRequest(quote_id=quote.id))


def test_one_trace_links_the_services_a_send_goes_through(rabbit_suite):
    crm = client.quotes(rabbit_suite.quotes_target, rabbit_suite.api_keys[rabbit_suite.tenant])
    _directory(crm)
    sent = _send_one(crm)
    deadline = time.monotonic() + 30
    services_in_trace: set = set()
    in_trace: list = []
    email_spans: list = []
    while time.monotonic() < deadline:
        spans = [json.loads(line) for line in rabbit_suite.spans.read_text().splitlines()] \
            if rabbit_suite.spans.exists() else []
        root = next((s for s in spans if s["name"] == "QuoteService/SendQuote"), None)
        if root:
            in_trace = [s for s in spans if s["trace_id"] == root["trace_id"]]
            services_in_trace = {s["service"] for s in in_trace}
            email_spans = [s for s in in_trace if s["name"] == "notifier send email"]
            if len(services_in_trace) >= 4 and email_spans:
                break
        time.sleep(0.2)
    print(f"services in the trace of SendQuote {sent.quote.number}: {sorted(services_in_trace)}")
    assert len(services_in_trace) >= 3, services_in_trace
    # The email's send span (dispatcher thread) is a child of the span that consumed quote.sent.
    assert email_spans, sorted({s["name"] for s in in_trace})
    parents = {s["span_id"]: s for s in in_trace}
    consumed = parents.get(email_spans[0]["parent_id"])
    assert consumed and consumed["service"] == "quoteflow-notifier" and consumed["name"].startswith("notifier "), \
        email_spans[0]


def test_sigterm_mid_flow_loses_nothing_and_duplicates_nothing(rabbit_suite):
    crm = client.quotes(rabbit_suite.quotes_target, rabbit_suite.api_keys[rabbit_suite.tenant])
    _directory(crm)
    numbers = [_send_one(crm).quote.number for _ in range(3)]
    notifier = rabbit_suite.processes["notifier"]
    burst = threading.Thread(target=lambda: numbers.extend(_send_one(crm).quote.number for _ in range(17)))
    burst.start()
    time.sleep(0.5)
    started = time.monotonic()
    notifier.send_signal(signal.SIGTERM)
    code = notifier.wait(30)
    stopped_in = time.monotonic() - started
    burst.join()
    assert code == 0, rabbit_suite.tail("notifier")
    rabbit_suite.start(["notifier"])
    rabbit_suite.wait_healthy(60)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with rabbit_suite.sink.lock:
            got = Counter(subject for rcpt, subject in rabbit_suite.sink.received if rcpt == "chloe@example.fr")
        if sum(got.values()) >= len(numbers):
            break
        time.sleep(0.2)
    time.sleep(1.0)  # anything duplicated would arrive now
    with rabbit_suite.sink.lock:
        subjects = [subject for rcpt, subject in rabbit_suite.sink.received if rcpt == "chloe@example.fr"]
    per_quote = Counter(n for n in numbers for s in subjects if n in s)
    print(f"notifier stopped in {stopped_in:.2f}s; {len(numbers)} quotes sent, {len(subjects)} emails received")
    assert per_quote == Counter({n: 1 for n in numbers}), per_quote
