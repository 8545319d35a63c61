"""Fault 2: `kill -9` of a consumer process in the middle of its work, ten times over."""
from __future__ import annotations

import signal
import time

from quoteflow.bus import Publisher
from tests.integration.kernel.support import EffectStore, viewed, wait_for

EVENTS = 400
KILLS = 10


def test_killing_a_consumer_mid_batch_ten_times_loses_nothing_and_does_nothing_twice(
        rabbit_url, databases, consumer_process):
    store = EffectStore(databases["consumer"])  # PostgreSQL: a killed transaction is rolled back by the server
    events = [viewed(i) for i in range(EVENTS)]
    publisher = Publisher(rabbit_url)
    for start in range(0, EVENTS, 200):
        chunk = events[start:start + 200]
        assert publisher.publish_batch([(e.type, e.to_json(), e.id) for e in chunk]) == len(chunk)
    publisher.close()

    started = time.monotonic()
    lives = []
    for life in range(KILLS):
        before = len(store.effect_counts())
        process = consumer_process(rabbit_url, databases["consumer"], f"life{life}", work_ms=3)
        # let it take a prefetch window and commit some of it, then kill it mid-transaction
        assert wait_for(lambda: len(store.effect_counts()) > before + 10, timeout=30, interval=0.005)
        process.send_signal(signal.SIGKILL)
        assert process.wait(10) == -signal.SIGKILL
        lives.append(len(store.effect_counts()) - before)
    killed_at = time.monotonic()

    survivor = consumer_process(rabbit_url, databases["consumer"], "survivor", work_ms=0)
    assert wait_for(lambda: len(store.effect_counts()) == EVENTS, timeout=60), len(store.effect_counts())
    drained = time.monotonic()
    time.sleep(0.5)  # room for a late duplicate
    survivor.send_signal(signal.SIGTERM)
    assert survivor.wait(15) == 0

    lost, duplicated = store.lost_and_duplicated(e.id for e in events)
    half_written = sum(1 for parts in store.effect_counts().values() if parts == [1])
    print(f"\nkill -9: {EVENTS} events, {KILLS} kills (handled per life {lives}), survivor drained the rest in "
          f"{drained - killed_at:.2f}s; lost {lost}, duplicated {duplicated}, half-written {half_written}; "
          f"{drained - started:.1f}s in all")
    assert lost == 0 and duplicated == 0 and half_written == 0
