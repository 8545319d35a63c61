"""Fault 1, for facts published straight (FactWriter, a portal download): the broker goes away in the
middle of a 1,000-fact flow written by four threads, then comes back. Every fact whose write returned
is handled once: what the broker confirmed went straight out, the rest waited in the outbox."""
from __future__ import annotations

import threading
import time

from quoteflow.bus import EventConsumer, Publisher
from quoteflow.outbox import FactWriter, OutboxRelay, outbox_status
from tests.faults.proxy import TcpProxy
from tests.integration.kernel.support import EffectStore, start, viewed, wait_for

FACTS = 1000
WRITERS = 4
OUTAGE_SECONDS = 3.0


def test_facts_written_through_a_broker_outage_arrive_once(rabbit_url, tmp_path):
    producer = EffectStore(f"sqlite:///{tmp_path / 'producer.db'}")
    consumer_db = EffectStore(f"sqlite:///{tmp_path / 'consumer.db'}")
    with TcpProxy() as proxy:
        url = proxy.url(rabbit_url)
        relay = OutboxRelay(producer.engine, producer.outbox, Publisher(url), sweep_seconds=2.0)
        facts = FactWriter(producer.engine, producer.outbox, relay,
                           publisher=Publisher(url, confirm_timeout=2.0), pause_seconds=0.5)
        consumer = EventConsumer(url, "notifier", consumer_db.handle)
        threads = [start(relay), start(consumer)]
        time.sleep(0.5)
        written: list[str] = []
        failed: list[Exception] = []
        lock = threading.Lock()

        def write(n: int) -> None:  # downloads at a steady pace, whatever the broker does
            for i in range(FACTS // WRITERS):
                event = viewed(f"{n}-{i}", quote=f"q{i % 37}")
                try:
                    facts.write([event])
                except Exception as error:  # noqa: BLE001 -- would be a download answered with an error
                    failed.append(error)
                    continue
                with lock:
                    written.append(event.id)
                time.sleep(0.002)

        writers = [threading.Thread(target=write, args=(n,)) for n in range(WRITERS)]
        started = time.monotonic()
        for writer in writers:
            writer.start()
        assert wait_for(lambda: len(consumer_db.effect_counts()) >= 300, timeout=30)
        straight_at_cut = facts.published
        dropped = proxy.cut()
        time.sleep(OUTAGE_SECONDS)
        backlog = outbox_status(producer.engine, producer.outbox)[0]
        proxy.restore()
        restored_at = time.monotonic()
        for writer in writers:
            writer.join(60)
        time.sleep(facts.pause_seconds)
        straight_before = facts.published
        write("after")  # the broker is back: facts go straight out again
        straight_after = facts.published - straight_before
        assert wait_for(lambda: len(consumer_db.effect_counts()) == len(written), timeout=60), \
            (len(consumer_db.effect_counts()), len(written))
        drained_at = time.monotonic()
        time.sleep(0.5)  # room for a late duplicate
        for runner in (relay, consumer):
            runner.stop()
        for thread in threads:
            thread.join(10)
        facts.close()

    effects = consumer_db.effect_counts()
    lost = len(set(written) - set(effects))
    duplicated = sum(1 for parts in effects.values() if sorted(parts) != [1, 2])
    print(f"\nfacts through a broker outage: {FACTS} facts from {WRITERS} threads, {straight_at_cut} published "
          f"straight before the cut, {dropped} connections dropped, outage {OUTAGE_SECONDS:.1f}s, outbox backlog "
          f"at restore {backlog}; {straight_after} of {FACTS // WRITERS} written after it straight again; in all {facts.published} straight, {facts.committed} through the outbox; "
          f"write errors {len(failed)}, lost {lost}, effects duplicated {duplicated}, redeliveries absorbed "
          f"{consumer.stats['duplicates']}; drained {drained_at - restored_at:.2f}s after the broker came back "
          f"(whole flow {drained_at - started:.2f}s)")
    assert failed == [] and len(written) == FACTS + FACTS // WRITERS
    assert straight_after == FACTS // WRITERS
    assert lost == 0 and duplicated == 0
    assert backlog > 0 and facts.committed > 0, "the outage should have sent facts to the outbox"
    assert facts.published + facts.committed >= len(written)
    assert outbox_status(producer.engine, producer.outbox)[0] == 0
