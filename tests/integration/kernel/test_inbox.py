"""The inbox: one event's effect happens once, even when two replicas handle it at the same moment."""
from __future__ import annotations

import threading
import time

import pytest

from quoteflow.uow import AlreadyHandled
from tests.integration.kernel.support import EffectStore, viewed


@pytest.mark.parametrize("first_commits", [True, False], ids=["first-commits", "first-rolls-back"])
def test_two_replicas_handling_one_event_at_once_on_postgresql(pg_url, first_commits):
    store = EffectStore(pg_url)
    event = viewed(1)
    inside = threading.Event()
    outcome: dict[str, object] = {}

    def first():
        with store.uow() as uow:
            uow.record_inbox(event)
            uow.session.execute(store.effects.insert().values(event_id=event.id, part=1, quote_id="first"))
            inside.set()
            time.sleep(0.4)  # the second replica is now waiting on this row
            if first_commits:
                uow.commit()

    def second():
        inside.wait(5)
        started = time.monotonic()
        try:
            with store.uow() as uow:
                uow.record_inbox(event)
                uow.session.execute(store.effects.insert().values(event_id=event.id, part=1, quote_id="second"))
                uow.commit()
            outcome["result"] = "handled"
        except AlreadyHandled:
            outcome["result"] = "already handled"
        outcome["waited"] = time.monotonic() - started

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    with store.engine.connect() as conn:
        writers = [row.quote_id for row in conn.execute(store.effects.select())]
    assert outcome["waited"] >= 0.3  # it waited for the first transaction instead of guessing
    if first_commits:
        assert outcome["result"] == "already handled" and writers == ["first"]
    else:
        assert outcome["result"] == "handled" and writers == ["second"]


def test_a_redelivered_event_is_already_handled_on_sqlite(tmp_path):
    store = EffectStore(f"sqlite:///{tmp_path / 'svc.db'}")
    event = viewed(1)
    store.handle(event)
    with pytest.raises(AlreadyHandled):
        store.handle(event)
    assert store.effect_counts() == {event.id: [1, 2]}


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    url = f"sqlite:///{tmp_path / 'svc.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    return EffectStore(url)


def test_a_batch_marks_each_new_event_once_and_returns_them_in_arrival_order(store):
    old, new = [viewed(i) for i in range(3)], [viewed(i) for i in range(3, 9)]
    with store.uow() as uow:
        assert uow.record_inbox_many(old) == old
        uow.commit()
    batch = [new[0], old[1], new[1], new[0], *new[2:], old[2], new[5]]
    with store.uow() as uow:
        assert uow.record_inbox_many(batch) == new  # the handled ones and the second copies left out
        uow.commit()
    with store.uow() as uow:
        assert uow.record_inbox_many([*old, *new]) == []
    with store.engine.connect() as conn:
        assert sorted(row.event_id for row in conn.execute(store.inbox.select())) == sorted(e.id for e in old + new)


def test_a_batch_rolled_back_leaves_its_events_to_be_handled_again(store):
    batch = [viewed(i) for i in range(4)]
    with store.uow() as uow:
        assert uow.record_inbox_many(batch) == batch  # no commit
    with store.uow() as uow:
        assert uow.record_inbox_many(batch[1:]) == batch[1:]
        uow.commit()
