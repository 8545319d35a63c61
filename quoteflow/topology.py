"""The broker topology, declared whole and idempotently by every process.

One topic exchange for every event (routing key = event type), one durable
queue per consuming service (a quorum queue on RabbitMQ) and one dead-letter
queue per service. Declaring the whole map from every process keeps the
server-less embedded transport routing exactly like RabbitMQ does.
"""
from __future__ import annotations

from kombu import Exchange, Queue

EXCHANGE = Exchange("quoteflow.events", type="topic", durable=True)
DEAD_LETTERS = Exchange("quoteflow.dead", type="direct", durable=True)

# service -> routing keys it consumes
SUBSCRIPTIONS: dict[str, tuple[str, ...]] = {
    "quotes": ("portal.#", "signature.#", "notification.#"),
    "portal": ("quote.#", "signature.#"),
    "signature": ("quote.#",),
    "notifier": ("quote.#", "portal.#", "signature.#"),
}


def queue_name(service: str) -> str:
    return f"quoteflow.{service}"


def dead_letter_queue_name(service: str) -> str:
    return f"quoteflow.{service}.dead"


def service_queue(service: str, *, quorum: bool) -> Queue:
    from kombu import binding

    arguments = {"x-queue-type": "quorum"} if quorum else None
    return Queue(
        queue_name(service),
        bindings=[binding(EXCHANGE, routing_key=key) for key in SUBSCRIPTIONS[service]],
        durable=True,
        queue_arguments=arguments,
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


def declare(channel, *, quorum: bool) -> None:
    EXCHANGE(channel).declare()
    DEAD_LETTERS(channel).declare()
    for service in SUBSCRIPTIONS:
        service_queue(service, quorum=quorum)(channel).declare()
        dead_letter_queue(service, quorum=quorum)(channel).declare()
