"""Fault 1: the broker goes away in the middle of a 1,000-event flow, then comes back."""
from __future__ import annotations

import threading
import time

from quoteflow.outbox import outbox_status
from tests.faults.proxy import relayed_through_proxy
from tests.integration.kernel.support import viewed, wait_for

EVENTS = 1000
OUTAGE_SECONDS = 3.0


def test_a_broker_outage_mid_flow_loses_nothing_and_duplicates_nothing(rabbit_url, tmp_path):
    with relayed_through_proxy(rabbit_url, tmp_path) as flow:
        producer, consumer_db, proxy, relay = flow.producer, flow.consumer_db, flow.proxy, flow.relay
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

    lost, duplicated = consumer_db.lost_and_duplicated(committed)
    print(f"\nbroker outage: {EVENTS} events, cut after {handled_at_cut} handled "
          f"({cut_at - started:.2f}s in), {dropped} connections dropped, outage {OUTAGE_SECONDS:.1f}s, "
          f"outbox backlog at restore {backlog}; lost {lost}, effects duplicated {duplicated}, "
          f"redeliveries absorbed by the inbox {flow.consumer.stats['duplicates']}; "
          f"drained {drained_at - restored_at:.2f}s after the broker came back "
          f"(whole flow {drained_at - started:.2f}s, last commit {written_at - started:.2f}s in)")
    assert len(committed) == EVENTS
    assert lost == 0 and duplicated == 0
    assert backlog > 0, "the outage should have left events waiting in the outbox"
    assert outbox_status(producer.engine, producer.outbox)[0] == 0
