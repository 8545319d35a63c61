"""The bus on both transports: nothing lost while publishing and consuming at once, retries, dead letters."""
from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
from sqlalchemy import MetaData

from quoteflow import topology
from quoteflow.bus import (ATTEMPTS_HEADER, ERROR_HEADER, EventConsumer, Publisher, connect, declare_topology,
                           is_amqp)
from quoteflow.db import add_kernel_tables, make_engine, session_factory
from quoteflow.envelope import Envelope
from quoteflow.outbox import OutboxRelay
from quoteflow.uow import SqlUnitOfWork
from quoteflow.v1 import events_pb2
from tests.integration.kernel.support import start, viewed, wait_for


def dead_letters(broker_url: str, service: str, timeout: float = 5.0) -> list:
    """Takes every dead letter of ``service`` (acked: the queue is the test's own)."""
    found = []
    with connect(broker_url) as connection:
        declare_topology(connection, broker_url)
        queue = topology.dead_letter_queue(service, quorum=is_amqp(broker_url))(connection.default_channel)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = queue.get(no_ack=False)
            if message is None:
                if found:
                    break
                time.sleep(0.05)
                continue
            found.append((Envelope.from_json(message.body), dict(message.headers)))
            message.ack()
    return found


def test_two_replicas_get_every_event_of_a_concurrent_burst_once(broker_url, tmp_path):
    metadata = MetaData()
    outbox, inbox = add_kernel_tables(metadata)
    engine = make_engine(f"sqlite:///{tmp_path / 'outbox.db'}")
    metadata.create_all(engine)
    relay = OutboxRelay(engine, outbox, Publisher(broker_url))
    seen: Counter = Counter()
    by_replica: Counter = Counter()
    lock = threading.Lock()

    def handler(replica):
        def handle(envelope):
            with lock:
                seen[envelope.id] += 1
                by_replica[replica] += 1
            time.sleep(0.001)  # a little work, so both replicas get their share
        return handle

    replicas = [EventConsumer(broker_url, "notifier", handler(n)) for n in range(2)]
    threads = [start(c) for c in replicas]
    start(relay)
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
    print(f"{broker_url.split(':')[0]}: {len(sent)} events through outbox and 2 replicas in {elapsed:.2f}s, "
          f"split {dict(by_replica)}")
    time.sleep(0.3)  # room for a wrong second delivery
    assert set(seen) == set(sent)
    assert max(seen.values()) == 1
    assert all(t.is_alive() for t in threads)
    assert min(by_replica.values()) > 0, by_replica
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
    [(envelope, headers)] = dead_letters(broker_url, "quotes")
    assert envelope.id == poison.id
    assert "template missing" in headers[ERROR_HEADER]
    assert headers[ATTEMPTS_HEADER] == 3
    assert consumer.stats["dead_lettered"] == 1 and consumer.stats["retried"] == 2


@pytest.fixture(params=["filesystem", "rabbitmq", "memory"])
def any_broker(request, tmp_path):
    if request.param == "memory":
        yield "memory://"
        return
    if request.param == "filesystem":
        yield f"filesystem://{tmp_path / 'bus'}"
        return
    from tests.support.backends import private_vhost

    with private_vhost() as url:
        yield url


def test_a_retry_waits_off_the_loop_with_a_growing_back_off(any_broker):
    """The back-off of a failing message never holds the messages behind it."""
    poison = viewed("poison")
    good = [viewed(i) for i in range(40)]
    wanted = {e.id for e in good}
    tried_at: list[float] = []
    handled_at: dict[str, float] = {}

    def handle(envelope):
        if envelope.id == poison.id:
            tried_at.append(time.monotonic())
            raise RuntimeError("not yet")
        if envelope.id in wanted:
            handled_at[envelope.id] = time.monotonic()

    consumer = EventConsumer(any_broker, "notifier", handle, max_attempts=3, backoff=2.0, backoff_factor=2,
                             prefetch=5)
    thread = start(consumer)
    time.sleep(0.3)
    publisher = Publisher(any_broker)
    publisher.publish(poison.type, poison.to_json(), poison.id)
    for envelope in good:
        publisher.publish(envelope.type, envelope.to_json(), envelope.id)
    try:
        assert wait_for(lambda: len(tried_at) == 3, timeout=40), tried_at
        assert len(handled_at) == len(good)
    finally:
        consumer.stop()
        thread.join(5)
        publisher.close()
    first_gap, second_gap = tried_at[1] - tried_at[0], tried_at[2] - tried_at[1]
    last_good = max(handled_at.values()) - tried_at[0]
    print(f"{any_broker.split(':')[0]}: 40 others done {last_good * 1000:.0f} ms after the first failure; "
          f"retries after {first_gap * 1000:.0f} ms and {second_gap * 1000:.0f} ms")
    # Ordering, not speed: every other message was handled before the poison's first retry was due.
    assert max(handled_at.values()) < tried_at[1], "the others waited for the back-off"
    # A retry never comes before its back-off (2 s, then 4 s); the upper bounds only catch a lost retry.
    assert 1.9 <= first_gap < 20 and 3.9 <= second_gap < 30
    if any_broker != "memory://":  # kombu's memory queues are one per process: other tests share them
        [(envelope, headers)] = dead_letters(any_broker, "notifier")
        assert envelope.id == poison.id and headers[ATTEMPTS_HEADER] == 3


def test_a_batch_commits_once_and_a_failing_message_rolls_back_alone(broker_url, tmp_path):
    from quoteflow.outbox import outbox_status
    from tests.integration.kernel.support import EffectStore

    store = EffectStore(f"sqlite:///{tmp_path / 'svc.db'}")
    relay = OutboxRelay(store.engine, store.outbox, Publisher(broker_url), sweep_seconds=60)
    poison = viewed("poison")
    events = [viewed(i) for i in range(60)]
    twice = events[10]

    def handle(envelope):
        def between(e):
            if e.id == poison.id:
                raise ValueError("bad data")  # after its first row: that row must vanish alone
        store.handle(envelope, between=between)
        with store.uow(relay) as uow:  # a reaction (to other services), published once the batch committed
            uow.emit(Envelope.wrap(events_pb2.QuoteSent(quote_id=envelope.payload().quote_id), source="test",
                                   subject="quote/reaction", tenant="t"))
            uow.commit()

    publisher = Publisher(broker_url)
    for event in [*events[:30], poison, twice, *events[30:]]:
        publisher.publish(event.type, event.to_json(), event.id)
    consumer = EventConsumer(broker_url, "quotes", handle, batch=20, max_attempts=2, backoff=0.05)
    threads = [start(consumer), start(relay)]
    assert wait_for(lambda: len(store.effect_counts()) == 60 and consumer.stats["dead_lettered"] == 1, timeout=20)
    assert wait_for(lambda: outbox_status(store.engine, store.outbox)[0] == 0 and relay.published == 60, timeout=10)
    consumer.stop()
    relay.stop()
    for thread in threads:
        thread.join(5)
    publisher.close()
    print(f"{broker_url.split(':')[0]}: {consumer.stats['handled']} handled in {consumer.stats['batches']} batches")
    assert all(parts == [1, 2] for parts in store.effect_counts().values())
    assert poison.id not in store.effect_counts()
    assert consumer.stats["duplicates"] == 1 and consumer.stats["handled"] == 60
    assert consumer.stats["batches"] < 60  # messages that had arrived together shared a commit


def test_a_set_based_handler_gets_whole_batches_and_a_bad_event_falls_back_to_one_by_one(rabbit_url, tmp_path):
    from tests.integration.kernel.support import EffectStore, set_handler

    store = EffectStore(f"sqlite:///{tmp_path / 'svc.db'}")
    poison = viewed("poison")
    events = [viewed(i) for i in range(80)]

    def one(envelope):  # the per-event handler: used alone when a batch fails
        if envelope.id == poison.id:
            raise ValueError("bad data")
        store.handle(envelope)

    publisher = Publisher(rabbit_url)
    flow = [*events[:40], poison, events[5], *events[40:]]  # and a copy of an event
    assert publisher.publish_batch([(e.type, e.to_json(), e.id) for e in flow]) == len(flow)
    consumer = EventConsumer(rabbit_url, "quotes", one, batch=20, max_attempts=2, backoff=0.05,
                             handle_batch=set_handler(store, fail_on={poison.id}))
    thread = start(consumer)
    assert wait_for(lambda: len(store.effect_counts()) == 80 and consumer.stats["dead_lettered"] == 1, timeout=20)
    consumer.stop()
    thread.join(5)
    publisher.close()
    effects = store.effect_counts()
    assert all(sorted(parts) == [1, 2] for parts in effects.values()) and poison.id not in effects
    assert set(store.workers()) == {"set", ""}  # most in sets, the failed batch's events one by one
    assert store.workers()["set"] >= 40


def test_set_batches_run_one_at_a_time_in_order_beside_the_broker_and_stopping_acks_the_one_in_hand(broker_url):
    events = [viewed(i) for i in range(120)]
    handled: list[str] = []
    spans: list[tuple[float, float, str]] = []
    last_in_hand, release = threading.Event(), threading.Event()

    def handle_batch(envelopes):
        started = time.monotonic()
        if len(handled) + len(envelopes) == len(events):
            last_in_hand.set()
            release.wait(10)  # the consumer is told to stop meanwhile
        time.sleep(0.01)
        handled.extend(e.id for e in envelopes)
        spans.append((started, time.monotonic(), threading.current_thread().name))

    publisher = Publisher(broker_url)
    assert publisher.publish_batch([(e.type, e.to_json(), e.id) for e in events]) == len(events)
    consumer = EventConsumer(broker_url, "quotes", lambda envelope: None, batch=25, prefetch=50,
                             handle_batch=handle_batch)
    thread = start(consumer)
    assert last_in_hand.wait(20)
    consumer.stop()
    release.set()
    thread.join(10)
    assert handled == [e.id for e in events]  # each once, in publish order
    assert all(earlier[1] <= later[0] for earlier, later in zip(spans, spans[1:]))  # never two at once
    assert thread.name not in {name for _, _, name in spans}  # on the worker, beside the broker's thread
    assert consumer.stats["handled"] == len(events)  # the last one too: acked after its commit, then stopped
    again = EventConsumer(broker_url, "quotes", lambda envelope: None, batch=25, handle_batch=handle_batch)
    rest = start(again)
    time.sleep(1.0)
    again.stop()
    rest.join(10)
    publisher.close()
    assert handled == [e.id for e in events]  # nothing came back


def test_a_node_list_reaches_the_live_node_whichever_comes_first(rabbit_url):
    """BROKER_URL naming a RabbitMQ cluster's nodes: a node down (a closed port here) is skipped."""
    from quoteflow.bus import _open, connect

    live = rabbit_url.replace("amqp://guest:guest@", "amqp://")  # takes the first node's credentials
    url = f"amqp://guest:guest@127.0.0.1:1/{rabbit_url.rsplit('/', 1)[1]};{live}"
    for _ in range(6):  # both orders come up
        with connect(url) as connection:
            _open(connection)
            assert connection.port == 5672
            assert connection.default_channel.queue_declare("probe", auto_delete=True).queue == "probe"
