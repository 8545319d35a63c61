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
