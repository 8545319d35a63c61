"""The bus on both transports: nothing lost while publishing and consuming at once, retries, dead letters."""
from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
from sqlalchemy import MetaData

from quoteflow import topology
from quoteflow.bus import EventConsumer, Publisher, connect, declare_topology, is_amqp
from quoteflow.db import add_kernel_tables, make_engine, session_factory
from quoteflow.envelope import Envelope
from quoteflow.outbox import OutboxRelay
from quoteflow.uow import SqlUnitOfWork
from quoteflow.v1 import events_pb2
from tests.support.backends import private_vhost



@pytest.fixture(params=["filesystem", "rabbitmq"])
def broker_url(request, tmp_path):
    if request.param == "filesystem":
        yield f"filesystem://{tmp_path / 'bus'}"
        return
    with private_vhost() as url:  # a fresh virtual host: runs never see each other's messages
        yield url


def viewed(i: int) -> Envelope:
    return Envelope.wrap(events_pb2.QuoteViewed(quote_id=f"q{i}"), source="test", subject=f"quote/q{i}",
                         tenant="t")


def start(consumer: EventConsumer) -> threading.Thread:
    thread = threading.Thread(target=consumer.run, daemon=True)
    thread.start()
    return thread


def wait_for(check, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not check():
        time.sleep(0.02)
    return check()


def test_two_replicas_get_every_event_of_a_concurrent_burst_once(broker_url, tmp_path):
    metadata = MetaData()
    outbox, inbox = add_kernel_tables(metadata)
    engine = make_engine(f"sqlite:///{tmp_path / 'outbox.db'}")
    metadata.create_all(engine)
    relay = OutboxRelay(engine, outbox, Publisher(broker_url))
    seen: Counter = Counter()
    lock = threading.Lock()

    def handle(envelope):
        with lock:
            seen[envelope.id] += 1

    replicas = [EventConsumer(broker_url, "notifier", handle) for _ in range(2)]
    threads = [start(c) for c in replicas]
    threading.Thread(target=relay.run, daemon=True).start()
    time.sleep(0.5)
    sent = []
    started = time.monotonic()
    for batch in range(30):
        with SqlUnitOfWork(session_factory(engine), outbox, inbox, relay) as uow:
            for i in range(10):
                envelope = viewed(batch * 10 + i)
                sent.append(envelope.id)
                uow.emit(envelope)
            uow.commit()
    assert wait_for(lambda: len(seen) == len(sent))
    elapsed = time.monotonic() - started
    print(f"{broker_url.split(':')[0]}: {len(sent)} events through outbox and 2 replicas in {elapsed:.2f}s")
    assert set(seen) == set(sent)
    assert max(seen.values()) == 1
    assert all(t.is_alive() for t in threads)
    relay.stop()
    for consumer in replicas:
        consumer.stop()
    assert relay.status()[0] == 0


def test_a_failing_event_is_retried_then_dead_lettered_while_others_flow(broker_url):
    poison = viewed(0)
    good = [viewed(i) for i in range(1, 6)]
    attempts: Counter = Counter()
    handled = []

    def handle(envelope):
        attempts[envelope.id] += 1
        if envelope.id == poison.id:
            raise RuntimeError("template missing")
        handled.append(envelope.id)

    consumer = EventConsumer(broker_url, "quotes", handle, max_attempts=3, backoff=0.01)
    start(consumer)
    time.sleep(0.3)
    publisher = Publisher(broker_url)
    for envelope in [poison, *good]:
        publisher.publish(envelope.type, envelope.to_json(), envelope.id)
    assert wait_for(lambda: attempts[poison.id] == 3 and len(handled) == 5), (attempts, handled)
    consumer.stop()
    publisher.close()
    with connect(broker_url) as connection:
        declare_topology(connection, broker_url)
        message = None
        for _ in range(50):
            message = topology.dead_letter_queue("quotes", quorum=is_amqp(broker_url))(
                connection.default_channel).get(no_ack=False)
            if message:
                break
            time.sleep(0.05)
        assert message is not None
        assert Envelope.from_json(message.body).id == poison.id
        assert "template missing" in message.headers["x-quoteflow-error"]
        message.ack()
