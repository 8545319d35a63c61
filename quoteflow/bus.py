"""The message bus over kombu: connections, publishing with confirms, consuming with manual ack.

``BROKER_URL`` is ``amqp://…`` for RabbitMQ, or ``filesystem:///path`` for the
server-less embedded transport (messages are files in that folder, shared by
the processes of one machine).
"""
from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from pathlib import Path
from queue import Empty
from typing import Callable

from kombu import Connection, Consumer, Exchange, Producer
from kombu.exceptions import OperationalError
from kombu.transport import filesystem as kombu_filesystem
from kombu.transport.virtual.base import BrokerState
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads

from quoteflow import topology
from quoteflow.envelope import Envelope, MalformedEvent

log = logging.getLogger(__name__)

ATTEMPTS_HEADER = "x-quoteflow-attempts"
ERROR_HEADER = "x-quoteflow-error"


class _AtomicFilesystemChannel(kombu_filesystem.Channel):
    """kombu's folder transport, made safe for several processes.

    kombu writes a message into its final name while a reader may already take
    it half-written, and moves taken files to the system temp folder (a copy
    when that is another file system). Here a message is written whole under a
    temporary name and renamed in; a reader claims it by renaming it within the
    bus folder, which exactly one reader can win.
    """

    def _put(self, queue, payload, **kwargs):
        name = f"{int(round(time.monotonic() * 1000)):015d}_{uuid.uuid4()}.{queue}.msg"
        tmp = os.path.join(self.processed_folder, f".{name}.tmp")
        with open(tmp, "wb") as handle:
            handle.write(str_to_bytes(dumps(payload)))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, os.path.join(self.data_folder_out, name))

    def _get(self, queue):
        wanted = f"{queue}.msg"
        for filename in sorted(os.listdir(self.data_folder_in)):
            if filename.partition(".")[2] != wanted:
                continue
            claimed = os.path.join(self.processed_folder, filename)
            try:
                os.rename(os.path.join(self.data_folder_in, filename), claimed)
            except OSError:
                continue  # another reader took it
            with open(claimed, "rb") as handle:
                payload = handle.read()
            os.remove(claimed)
            return loads(bytes_to_str(payload))
        raise Empty()


_FOLDER_STATES: dict[str, BrokerState] = {}


class _AtomicFilesystemTransport(kombu_filesystem.Transport):
    Channel = _AtomicFilesystemChannel

    def __init__(self, client, **kwargs):
        super().__init__(client, **kwargs)
        # kombu keeps declared bindings in one state per process and then skips writing them to a
        # second folder; one state per folder keeps every folder's routing table whole.
        folder = str(client.transport_options.get("control_folder", ""))
        self.state = _FOLDER_STATES.setdefault(folder, BrokerState())


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
            transport=_AtomicFilesystemTransport,
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
        self._direct: Producer | None = None
        self._lock = threading.Lock()

    def _ensure(self) -> Producer:
        if self._producer is None:
            self._connection = connect(self._url)
            self._connection.ensure_connection(max_retries=1)
            declare_topology(self._connection, self._url)
            channel = self._connection.default_channel
            self._producer = Producer(channel, exchange=topology.EXCHANGE)
            # kombu reads exchange="" as "the producer's own": this one's own is the default exchange.
            self._direct = Producer(channel, exchange=Exchange(""), auto_declare=False)
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
                self._ensure()
                self._direct.publish(
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
        self._direct = None


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
            except Exception:  # the loop must never die silently: log, reconnect
                if self.stopping.is_set():
                    break
                log.exception("%s consumer failed; reconnecting", self.service)
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
