"""Fault 4: the consumer's database goes away mid-transaction: not acked, retried, nothing half-written."""
from __future__ import annotations

import threading
import time

from kombu import Queue
from sqlalchemy import create_engine, text

from quoteflow.bus import DeadLetterQueue, EventConsumer, Publisher, connect
from tests.integration.kernel.support import EffectStore, start, viewed, wait_for
from tests.support.backends import POSTGRES_ADMIN_URL


def ready_messages(url: str, queue: str) -> int:
    with connect(url) as connection:
        return Queue(queue, channel=connection.default_channel).queue_declare(passive=True).message_count


def test_a_database_outage_while_consuming_keeps_messages_unacked_and_writes_nothing_half(rabbit_url, databases):
    url = databases["consumer"]
    name = url.rsplit("/", 1)[1]
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    store = EffectStore(url)
    outage = {"armed": False, "victim": None}
    went_down = threading.Event()

    def take_the_database_away():
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false'))
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": name})

    def between(envelope):  # the first row is written; the database vanishes before the second
        if outage["armed"]:
            outage["armed"] = False
            outage["victim"] = envelope.id
            take_the_database_away()
            went_down.set()

    consumer = EventConsumer(rabbit_url, "notifier", lambda e: store.handle(e, between=between), pause=0.3,
                             max_pause=1.0)
    thread = start(consumer)
    publisher = Publisher(rabbit_url)
    before = [viewed(i) for i in range(10)]
    during = [viewed(100 + i) for i in range(20)]
    for event in before:
        publisher.publish(event.type, event.to_json(), event.id)
    assert wait_for(lambda: len(store.effect_counts()) == 10, timeout=15)

    outage["armed"] = True
    for event in during:
        publisher.publish(event.type, event.to_json(), event.id)
    assert went_down.wait(10)
    down_at = time.monotonic()
    time.sleep(3.0)  # the consumer probes the database, pausing longer each time
    waiting = ready_messages(rabbit_url, "quoteflow.notifier")
    pauses = consumer.stats["paused"]
    with admin.connect() as conn:
        conn.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true'))
    up_at = time.monotonic()
    assert wait_for(lambda: len(store.effect_counts()) == 30, timeout=30), len(store.effect_counts())
    recovered = time.monotonic() - up_at
    time.sleep(0.3)
    consumer.stop()
    thread.join(5)
    publisher.close()
    admin.dispose()

    effects = store.effect_counts()
    print(f"\ndatabase unavailable {up_at - down_at:.1f}s: {waiting} of 20 messages waiting unacked in the queue "
          f"(+1 held by the probing consumer), {pauses} pauses, nothing dead-lettered, all handled "
          f"{recovered:.2f}s after the database came back; the interrupted event's first row rolled back")
    assert 19 <= waiting <= 20  # nothing was acked while the database was away
    assert pauses >= 2  # retried, with no attempt spent
    assert all(sorted(parts) == [1, 2] for parts in effects.values())  # nothing half-written, nothing twice
    assert set(effects) == {e.id for e in before + during}
    assert outage["victim"] in effects
    assert DeadLetterQueue(rabbit_url, "notifier").list() == []
