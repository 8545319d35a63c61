"""FactWriter: facts from many threads share one write; each caller returns once its own are durable
(confirmed by RabbitMQ, or committed in the outbox), and a failure is its own, never its neighbours'."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from quoteflow.bus import Publisher, connect, declare_topology
from quoteflow.outbox import FactWriter
from quoteflow.topology import queue_name
from tests.integration.kernel.support import EffectStore, viewed


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


@pytest.mark.parametrize("max_group", [500, 2])
def test_threads_writing_together_share_commits_and_each_sees_its_own_committed(store, max_group):
    wakes = Wakes()
    facts = FactWriter(store.engine, store.outbox, wakes, max_group=max_group)
    written, not_yet_visible = [], []
    lock = threading.Lock()

    def client(n: int) -> None:
        for i in range(25):
            envelope = viewed(f"{n}-{i}")
            facts.write([envelope])
            # Returned: the row is committed, visible to any other connection.
            with store.engine.connect() as conn:
                if conn.execute(select(store.outbox.c.id).where(
                        store.outbox.c.event_id == envelope.id)).first() is None:
                    not_yet_visible.append(envelope.id)
            with lock:
                written.append(envelope.id)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not_yet_visible == []
    assert sorted(event_ids(store)) == sorted(written) and len(written) == 200
    assert facts.committed == 200 and 200 / max_group <= facts.writes <= 200
    assert wakes.count == facts.writes  # each commit wakes the relay
    print(f"\n200 facts from 8 threads in {facts.writes} commits")


def test_a_group_that_fails_fails_only_the_caller_whose_event_is_bad(store):
    facts = FactWriter(store.engine, store.outbox)
    good = viewed("good")
    facts.write([good])
    twice = viewed("twice")
    facts.write([twice])
    results: dict[str, Exception | None] = {}
    release = threading.Event()
    inside = threading.Event()
    original = facts._store

    def slow_first(envelopes):  # holds the first write so the next callers queue up as one group
        if not inside.is_set():
            inside.set()
            release.wait(5)
        return original(envelopes)

    facts._store = slow_first

    def client(name: str, envelope) -> None:
        try:
            facts.write([envelope])
            results[name] = None
        except Exception as error:  # noqa: BLE001 -- kept to assert on
            results[name] = error

    first = threading.Thread(target=client, args=("first", viewed("first")))
    first.start()
    assert inside.wait(5)
    queued = [threading.Thread(target=client, args=(name, envelope)) for name, envelope in
              [("a", viewed("a")), ("duplicate", twice), ("b", viewed("b"))]]
    for thread in queued:
        thread.start()
    while len(facts._queue) < 3:
        threading.Event().wait(0.005)
    release.set()
    for thread in [first, *queued]:
        thread.join(10)
    assert results["first"] is None and results["a"] is None and results["b"] is None
    message = str(results["duplicate"]).lower()
    assert results["duplicate"] is not None and ("unique" in message or "event_id" in message)
    ids = event_ids(store)
    assert ids.count(twice.id) == 1 and len(ids) == 5


def waiting_in(url: str, service: str) -> int:
    with connect(url) as conn:
        return conn.default_channel.queue_declare(queue_name(service), passive=True).message_count


def test_on_rabbitmq_facts_go_straight_out_confirmed_and_the_outbox_stays_empty(rabbit_url, tmp_path):
    store = EffectStore(f"sqlite:///{tmp_path / 'facts.db'}")
    with connect(rabbit_url) as conn:
        declare_topology(conn, rabbit_url)
    wakes = Wakes()
    facts = FactWriter(store.engine, store.outbox, wakes, publisher=Publisher(rabbit_url))
    try:
        threads = [threading.Thread(target=lambda n=n: [facts.write([viewed(f"{n}-{i}")]) for i in range(20)])
                   for n in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        # Each write returned after the broker's confirm: every fact is in the queues already.
        assert waiting_in(rabbit_url, "quotes") == 120 and waiting_in(rabbit_url, "notifier") == 120
        assert facts.published == 120 and facts.committed == 0 and event_ids(store) == []
        assert wakes.count == 0
        print(f"\n120 facts from 6 threads in {facts.writes} confirmed groups")
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

    def publish_batch(self, items):
        self.batches += 1
        return super().publish_batch(items)


def test_what_the_broker_does_not_confirm_waits_in_the_outbox_and_the_broker_is_left_alone_a_while(tmp_path):
    import socket

    with socket.socket() as probe:  # a port nobody listens on: the broker is away
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    store = EffectStore(f"sqlite:///{tmp_path / 'facts.db'}")
    wakes, clock = Wakes(), Clock()
    publisher = CountingPublisher(f"amqp://guest:guest@127.0.0.1:{port}//", confirm_timeout=1.0)
    facts = FactWriter(store.engine, store.outbox, wakes, publisher=publisher, pause_seconds=5.0, clock=clock)
    try:
        envelope = viewed("while-away")
        facts.write([envelope])  # no error: the fact is durable, in the outbox
        assert event_ids(store) == [envelope.id] and facts.published == 0 and wakes.count == 1
        assert publisher.batches == 1
        clock.now += 4.9
        facts.write([viewed("still-away")])  # within the pause: not even tried
        assert publisher.batches == 1 and len(event_ids(store)) == 2
        clock.now += 0.1
        facts.write([viewed("try-again")])
        assert publisher.batches == 2 and len(event_ids(store)) == 3 and facts.committed == 3
    finally:
        facts.close()
        store.engine.dispose()


def test_a_write_interrupted_by_a_base_exception_answers_its_callers_and_leaves_the_writer_usable(tmp_path):
    store = EffectStore(f"sqlite:///{tmp_path / 'facts.db'}")
    facts = FactWriter(store.engine, store.outbox)
    original = facts._store

    def interrupted(envelopes):
        raise KeyboardInterrupt

    facts._store = interrupted
    with pytest.raises(KeyboardInterrupt):
        facts.write([viewed("lost")])
    facts._store = original
    kept = viewed("kept")
    facts.write([kept])  # not stuck behind the interrupted write
    assert event_ids(store) == [kept.id] and facts.writes == 2
    store.engine.dispose()


def test_a_caller_interrupted_while_it_waits_leaves_the_writer_usable(tmp_path):
    """Ctrl-C in the main thread while another thread's group is being written: the interrupted
    caller's event is not written, and the writer does not wait for it to take its turn."""
    import os
    import signal

    store = EffectStore(f"sqlite:///{tmp_path / 'facts.db'}")
    facts = FactWriter(store.engine, store.outbox)
    original, writing, go_on = facts._store, threading.Event(), threading.Event()

    def slow(envelopes):
        writing.set()
        go_on.wait(10)
        original(envelopes)

    facts._store = slow
    first, interrupted = viewed("first"), viewed("interrupted")
    leader = threading.Thread(target=facts.write, args=([first],))
    leader.start()
    assert writing.wait(10)
    facts._store = original
    threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT)).start()
    with pytest.raises(KeyboardInterrupt):
        facts.write([interrupted])  # waits behind the leader's group until the signal
    go_on.set()
    leader.join(10)
    after = viewed("after")
    later = threading.Thread(target=facts.write, args=([after],))
    later.start()
    later.join(10)
    assert not later.is_alive(), "the writer waited for the interrupted caller's turn"
    assert event_ids(store) == [first.id, after.id]
    store.engine.dispose()
