"""The outbox relay: woken by commits, sweeping after outages and crashes, one quote's events in order."""
from __future__ import annotations

import random
import statistics
import threading
import time
from collections import defaultdict

from sqlalchemy import Column, Integer, String, Table, select, update

from quoteflow.bus import EventConsumer, Publisher
from quoteflow.outbox import OutboxRelay, outbox_status
from tests.integration.kernel.support import EffectStore, start, viewed, wait_for


def test_two_relays_publish_each_quotes_events_in_commit_order_on_postgresql(pg_url, rabbit_url):
    store = EffectStore(pg_url)
    quotes = Table("quotes", store.metadata, Column("id", String(20), primary_key=True),
                   Column("seq", Integer, nullable=False))
    quotes.create(store.engine)
    ids = [f"q{i}" for i in range(8)]
    with store.engine.begin() as conn:
        conn.execute(quotes.insert(), [{"id": q, "seq": 0} for q in ids])
    # Two replicas of one service: two engines, two publishers, two relays on one database.
    replicas = [EffectStore(pg_url) for _ in range(2)]
    relays = [OutboxRelay(r.engine, r.outbox, Publisher(rabbit_url), batch=7) for r in replicas]
    received: list[tuple[str, int]] = []
    consumer = EventConsumer(rabbit_url, "notifier",
                             lambda e: received.append((e.payload().quote_id, int(e.payload().user_agent))))
    threads = [start(consumer), *(start(r) for r in relays)]
    time.sleep(0.5)
    per_writer = 60

    def writer(n: int) -> None:
        rng = random.Random(n)
        replica, relay = replicas[n % 2], relays[n % 2]
        for _ in range(per_writer):
            quote = rng.choice(ids)
            with replica.uow(relay) as uow:  # the aggregate's row first, as a service's repository does
                seq = uow.session.execute(select(quotes.c.seq).where(quotes.c.id == quote).with_for_update()
                                          ).scalar_one() + 1
                uow.session.execute(update(quotes).where(quotes.c.id == quote).values(seq=seq))
                uow.emit(viewed(seq, quote=quote, note=str(seq)))
                uow.commit()

    writers = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    started = time.monotonic()
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join(60)
    assert wait_for(lambda: len(received) >= 4 * per_writer, timeout=30)
    elapsed = time.monotonic() - started
    time.sleep(0.3)
    for runner in (consumer, *relays):
        runner.stop()
    by_quote = defaultdict(list)
    for quote, seq in received:
        by_quote[quote].append(seq)
    print(f"{len(received)} events of {len(ids)} quotes from 4 writers through 2 relays in {elapsed:.2f}s; "
          f"published by relay: {[r.published for r in relays]}")
    assert len(received) == 4 * per_writer  # nothing twice
    for quote, seqs in by_quote.items():
        assert seqs == list(range(1, len(seqs) + 1)), (quote, seqs)
    assert all(r.published > 0 for r in relays), "both relays should have taken turns"
    assert outbox_status(store.engine, store.outbox)[0] == 0


class DiesAfter:
    """A publisher whose process dies (BaseException) right after the broker confirmed message ``n``."""

    def __init__(self, publisher: Publisher, n: int):
        self.publisher, self.n, self.count = publisher, n, 0

    def publish(self, *args, **kwargs):
        self.publisher.publish(*args, **kwargs)
        self.count += 1
        if self.count == self.n:
            raise SystemExit("killed between the confirm and the commit")

    def close(self):
        self.publisher.close()


def test_a_relay_killed_between_confirm_and_commit_publishes_again_and_the_inbox_absorbs_it(broker_url, tmp_path):
    producer = EffectStore(f"sqlite:///{tmp_path / 'producer.db'}")
    consumer_db = EffectStore(f"sqlite:///{tmp_path / 'consumer.db'}")
    events = [viewed(i) for i in range(5)]
    with producer.uow() as uow:
        for event in events:
            uow.emit(event)
        uow.commit()
    dying = OutboxRelay(producer.engine, producer.outbox, DiesAfter(Publisher(broker_url), 3))
    try:
        dying.publish_pending()
    except SystemExit:
        pass
    dying.publisher.close()
    assert outbox_status(producer.engine, producer.outbox)[0] == 5  # three were sent, none marked

    consumer = EventConsumer(broker_url, "notifier", consumer_db.handle)
    thread = start(consumer)
    restarted = OutboxRelay(producer.engine, producer.outbox, Publisher(broker_url))
    relay_thread = start(restarted)  # a restarted process sweeps at start
    assert wait_for(lambda: len(consumer_db.effect_counts()) == 5 and consumer.stats["duplicates"] == 3,
                    timeout=15), (consumer_db.effect_counts(), consumer.stats)
    consumer.stop()
    restarted.stop()
    thread.join(5)
    relay_thread.join(5)
    print(f"{broker_url.split(':')[0]}: 5 events, 3 published twice, effects {len(consumer_db.effect_counts())}, "
          f"duplicates absorbed {consumer.stats['duplicates']}")
    assert all(parts == [1, 2] for parts in consumer_db.effect_counts().values())
    assert outbox_status(producer.engine, producer.outbox)[0] == 0


def test_a_commit_wakes_the_relay_without_waiting_for_the_sweep(broker_url, tmp_path):
    store = EffectStore(f"sqlite:///{tmp_path / 'svc.db'}")
    relay = OutboxRelay(store.engine, store.outbox, Publisher(broker_url), sweep_seconds=60)
    arrived: dict[str, float] = {}
    consumer = EventConsumer(broker_url, "notifier", lambda e: arrived.setdefault(e.id, time.perf_counter()))
    threads = [start(consumer), start(relay)]
    time.sleep(0.5)
    latencies = []
    for i in range(20):
        event = viewed(i)
        with store.uow(relay) as uow:
            uow.emit(event)
            uow.commit()
        committed = time.perf_counter()
        assert wait_for(lambda: event.id in arrived, timeout=5, interval=0.001)
        latencies.append((arrived[event.id] - committed) * 1000)
    relay.stop()
    consumer.stop()
    for thread in threads:
        thread.join(5)
    print(f"{broker_url.split(':')[0]}: commit -> handled p50 {statistics.median(latencies):.1f} ms, "
          f"max {max(latencies):.1f} ms (sweep every 60 s)")
    assert statistics.median(latencies) < 200


def test_what_waited_through_a_broker_outage_is_swept_out_when_it_returns(rabbit_url, tmp_path):
    store = EffectStore(f"sqlite:///{tmp_path / 'svc.db'}")
    relay = OutboxRelay(store.engine, store.outbox, Publisher("amqp://guest:guest@127.0.0.1:1/none"),
                        sweep_seconds=0.5)
    thread = start(relay)
    events = [viewed(i) for i in range(10)]
    with store.uow(relay) as uow:
        for event in events:
            uow.emit(event)
        uow.commit()
    time.sleep(1.0)
    count, oldest, age = outbox_status(store.engine, store.outbox)
    assert count == 10 and age >= 0.9
    with store.engine.connect() as conn:
        assert conn.execute(select(store.outbox.c.attempts).order_by(store.outbox.c.id)).scalars().first() > 0
    received = []
    consumer = EventConsumer(rabbit_url, "notifier", lambda e: received.append(e.id))
    consumer_thread = start(consumer)
    time.sleep(0.5)
    relay.publisher = Publisher(rabbit_url)  # the broker is back; nobody commits, nobody wakes the relay
    assert wait_for(lambda: len(received) == 10, timeout=10)
    relay.stop()
    consumer.stop()
    thread.join(5)
    consumer_thread.join(5)
    assert received == [e.id for e in events]
    assert outbox_status(store.engine, store.outbox) == (0, None, None)
