"""Fault 1, for facts published straight (FactWriter, a portal download): the broker goes away in the
middle of a 1,000-fact flow written by four threads, then comes back. Every fact whose write returned
is handled once: what the broker confirmed went straight out (in batch messages), the rest waited in the
outbox."""
from __future__ import annotations

import threading
import time

from quoteflow.bus import Publisher
from quoteflow.outbox import FactWriter, outbox_status
from tests.faults.proxy import relayed_through_proxy
from tests.integration.kernel.support import viewed, wait_for

FACTS = 1000
WRITERS = 4
OUTAGE_SECONDS = 3.0


def test_facts_written_through_a_broker_outage_arrive_once(rabbit_url, tmp_path):
    with relayed_through_proxy(rabbit_url, tmp_path) as flow:
        producer, consumer_db, proxy = flow.producer, flow.consumer_db, flow.proxy
        facts = FactWriter(producer.engine, producer.outbox, flow.relay, spool=tmp_path / "spool",
                           publisher=Publisher(flow.url, confirm_timeout=2.0), pause_seconds=0.5)
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
        assert wait_for(lambda: len(written) >= 300, timeout=30)  # the cut falls in the middle of the writes
        straight_at_cut = facts.published
        dropped = proxy.cut()
        time.sleep(OUTAGE_SECONDS)
        backlog = outbox_status(producer.engine, producer.outbox)[0]
        proxy.restore()
        restored_at = time.monotonic()
        for writer in writers:
            writer.join(60)
        assert facts.flush(30)
        time.sleep(facts.pause_seconds)
        straight_before = facts.published
        write("after")  # the broker is back: facts go straight out again
        assert facts.flush(30)
        straight_after = facts.published - straight_before
        assert wait_for(lambda: len(consumer_db.effect_counts()) == len(written), timeout=60), \
            (len(consumer_db.effect_counts()), len(written))
        drained_at = time.monotonic()
        facts.close()

    lost, duplicated = consumer_db.lost_and_duplicated(written)
    print(f"\nfacts through a broker outage: {FACTS} facts from {WRITERS} threads, {straight_at_cut} published "
          f"straight before the cut, {dropped} connections dropped, outage {OUTAGE_SECONDS:.1f}s, outbox backlog "
          f"at restore {backlog}; {straight_after} of {FACTS // WRITERS} written after it straight again; "
          f"in all {facts.published} straight, {facts.committed} through the outbox; "
          f"write errors {len(failed)}, lost {lost}, effects duplicated {duplicated}, redeliveries absorbed "
          f"{flow.consumer.stats['duplicates']}; drained {drained_at - restored_at:.2f}s after the broker came back "
          f"(whole flow {drained_at - started:.2f}s)")
    assert failed == [] and len(written) == FACTS + FACTS // WRITERS
    assert straight_after == FACTS // WRITERS
    assert lost == 0 and duplicated == 0
    assert backlog > 0 and facts.committed > 0, "the outage should have sent facts to the outbox"
    assert facts.published + facts.committed >= len(written)
    assert outbox_status(producer.engine, producer.outbox)[0] == 0
