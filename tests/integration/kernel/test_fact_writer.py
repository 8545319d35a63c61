"""FactWriter: a caller returns once its facts are in the spool; the writer's thread makes them durable a
group at a time (one CloudEvents batch message confirmed by RabbitMQ, or one outbox commit), and a spool
file left by a writer that died is made durable by the next one."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from sqlalchemy import select

from quoteflow.bus import BATCH_CONTENT_TYPE, Publisher, connect, declare_topology
from quoteflow.outbox import SPOOL_SUFFIX, FactWriter
from quoteflow.topology import queue_name
from tests.integration.kernel.support import EffectStore, viewed, wait_for

ROOT = Path(__file__).resolve().parents[3]


class Wakes:
    def __init__(self):
        self.count = 0

    def wake(self) -> None:
        self.count += 1


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "sqlite":
        store = EffectStore(f"sqlite:///{tmp_path / 'facts.db'}")
        yield store
        store.engine.dispose()
        return
    pg_url = request.getfixturevalue("pg_url")
    store = EffectStore(pg_url)
    yield store
    store.engine.dispose()


def event_ids(store) -> list[str]:
    with store.engine.connect() as conn:
        return list(conn.execute(select(store.outbox.c.event_id).order_by(store.outbox.c.id)).scalars())


def spooled(folder: Path) -> list[Path]:
    return sorted(folder.glob(f"*{SPOOL_SUFFIX}*"))


def spooled_ids(folder: Path) -> list[str]:
    ids = []
    for path in spooled(folder):
        try:
            # Up to the last newline: another thread may be appending a line as this reads.
            ids += [json.loads(line)["id"] for line in path.read_text().split("\n")[:-1]]
        except FileNotFoundError:  # its group was made durable meanwhile: it is in the outbox
            continue
    return ids


def test_threads_writing_together_are_spooled_at_once_and_made_durable_together(store, tmp_path):
    wakes = Wakes()
    spool = tmp_path / "spool"
    facts = FactWriter(store.engine, store.outbox, wakes, spool=spool, linger=0.02)
    written, not_spooled = [], []
    lock = threading.Lock()

    def client(n: int) -> None:
        for i in range(25):
            envelope = viewed(f"{n}-{i}")
            facts.write([envelope])
            # Returned: the fact is on disk, in the spool or already in the outbox.
            if envelope.id not in spooled_ids(spool) and envelope.id not in event_ids(store):
                not_spooled.append(envelope.id)
            with lock:
                written.append(envelope.id)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert facts.flush(10)
        assert not_spooled == []
        assert sorted(event_ids(store)) == sorted(written) and len(written) == 200
        assert facts.committed == 200 and facts.writes < 100  # groups, not one commit per fact
        assert wakes.count == facts.writes  # each commit wakes the relay
        assert spooled(spool) == []  # each group's file is deleted once the group is durable
        print(f"\n200 facts from 8 threads in {facts.writes} commits")
    finally:
        facts.close()


def test_a_fact_that_cannot_be_serialised_fails_its_own_caller_only(store, tmp_path):
    facts = FactWriter(store.engine, store.outbox, spool=tmp_path / "spool", linger=0)

    class Broken:
        id = "broken"

        def to_json(self):
            raise ValueError("not JSON")

    good = viewed("good")
    with pytest.raises(ValueError, match="not JSON"):
        facts.write([good, Broken()])
    facts.write([good])
    assert facts.flush(10) and event_ids(store) == [good.id]
    facts.close()


def waiting_in(url: str, service: str) -> int:
    with connect(url) as conn:
        return conn.default_channel.queue_declare(queue_name(service), passive=True).message_count


def test_on_rabbitmq_facts_go_out_as_batch_messages_confirmed_and_the_outbox_stays_empty(rabbit_url, tmp_path):
    store = EffectStore(f"sqlite:///{tmp_path / 'facts.db'}")
    with connect(rabbit_url) as conn:
        declare_topology(conn, rabbit_url)
    wakes = Wakes()
    facts = FactWriter(store.engine, store.outbox, wakes, spool=tmp_path / "spool",
                       publisher=Publisher(rabbit_url), linger=0.02)
    try:
        written = []
        threads = [threading.Thread(target=lambda n=n: [written.append(facts.write([viewed(f"{n}-{i}")]))
                                                        for i in range(20)]) for n in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(written) == 120 and facts.flush(10)
        assert facts.published == 120 and facts.committed == 0 and event_ids(store) == []
        assert wakes.count == 0
        # Fewer messages than facts: those of one moment travel as one batch message; none is lost.
        messages = waiting_in(rabbit_url, "quotes")
        assert messages == waiting_in(rabbit_url, "notifier") and facts.writes <= messages < 120
        ids = []
        with connect(rabbit_url) as conn:
            for _ in range(messages):
                message = conn.default_channel.basic_get(queue_name("quotes"), no_ack=True)
                body = json.loads(message.body)
                batch = message.properties["content_type"] == BATCH_CONTENT_TYPE
                ids += [doc["id"] for doc in body] if batch else [body["id"]]
        assert len(ids) == len(set(ids)) == 120
        print(f"\n120 facts from 6 threads in {messages} confirmed messages")
    finally:
        facts.close()
        store.engine.dispose()


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class CountingPublisher(Publisher):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.batches = 0

    def publish_batch(self, items, *, together=False):
        self.batches += 1
        return super().publish_batch(items, together=together)


def test_what_the_broker_does_not_confirm_waits_in_the_outbox_and_the_broker_is_left_alone_a_while(tmp_path):
    import socket

    with socket.socket() as probe:  # a port nobody listens on: the broker is away
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    store = EffectStore(f"sqlite:///{tmp_path / 'facts.db'}")
    wakes, clock = Wakes(), Clock()
    publisher = CountingPublisher(f"amqp://guest:guest@127.0.0.1:{port}//", confirm_timeout=1.0)
    facts = FactWriter(store.engine, store.outbox, wakes, spool=tmp_path / "spool", publisher=publisher,
                       pause_seconds=5.0, clock=clock, linger=0)
    try:
        envelope = viewed("while-away")
        facts.write([envelope])  # no error: the fact is spooled, then durable in the outbox
        assert facts.flush(10)
        assert event_ids(store) == [envelope.id] and facts.published == 0 and wakes.count == 1
        assert publisher.batches == 1
        clock.now += 4.9
        facts.write([viewed("still-away")])  # within the pause: not even tried
        assert facts.flush(10) and publisher.batches == 1 and len(event_ids(store)) == 2
        clock.now += 0.1
        facts.write([viewed("try-again")])
        assert facts.flush(10) and publisher.batches == 2 and len(event_ids(store)) == 3 and facts.committed == 3
    finally:
        facts.close()
        store.engine.dispose()


def test_a_group_that_cannot_be_stored_is_tried_again_and_its_file_stays_meanwhile(tmp_path):
    store = EffectStore(f"sqlite:///{tmp_path / 'facts.db'}")
    spool = tmp_path / "spool"
    facts = FactWriter(store.engine, store.outbox, spool=spool, linger=0)
    original, failures = facts._store, []

    def away(envelopes):  # the database (and the broker) away for two tries
        if len(failures) < 2:
            failures.append(len(envelopes))
            assert spooled_ids(spool) == [e.id for e in envelopes]
            raise ConnectionError("database away")
        return original(envelopes)

    facts._store = away
    kept = viewed("kept")
    facts.write([kept])
    assert facts.flush(10)
    assert failures == [1, 1] and event_ids(store) == [kept.id] and spooled(spool) == []
    facts.close()
    store.engine.dispose()


def test_a_spool_that_cannot_be_written_sends_the_caller_to_the_outbox(tmp_path):
    store = EffectStore(f"sqlite:///{tmp_path / 'facts.db'}")
    spool = tmp_path / "spool"
    facts = FactWriter(store.engine, store.outbox, spool=spool, linger=0)
    spool.rmdir()
    spool.write_text("not a folder")  # its files can no longer be created
    lost = viewed("no-spool")
    facts.write([lost])
    assert event_ids(store) == [lost.id]  # committed before write returned
    spool.unlink()
    spool.mkdir()
    again = viewed("spooled-again")
    facts.write([again])
    assert facts.flush(10) and event_ids(store) == [lost.id, again.id]
    facts.close()
    store.engine.dispose()


WRITER = textwrap.dedent("""
    import sys, time
    from quoteflow.outbox import FactWriter
    from tests.integration.kernel.support import EffectStore, viewed, wait_for

    store = EffectStore(sys.argv[1], create=False)
    facts = FactWriter(store.engine, store.outbox, spool=sys.argv[2], linger=3600)  # never sends them
    for i in range(int(sys.argv[3])):
        envelope = viewed(f"crash-{i}")
        facts.write([envelope])
        print(envelope.id, flush=True)
    print("written", flush=True)
    time.sleep(3600)
""")


def test_a_writer_killed_before_sending_leaves_its_spool_to_the_next_writer(store, tmp_path):
    spool = tmp_path / "spool"
    url = store.engine.url.render_as_string(hide_password=False)
    writer = subprocess.Popen([sys.executable, "-c", WRITER, url, str(spool), "7"], cwd=ROOT,
                              stdout=subprocess.PIPE, text=True)
    ids = []
    for line in writer.stdout:
        if line.strip() == "written":
            break
        ids.append(line.strip())
    # Alive, the writer holds its file: another writer on the folder leaves it alone.
    neighbour = FactWriter(store.engine, store.outbox, spool=spool, linger=0)
    assert neighbour.recover() == 0 and len(spooled(spool)) == 1 and event_ids(store) == []
    neighbour.close()
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait(10)
    assert len(ids) == 7 and spooled_ids(spool) == ids
    # Two writers start on the folder at once (each recovers as it starts, and once more here): one of them
    # takes the file, each fact lands once.
    first = FactWriter(store.engine, store.outbox, spool=spool, linger=0)
    second = FactWriter(store.engine, store.outbox, spool=spool, linger=0)
    second.recover()
    first.recover()
    # A writer's thread deletes the file before it counts what it recovered: wait for both.
    assert wait_for(lambda: spooled(spool) == [] and first.recovered + second.recovered == 7, timeout=30)
    assert sorted(event_ids(store)) == sorted(ids) and first.recovered + second.recovered == 7
    first.close()
    second.close()


def test_a_spool_line_cut_by_a_crash_keeps_its_file_for_an_operator(tmp_path):
    store = EffectStore(f"sqlite:///{tmp_path / 'facts.db'}")
    spool = tmp_path / "spool"
    spool.mkdir()
    whole = viewed("whole")
    (spool / f"99999-dead{SPOOL_SUFFIX}").write_text(whole.to_json() + "\n" + whole.to_json()[:40])
    facts = FactWriter(store.engine, store.outbox, spool=spool, linger=0)
    facts.recover()  # as its thread does when it starts: one of the two reads the file
    damaged = [f"99999-dead{SPOOL_SUFFIX}.damaged"]
    assert wait_for(lambda: [path.name for path in spooled(spool)] == damaged, timeout=10)
    assert event_ids(store) == [whole.id]
    assert facts.recover() == 0  # read once
    facts.close()
    store.engine.dispose()


def test_close_makes_what_was_written_durable(tmp_path):
    store = EffectStore(f"sqlite:///{tmp_path / 'facts.db'}")
    spool = tmp_path / "spool"
    facts = FactWriter(store.engine, store.outbox, spool=spool, linger=3600)  # only close sends them
    envelopes = [viewed(f"last-{i}") for i in range(3)]
    for envelope in envelopes:
        facts.write([envelope])
    facts.close()
    assert event_ids(store) == [e.id for e in envelopes] and spooled(spool) == []
    with pytest.raises(RuntimeError, match="closed"):
        facts.write([viewed("too-late")])
    store.engine.dispose()


def test_closing_while_nothing_can_store_leaves_the_spool_for_the_next_writer(tmp_path):
    store = EffectStore(f"sqlite:///{tmp_path / 'facts.db'}")
    spool = tmp_path / "spool"
    facts = FactWriter(store.engine, store.outbox, spool=spool, linger=0)

    def away(envelopes):
        raise ConnectionError("database away")

    facts._store = away
    left = viewed("left")
    facts.write([left])
    facts.close(timeout=10)
    assert spooled_ids(spool) == [left.id] and event_ids(store) == []
    successor = FactWriter(store.engine, store.outbox, spool=spool, linger=0)
    successor.recover()  # as its thread does when it starts: one of the two takes the file, the other skips it
    assert wait_for(lambda: spooled(spool) == [], timeout=10)
    assert event_ids(store) == [left.id]
    successor.close()
    store.engine.dispose()
