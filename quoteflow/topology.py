"""The broker topology, declared whole and idempotently by every process.

On RabbitMQ:

- ``quoteflow.events``: one topic exchange for every event (routing key = event type);
- ``quoteflow.<service>``: one quorum queue per consuming service, bound to the keys it
  consumes. A message delivered ``DELIVERY_LIMIT`` times without an ack (a handler that
  kills its process every time) is dead-lettered by the broker itself;
- ``quoteflow.<service>.retry.<ms>ms``: per-attempt delay queues. A failed message is
  parked there; when its TTL expires the broker dead-letters it back to the service queue
  (default exchange), so a back-off never holds a consumer;
- ``quoteflow.dead`` (direct exchange) and ``quoteflow.<service>.dead``: what failed
  ``max_attempts`` times, with the error in a header, for ``quoteflow dlq``.

Quorum queues dead-letter "at least once" (``x-dead-letter-strategy``), which RabbitMQ
allows only with ``x-overflow: reject-publish``. On the embedded transport the same names
are declared; delay queues are not (a not-before header does their work there, see
:mod:`quoteflow.bus`). Declaring the whole map from every process keeps the server-less
transport routing exactly like RabbitMQ does.
"""
from __future__ import annotations

from kombu import Exchange, Queue, binding

EXCHANGE = Exchange("quoteflow.events", type="topic", durable=True)
DEAD_LETTERS = Exchange("quoteflow.dead", type="direct", durable=True)

# service -> routing keys it consumes
SUBSCRIPTIONS: dict[str, tuple[str, ...]] = {
    "quotes": ("portal.#", "signature.#", "notification.#"),
    "portal": ("quote.#", "signature.#"),
    "signature": ("quote.#", "apikey.#"),
    "notifier": ("quote.#", "portal.#", "signature.#", "apikey.#"),
}

# Deliveries without an ack before the broker dead-letters a message. Only a handler that
# crashes its process gets near it: failures it raises are counted by the consumer.
DELIVERY_LIMIT = 50

# Retry back-off: attempt n waits min(BACKOFF * FACTOR ** (n - 1), MAX_BACKOFF) seconds.
BACKOFF = 0.5
BACKOFF_FACTOR = 4.0
MAX_BACKOFF = 300.0
MAX_ATTEMPTS = 5


def queue_name(service: str) -> str:
    return f"quoteflow.{service}"


def dead_letter_queue_name(service: str) -> str:
    return f"quoteflow.{service}.dead"


def retry_queue_name(service: str, delay_ms: int) -> str:
    return f"quoteflow.{service}.retry.{delay_ms}ms"


def retry_delays_ms(max_attempts: int = MAX_ATTEMPTS, backoff: float = BACKOFF,
                    factor: float = BACKOFF_FACTOR, max_backoff: float = MAX_BACKOFF) -> list[int]:
    """The delay before attempt 2, 3, … ``max_attempts``, in milliseconds, growing then capped."""
    return [max(1, round(min(backoff * factor ** (n - 1), max_backoff) * 1000))
            for n in range(1, max(max_attempts, 1))]


def _at_least_once_dead_lettering(exchange: str, routing_key: str) -> dict:
    return {
        "x-dead-letter-exchange": exchange,
        "x-dead-letter-routing-key": routing_key,
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
    }


def service_queue(service: str, *, quorum: bool) -> Queue:
    arguments = None
    if quorum:
        arguments = {"x-queue-type": "quorum", "x-delivery-limit": DELIVERY_LIMIT,
                     **_at_least_once_dead_lettering(DEAD_LETTERS.name, dead_letter_queue_name(service))}
    return Queue(
        queue_name(service),
        bindings=[binding(EXCHANGE, routing_key=key) for key in SUBSCRIPTIONS[service]],
        durable=True,
        queue_arguments=arguments,
    )


def retry_queue(service: str, delay_ms: int) -> Queue:
    """A RabbitMQ delay queue: every message waits ``delay_ms`` then returns to the service queue."""
    return Queue(
        retry_queue_name(service, delay_ms),
        durable=True,
        queue_arguments={"x-queue-type": "quorum", "x-message-ttl": int(delay_ms),
                         **_at_least_once_dead_lettering("", queue_name(service))},
    )


def dead_letter_queue(service: str, *, quorum: bool) -> Queue:
    arguments = {"x-queue-type": "quorum"} if quorum else None
    return Queue(
        dead_letter_queue_name(service),
        exchange=DEAD_LETTERS,
        routing_key=dead_letter_queue_name(service),
        durable=True,
        queue_arguments=arguments,
    )


def entities(*, quorum: bool, delays_ms: dict[str, list[int]] | None = None) -> list:
    """Everything to declare, exchanges first. ``delays_ms``: service -> delay queues (RabbitMQ)."""
    if delays_ms is None:
        delays_ms = {service: retry_delays_ms() for service in SUBSCRIPTIONS} if quorum else {}
    found: list = [EXCHANGE, DEAD_LETTERS]
    for service in SUBSCRIPTIONS:
        found.append(dead_letter_queue(service, quorum=quorum))
        found.append(service_queue(service, quorum=quorum))
        found.extend(retry_queue(service, ms) for ms in sorted(set(delays_ms.get(service, ()))))
    return found


def declare(channel, *, quorum: bool) -> None:
    for entity in entities(quorum=quorum):
        entity(channel).declare()
