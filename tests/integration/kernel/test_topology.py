"""The RabbitMQ topology as the broker reports it: declared twice, quorum queues, delay queues, limits."""
from __future__ import annotations

import json
import logging
import subprocess
import time

from kombu import Queue

from quoteflow import topology
from quoteflow.bus import EventConsumer, Publisher, connect, declare_topology
from tests.integration.kernel.support import start, viewed, wait_for


def broker_queues(url: str) -> dict[str, dict]:
    vhost = url.rsplit("/", 1)[1]
    out = subprocess.run(["rabbitmqctl", "-q", "list_queues", "-p", vhost, "--formatter", "json",
                          "name", "type", "durable", "arguments", "messages"],
                         check=True, capture_output=True, text=True, timeout=60).stdout
    return {q["name"]: q for q in json.loads(out)}


def arguments(queue: dict) -> dict:
    raw = queue["arguments"]
    if isinstance(raw, dict):
        return raw
    return {name: value for name, _type, value in raw}


def test_the_topology_is_declared_idempotently_with_quorum_queues(rabbit_url):
    with connect(rabbit_url) as connection:
        declare_topology(connection, rabbit_url)
        declare_topology(connection, rabbit_url)  # a second process starting: same answer
    queues = broker_queues(rabbit_url)
    for service in topology.SUBSCRIPTIONS:
        main = queues[f"quoteflow.{service}"]
        args = arguments(main)
        assert main["type"] == "quorum" and main["durable"]
        assert args["x-delivery-limit"] == topology.DELIVERY_LIMIT
        assert args["x-dead-letter-exchange"] == "quoteflow.dead"
        assert args["x-dead-letter-routing-key"] == f"quoteflow.{service}.dead"
        assert args["x-dead-letter-strategy"] == "at-least-once"
        dead = queues[f"quoteflow.{service}.dead"]
        assert dead["type"] == "quorum" and "x-delivery-limit" not in arguments(dead)
        delays = [0.5, 2, 8, 32]
        assert topology.retry_delays_ms() == [int(d * 1000) for d in delays]
        for ms in topology.retry_delays_ms():
            retry = arguments(queues[f"quoteflow.{service}.retry.{ms}ms"])
            assert retry["x-message-ttl"] == ms
            assert retry["x-dead-letter-exchange"] == "" and retry["x-dead-letter-routing-key"] == f"quoteflow.{service}"


def test_a_queue_declared_by_an_older_release_is_used_as_it_is(rabbit_url, caplog):
    with connect(rabbit_url) as connection:
        old = Queue("quoteflow.quotes", durable=True, queue_arguments={"x-queue-type": "quorum"})
        old(connection.default_channel).declare()
    received = []
    consumer = EventConsumer(rabbit_url, "quotes", lambda e: received.append(e.id))
    with caplog.at_level(logging.WARNING, logger="quoteflow.bus"):
        thread = start(consumer)
        publisher = Publisher(rabbit_url)
        event = viewed(1)
        publisher.publish(event.type, event.to_json(), event.id)
        assert wait_for(lambda: received == [event.id], timeout=10)
    consumer.stop()
    thread.join(5)
    publisher.close()
    assert "exists with other arguments" in caplog.text
    assert arguments(broker_queues(rabbit_url)["quoteflow.quotes"]) == {"x-queue-type": "quorum"}


def test_a_message_that_kills_its_consumer_every_time_ends_in_the_dead_letter_queue(rabbit_url):
    """The delivery limit: a handler that crashes its process never acks nor raises."""
    publisher = Publisher(rabbit_url)
    event = viewed("crash")
    publisher.publish(event.type, event.to_json(), event.id)
    publisher.close()
    deliveries = 0
    with connect(rabbit_url) as connection:
        queue = topology.service_queue("quotes", quorum=True)
        for _ in range(topology.DELIVERY_LIMIT + 5):
            channel = connection.channel()
            message = queue(channel).get(no_ack=False)
            channel.close()  # like a process dying with the message unacked
            if message is None:
                break
            deliveries += 1
        dead = None
        deadline = time.monotonic() + 5
        while dead is None and time.monotonic() < deadline:
            dead = topology.dead_letter_queue("quotes", quorum=True)(connection.default_channel).get(no_ack=True)
    assert deliveries == topology.DELIVERY_LIMIT + 1
    assert dead is not None and json.loads(dead.body)["id"] == event.id
    assert dead.headers["x-first-death-reason"] == "delivery_limit"
