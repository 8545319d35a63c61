"""The event contract, checked from outside: a plain `pika` consumer, as a CRM gateway would write it.

The four services run as processes on RabbitMQ + PostgreSQL. The test binds its own queue to
the events exchange (nothing of Quoteflow's code reads the messages), drives a quote from
creation to signature, sends and withdraws another (its link then says « Devis retiré »), and validates every message that arrives: AMQP properties, the
CloudEvents attributes, ``Envelope.from_json`` (the payload against its protobuf schema, unknown
fields refused), and the payload fields a consumer relies on being filled. A message is one
event (``application/cloudevents+json``) or, for downloads that happen together, a CloudEvents
batch of events of one type (``application/cloudevents-batch+json``); each of its events is
checked as one that came alone.
"""
from __future__ import annotations

import contextlib
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pika
import pytest
from google.protobuf import json_format

from quoteflow import client
from quoteflow.auth import new_key
from quoteflow.envelope import EVENT_TYPES, Envelope
from quoteflow.eventdoc import PRODUCERS
from quoteflow.launcher import SERVICES, Suite, free_port
from quoteflow.v1 import common_pb2, quotes_pb2
from tests.support.backends import private_databases, private_vhost

pytestmark = [pytest.mark.e2e, pytest.mark.rabbitmq, pytest.mark.postgres]

# What the current flow produces (signature.declined, code_requested and notification.* may
# come too, and are validated when they do).
EXPECTED = {"quote.sent", "quote.status_changed", "quote.withdrawn", "portal.quote_viewed",
            "portal.quote_downloaded", "signature.requested", "signature.completed"}

# Payload fields a consumer relies on: present and non-empty (dotted = nested message).
REQUIRED = {
    "quote.sent": ("quote_id", "number", "version", "kind", "recipient.email", "assignee.email",
                   "sealed_link_url", "link_token_sha256", "pdf_sha256", "snapshot.totals.total_ttc"),
    "quote.status_changed": ("quote_id", "number", "previous_status", "status", "cause", "changed_at", "actor"),
    "quote.withdrawn": ("quote_id", "number", "version", "reason", "withdrawn_at", "actor"),
    "quote.assignee_changed": ("quote_id", "number", "assignee.id", "changed_at"),
    "portal.quote_viewed": ("quote_id", "number", "version", "ip", "user_agent", "at"),
    "portal.quote_downloaded": ("quote_id", "number", "version", "ip", "user_agent", "at"),
    "signature.requested": ("request_id", "quote_id", "version", "signer_email", "document_sha256"),
    "signature.completed": ("request_id", "quote_id", "number", "version", "signer_name", "signer_email",
                            "signed_at", "document_sha256", "evidence_sha256", "signed_pdf_sha256",
                            "proof_sha256"),
    "signature.declined": ("request_id", "quote_id", "version", "reason", "declined_at", "evidence_sha256"),
    "signature.code_requested": ("quote_id",),
    "notification.sent": ("delivery_id", "quote_id", "channel", "recipient", "template", "cause_event_id", "at"),
    "notification.failed": ("delivery_id", "quote_id", "channel", "template", "cause_event_id", "at"),
}
TIMESTAMPS = ("at", "signed_at", "declined_at", "expires_at", "changed_at", "withdrawn_at")
UA = "Mozilla/5.0 (X11; Linux x86_64) QuoteflowContract/1.0"
SINGLE, BATCH = "application/cloudevents+json", "application/cloudevents-batch+json"
BURST = 8  # downloads at once: the portal sends their facts together


@pytest.fixture
def suite(tmp_path):
    tenant = f"t-{uuid.uuid4().hex[:8]}"
    with contextlib.ExitStack() as stack:
        broker_url = stack.enter_context(private_vhost("qf_contract"))
        databases = stack.enter_context(private_databases(SERVICES, "qf_contract"))
        suite = Suite(var=tmp_path / "var", ports={name: free_port() for name in SERVICES},
                      api_keys={tenant: new_key()}, broker_url=broker_url, database_urls=databases,
                      extra_env={"PORTAL_FACTS_LINGER_MS": "200"})  # the downloads of a burst go together
        suite.tenant = tenant
        suite.start()
        try:
            suite.wait_healthy(90)
            yield suite
        finally:
            suite.stop()


class Gateway:
    """An outside consumer: its own queue bound to every event, read with plain pika."""

    def __init__(self, broker_url: str):
        self.connection = pika.BlockingConnection(pika.URLParameters(broker_url))
        self.channel = self.connection.channel()
        self.queue = self.channel.queue_declare(queue=f"crm-gateway-{uuid.uuid4().hex[:6]}",
                                                exclusive=True).method.queue
        self.channel.queue_bind(queue=self.queue, exchange="quoteflow.events", routing_key="#")
        self.received: list[tuple] = []

    def read(self, until: set[str], timeout: float = 60.0, settle: float = 1.5) -> None:
        deadline = time.monotonic() + timeout
        quiet_until = None
        while time.monotonic() < deadline:
            method, properties, body = self.channel.basic_get(self.queue, auto_ack=False)
            if method is None:
                if until <= {m.routing_key for m, _, _ in self.received}:
                    quiet_until = quiet_until or time.monotonic() + settle  # stragglers (notifications)
                    if time.monotonic() > quiet_until:
                        return
                self.connection.sleep(0.05)
                continue
            self.received.append((method, properties, body))
            self.channel.basic_ack(method.delivery_tag)

    def close(self) -> None:
        self.connection.close()


def http(url: str, data: bytes | None = None) -> tuple[int, bytes]:
    headers = {"User-Agent": UA}
    if data is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data, headers=headers), timeout=30) as reply:
            return reply.status, reply.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def eventually(check, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out")


def drive_a_quote_to_its_signature(suite) -> str:
    crm = client.quotes(suite.quotes_target, suite.api_keys[suite.tenant])
    crm.UpdateSettings(quotes_pb2.Settings(esignature_enabled=True, default_validity_days=30,
                                           company=common_pb2.Company(name="Réseaux Dupont SARL")))
    crm.UpsertAccount(quotes_pb2.Account(id="acc-1", name="Boulangerie Lefèvre"))
    crm.UpsertContact(quotes_pb2.Contact(id="ct-1", account_id="acc-1", name="Chloé Lefèvre",
                                         email="chloe@example.fr"))
    crm.UpsertUser(quotes_pb2.User(id="u-1", name="Antoine Martin", email="antoine@example.com",
                                   mobile="+33600000002"))
    quote = crm.CreateQuote(quotes_pb2.CreateQuoteRequest(
        account_id="acc-1", contact_id="ct-1", assignee_id="u-1", title="Réseau",
        lines=[common_pb2.QuoteLine(description="Commutateur PoE", quantity="2", unit_price="500.00",
                                    vat_rate="20")]))
    sent = crm.SendQuote(quotes_pb2.SendQuoteRequest(quote_id=quote.id, request_signature=True, attach_pdf=True))
    link = sent.link_url
    page = eventually(lambda: (lambda r: r[1].decode() if r[0] == 200 else None)(http(link)))
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    view = re.search(r'name="vue" value="([^"]+)"', page) or re.search(r'[?&]vue=([^"&\s]+)', page)
    view_id = urllib.parse.unquote(view.group(1).replace("&amp;", "&"))
    # what portal.js does once a person reads the page: portal.quote_viewed
    assert http(link + "/vu", data=urllib.parse.urlencode({"csrf_token": csrf, "vue": view_id}).encode())[0] < 400
    assert http(f"{link}/pdf?vue={urllib.parse.quote(view_id)}")[0] == 200  # portal.quote_downloaded
    with ThreadPoolExecutor(BURST) as pool:  # at once: their portal.quote_downloaded travel as one batch message
        assert [status for status, _ in pool.map(http, [f"{link}/pdf"] * BURST)] == [200] * BURST
    form = urllib.parse.urlencode({"csrf_token": csrf, "consent": "on", "signer_name": "Chloé Lefèvre",
                                   "vue": view_id}).encode()
    assert http(link + "/sign", data=form)[0] in (200, 303)  # signature.completed
    return quote.id


def withdraw_a_sent_quote(suite) -> str:
    """A second quote, sent then withdrawn: quote.withdrawn, and its link closes."""
    crm = client.quotes(suite.quotes_target, suite.api_keys[suite.tenant])
    quote = crm.CreateQuote(quotes_pb2.CreateQuoteRequest(
        account_id="acc-1", contact_id="ct-1", assignee_id="u-1", title="Caisse",
        lines=[common_pb2.QuoteLine(description="Terminal de paiement", quantity="1", unit_price="390.00",
                                    vat_rate="20")]))
    link = crm.SendQuote(quotes_pb2.SendQuoteRequest(quote_id=quote.id, request_signature=True)).link_url
    eventually(lambda: http(link)[0] == 200)
    crm.WithdrawQuote(quotes_pb2.WithdrawQuoteRequest(quote_id=quote.id, reason="Erreur de modèle"))
    eventually(lambda: (lambda r: r[0] == 410 and "Devis retiré" in r[1].decode())(http(link)))
    return quote.id


def field(data: dict, dotted: str):
    for part in dotted.split("."):
        data = data.get(part, {}) if isinstance(data, dict) else {}
    return data


def events_of(method, properties, body: bytes) -> list[tuple[dict, bytes]]:
    """Each event a message carries as (its document, its JSON text), after the checks of the message's form:
    persistent, labelled, identified; one event, or a JSON array of events (each routed by its type)."""
    assert method.exchange == "quoteflow.events" and properties.delivery_mode == 2, method
    if properties.content_type == SINGLE:
        doc = json.loads(body)
        assert properties.message_id == doc["id"], doc["id"]
        return [(doc, body)]
    assert properties.content_type == BATCH, properties.content_type
    docs = json.loads(body)
    assert isinstance(docs, list) and docs and all(isinstance(doc, dict) for doc in docs), properties.message_id
    assert properties.message_id == f"batch:{docs[0]['id']}", properties.message_id
    return [(doc, json.dumps(doc, ensure_ascii=False).encode()) for doc in docs]


def check_event(doc: dict, body: bytes, routing_key: str, tenant: str, quote_ids: set[str]) -> None:
    """One event, whether it came alone or in a batch."""
    kind = doc.get("type")
    where = f"{kind} {doc.get('id')}"
    assert routing_key == kind, where
    # CloudEvents 1.0 attributes and Quoteflow's extensions.
    assert doc["specversion"] == "1.0" and doc["datacontenttype"] == "application/json", where
    assert kind in EVENT_TYPES and uuid.UUID(doc["id"]), where
    assert doc["source"] == f"quoteflow/{PRODUCERS[kind.split('.')[0]]}", where
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", doc["time"]), where
    assert doc["tenantid"] == tenant and doc["correlationid"], where
    assert doc["subject"] == f"quote/{doc['data']['quote_id']}" and doc["data"]["quote_id"] in quote_ids, where
    # The payload against its schema (unknown fields are refused), round trip exact.
    envelope = Envelope.from_json(body)
    payload = envelope.payload()
    assert json_format.MessageToDict(payload, preserving_proto_field_name=True) == doc["data"], where
    for name in REQUIRED[kind]:
        assert field(doc["data"], name) not in ("", None, {}, 0), f"{where}: {name} is empty"
    # A portal link is a capability: no event carries one in clear (quote.sent carries it sealed).
    assert not re.search(rb"/d/[A-Za-z0-9_-]{32,}", body), f"{where}: a portal link in clear"
    for name, value in doc["data"].items():
        if name.endswith("sha256"):
            assert re.fullmatch(r"[0-9a-f]{64}", value), f"{where}: {name}"
        if name in TIMESTAMPS:
            assert datetime.fromisoformat(value.replace("Z", "+00:00")).tzinfo, f"{where}: {name}"


def test_every_event_read_by_an_outside_pika_consumer_matches_the_schema(suite):
    gateway = Gateway(suite.broker_url)
    try:
        quote_ids = {drive_a_quote_to_its_signature(suite), withdraw_a_sent_quote(suite)}
        gateway.read(until=EXPECTED)
    finally:
        gateway.close()

    seen: dict[str, int] = {}
    batches = 0
    for method, properties, message_body in gateway.received:
        events = events_of(method, properties, message_body)
        batches += properties.content_type == BATCH
        for doc, body in events:
            kind = doc.get("type")
            seen[kind] = seen.get(kind, 0) + 1
            check_event(doc, body, method.routing_key, suite.tenant, quote_ids)
    print(f"\ncontract: {len(gateway.received)} messages ({batches} CloudEvents batches) read with pika, "
          f"{sum(seen.values())} events validated: " + ", ".join(f"{k} ×{n}" for k, n in sorted(seen.items())))
    assert EXPECTED <= set(seen), f"missing {EXPECTED - set(seen)}"
    assert seen["quote.sent"] == 2 and seen["signature.completed"] == 1 and seen["quote.withdrawn"] == 1
    # Brouillon → Envoyé twice, Envoyé → Accepté, Envoyé → Retiré
    assert seen["quote.status_changed"] == 4
    assert seen["portal.quote_downloaded"] == 1 + BURST and batches >= 1
