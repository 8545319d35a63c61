"""The message bus over kombu: connections, publishing with confirms, consuming with manual ack.

``BROKER_URL`` is ``amqp://…`` for RabbitMQ, or ``filesystem:///path`` for the
server-less embedded transport (messages are files in that folder, shared by
the processes of one machine).
"""
from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Callable

from kombu import Connection, Consumer, Producer
from kombu.exceptions import OperationalError

from quoteflow import topology
from quoteflow.envelope import Envelope, MalformedEvent

log = logging.getLogger(__name__)

ATTEMPTS_HEADER = "x-quoteflow-attempts"
ERROR_HEADER = "x-quoteflow-error"


def is_amqp(url: str) -> bool:
    return url.startswith(("amqp://", "amqps://", "pyamqp://"))


def connect(url: str) -> Connection:
    """A kombu connection; publisher confirms on AMQP, a shared folder otherwise."""
    if is_amqp(url):
        return Connection(url, transport_options={"confirm_publish": True}, heartbeat=30)
    if url.startswith("filesystem://"):
        folder = Path(url[len("filesystem://"):] or "var/bus").resolve()
        messages = folder / "messages"
        processed = folder / "processed"
        control = folder / "control"
        for path in (messages, processed, control):
            path.mkdir(parents=True, exist_ok=True)
        return Connection(
            "filesystem://",
            transport_options={
                "data_folder_in": str(messages),
                "data_folder_out": str(messages),
                "processed_folder": str(processed),
                "control_folder": str(control),
                "store_processed": False,
                "polling_interval": 0.02,
            },
        )
    if url.startswith("memory://"):
        return Connection(url, transport_options={"polling_interval": 0.01})
    raise ValueError(f"BROKER_URL scheme not supported: {url.split(':', 1)[0]!r}")


def declare_topology(connection: Connection, url: str) -> None:
    topology.declare(connection.default_channel, quorum=is_amqp(url))


class Publisher:
    """Publishes envelopes to the events exchange; returns only once the broker confirmed."""

    def __init__(self, url: str):
        self._url = url
        self._connection: Connection | None = None
        self._producer: Producer | None = None
        self._lock = threading.Lock()

    def _ensure(self) -> Producer:
        if self._producer is None:
            self._connection = connect(self._url)
            self._connection.ensure_connection(max_retries=1)
            declare_topology(self._connection, self._url)
            self._producer = Producer(self._connection.default_channel, exchange=topology.EXCHANGE)
        return self._producer

    def publish(self, type_: str, body: str, message_id: str, headers: dict | None = None) -> None:
        with self._lock:
            try:
                self._ensure().publish(
                    body,
                    routing_key=type_,
                    exchange=topology.EXCHANGE,
                    content_type="application/cloudevents+json",
                    content_encoding="utf-8",
                    delivery_mode=2,
                    message_id=message_id,
                    headers=headers or {},
                    retry=False,
                )
            except Exception:
                self.close()
                raise

    def publish_raw(self, queue: str, body: str, headers: dict, message_id: str, exchange: str = "") -> None:
        """Sends straight to a queue (retries and dead letters) by the default exchange."""
        with self._lock:
            try:
                producer = self._ensure()
                producer.publish(
                    body,
                    routing_key=queue,
                    exchange=exchange,
                    content_type="application/cloudevents+json",
                    content_encoding="utf-8",
                    delivery_mode=2,
                    message_id=message_id,
                    headers=headers,
                    retry=False,
                )
            except Exception:
                self.close()
                raise

    def close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.release()
            except Exception:  # pragma: no cover - closing a broken connection
                pass
        self._connection = None
        self._producer = None


Handler = Callable[[Envelope], None]


class EventConsumer:
    """Consumes one service's queue: ack after the handler committed, bounded retries, then dead letter.

    ``handle`` must be idempotent (it records the event id in the service's
    inbox in the transaction of its effect). A failure is retried with a
    growing pause up to ``max_attempts`` times, then the message goes to the
    service's dead-letter queue with the error kept in a header.
    """

    def __init__(self, url: str, service: str, handle: Handler, *, max_attempts: int = 5,
                 prefetch: int = 20, backoff: float = 0.2):
        self.url = url
        self.service = service
        self.handle = handle
        self.max_attempts = max_attempts
        self.prefetch = prefetch
        self.backoff = backoff
        self.stopping = threading.Event()
        self._retry_publisher = Publisher(url)

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                with connect(self.url) as connection:
                    connection.ensure_connection(max_retries=3)
                    declare_topology(connection, self.url)
                    queue = topology.service_queue(self.service, quorum=is_amqp(self.url))
                    channel = connection.channel()
                    with Consumer(channel, queues=[queue], callbacks=[self._on_message],
                                  accept=["application/cloudevents+json", "json"], no_ack=False,
                                  prefetch_count=self.prefetch):
                        while not self.stopping.is_set():
                            try:
                                connection.drain_events(timeout=0.5)
                            except TimeoutError:
                                continue
            except (OperationalError, ConnectionError, OSError) as exc:
                if self.stopping.is_set():
                    break
                log.warning("%s consumer lost the broker (%s); reconnecting", self.service, exc)
                self.stopping.wait(1.0)
        self._retry_publisher.close()

    def stop(self) -> None:
        self.stopping.set()

    def _on_message(self, body, message) -> None:
        raw = body if isinstance(body, (str, bytes)) else message.body
        headers = dict(message.headers or {})
        attempts = int(headers.get(ATTEMPTS_HEADER, 0)) + 1
        try:
            envelope = Envelope.from_json(raw)
        except MalformedEvent as exc:
            log.error("%s: malformed message dead-lettered: %s", self.service, exc)
            self._dead_letter(raw, headers, str(exc), message)
            return
        try:
            self.handle(envelope)
        except Exception as exc:  # a failing handler must be retried, then dead-lettered
            log.exception("%s: event %s (%s) failed, attempt %d/%d", self.service, envelope.id,
                          envelope.type, attempts, self.max_attempts)
            if attempts >= self.max_attempts:
                self._dead_letter(raw, headers, f"{type(exc).__name__}: {exc}", message)
                return
            self.stopping.wait(min(self.backoff * (2 ** (attempts - 1)), 5.0))
            headers[ATTEMPTS_HEADER] = attempts
            headers[ERROR_HEADER] = f"{type(exc).__name__}: {exc}"[:500]
            self._retry_publisher.publish_raw(topology.queue_name(self.service), _text(raw), headers,
                                              envelope.id)
            message.ack()
            return
        message.ack()

    def _dead_letter(self, raw, headers: dict, error: str, message) -> None:
        headers[ERROR_HEADER] = error[:500]
        headers["x-quoteflow-dead-at"] = time.time()
        self._retry_publisher.publish_raw(
            topology.dead_letter_queue_name(self.service), _text(raw), headers,
            headers.get("message_id", ""), exchange=topology.DEAD_LETTERS.name)
        message.ack()


def _text(raw) -> str:
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
