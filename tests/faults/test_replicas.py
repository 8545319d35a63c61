"""Fault 5: two replicas (two processes) of a consumer on one queue, with redelivered copies: each event once."""
from __future__ import annotations

import random
import signal
import time

from quoteflow.bus import Publisher
from quoteflow.outbox import OutboxRelay
from tests.integration.kernel.support import EffectStore, start, viewed, wait_for

EVENTS = 600


def test_two_replica_processes_on_one_queue_handle_every_event_once(rabbit_url, databases, consumer_process,
                                                                     tmp_path):
    store = EffectStore(databases["consumer"])  # the replicas share the service's PostgreSQL database
    replicas = [consumer_process(rabbit_url, databases["consumer"], f"replica-{n}", work_ms=1) for n in range(2)]
    producer = EffectStore(f"sqlite:///{tmp_path / 'producer.db'}")
    relay = OutboxRelay(producer.engine, producer.outbox, Publisher(rabbit_url))
    relay_thread = start(relay)
    events = [viewed(i) for i in range(EVENTS)]
    copies = random.Random(7).sample(events, EVENTS // 10)  # what a relay crash or a replay would send again
    started = time.monotonic()
    for start_at in range(0, EVENTS, 20):
        with producer.uow(relay) as uow:
            for event in events[start_at:start_at + 20]:
                uow.emit(event)
            uow.commit()
    stray = Publisher(rabbit_url)
    assert stray.publish_batch([(e.type, e.to_json(), e.id) for e in copies]) == len(copies)
    assert wait_for(lambda: len(store.effect_counts()) == EVENTS, timeout=60), len(store.effect_counts())
    elapsed = time.monotonic() - started
    time.sleep(1.0)  # the copies are absorbed by now; room for a wrong second effect
    for replica in replicas:
        replica.send_signal(signal.SIGTERM)
        assert replica.wait(15) == 0
    relay.stop()
    relay_thread.join(5)
    stray.close()

    effects = store.effect_counts()
    split = store.workers()
    print(f"\ntwo replicas: {EVENTS} events + {len(copies)} copies in {elapsed:.2f}s, split {split}; "
          "lost %d, duplicated %d" % store.lost_and_duplicated(e.id for e in events))
    assert all(sorted(parts) == [1, 2] for parts in effects.values())
    assert set(effects) == {e.id for e in events}
    assert len(split) == 2 and min(split.values()) > EVENTS // 10, split
