"""Fault 1: the broker goes away in the middle of a 1,000-event flow, then comes back."""
from __future__ import annotations

import threading
import time

from quoteflow.bus import EventConsumer, Publisher
from quoteflow.outbox import OutboxRelay, outbox_status
from tests.faults.proxy import TcpProxy
from tests.integration.kernel.support import EffectStore, start, viewed, wait_for

EVENTS = 1000
OUTAGE_SECONDS = 3.0


def test_a_broker_outage_mid_flow_loses_nothing_and_duplicates_nothing(rabbit_url, tmp_path):
    # SQLite databases: the broker is what fails here, and PostgreSQL's fsync on this machine
    # (~7 ms a commit) would only stretch the flow.
    producer = EffectStore(f"sqlite:///{tmp_path / 'producer.db'}")
    consumer_db = EffectStore(f"sqlite:///{tmp_path / 'consumer.db'}")
    with TcpProxy() as proxy:
        url = proxy.url(rabbit_url)  # producer and consumer both talk through the proxy
        relay = OutboxRelay(producer.engine, producer.outbox, Publisher(url), sweep_seconds=2.0)
        consumer = EventConsumer(url, "notifier", consumer_db.handle)
        threads = [start(relay), start(consumer)]
        time.sleep(0.5)
        committed: list[str] = []

        def write():  # a service committing events at a steady pace, whatever the broker does
            for i in range(EVENTS):
                event = viewed(i, quote=f"q{i % 37}")
                with producer.uow(relay) as uow:
                    uow.emit(event)
                    uow.commit()
                committed.append(event.id)

        writer = threading.Thread(target=write)
        started = time.monotonic()
        writer.start()
        assert wait_for(lambda: len(consumer_db.effect_counts()) >= 300, timeout=30)
        cut_at = time.monotonic()
        handled_at_cut = len(consumer_db.effect_counts())
        dropped = proxy.cut()
        time.sleep(OUTAGE_SECONDS)
        backlog = outbox_status(producer.engine, producer.outbox)[0]
        proxy.restore()
        restored_at = time.monotonic()
        writer.join(60)
        written_at = time.monotonic()
        assert wait_for(lambda: len(consumer_db.effect_counts()) == EVENTS, timeout=60), \
            len(consumer_db.effect_counts())
        drained_at = time.monotonic()
        time.sleep(0.5)  # room for a late duplicate
        for runner in (relay, consumer):
            runner.stop()
        for thread in threads:
            thread.join(10)

    effects = consumer_db.effect_counts()
    lost = len(set(committed) - set(effects))
    duplicated = sum(1 for parts in effects.values() if sorted(parts) != [1, 2])
    print(f"\nbroker outage: {EVENTS} events, cut after {handled_at_cut} handled "
          f"({cut_at - started:.2f}s in), {dropped} connections dropped, outage {OUTAGE_SECONDS:.1f}s, "
          f"outbox backlog at restore {backlog}; lost {lost}, effects duplicated {duplicated}, "
          f"redeliveries absorbed by the inbox {consumer.stats['duplicates']}; "
          f"drained {drained_at - restored_at:.2f}s after the broker came back "
          f"(whole flow {drained_at - started:.2f}s, last commit {written_at - started:.2f}s in)")
    assert len(committed) == EVENTS
    assert lost == 0 and duplicated == 0
    assert backlog > 0, "the outage should have left events waiting in the outbox"
    assert outbox_status(producer.engine, producer.outbox)[0] == 0
