"""Lookup rows kept in memory: only while changes are heard, never across a change, never too long."""
from __future__ import annotations

import threading

from services.portal.adapters.fresh import FreshRows, quote_of

QUOTE = ("t-1", "q-1")
OTHER = ("t-1", "q-2")


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def listening(**kw) -> FreshRows:
    rows = FreshRows(**kw)
    rows.forget_all(listening=True)
    return rows


def test_nothing_is_kept_until_changes_are_heard():
    rows = FreshRows()
    rows.put("a", QUOTE, {"v": 1}, rows.generation)
    assert rows.get("a") is None and len(rows) == 0
    rows.forget_all(listening=True)
    rows.put("a", QUOTE, {"v": 1}, rows.generation)
    assert rows.get("a") == {"v": 1}


def test_a_change_of_the_quote_drops_its_rows_and_only_those():
    rows = listening()
    rows.put("a", QUOTE, {"v": 1}, rows.generation)
    rows.put("b", QUOTE, {"v": 2}, rows.generation)
    rows.put("c", OTHER, {"v": 3}, rows.generation)
    rows.changed(QUOTE)
    assert rows.get("a") is None and rows.get("b") is None
    assert rows.get("c") == {"v": 3}


def test_a_row_read_while_a_change_was_heard_is_not_kept():
    rows = listening()
    before = rows.generation           # the request notes the generation, then queries...
    rows.changed(OTHER)                # ...while a change commits somewhere
    rows.put("a", QUOTE, {"v": "maybe stale"}, before)
    assert rows.get("a") is None


def test_losing_the_listener_forgets_everything_and_keeps_nothing_new():
    rows = listening()
    rows.put("a", QUOTE, {"v": 1}, rows.generation)
    rows.forget_all(listening=False)
    assert rows.get("a") is None
    rows.put("a", QUOTE, {"v": 1}, rows.generation)
    assert rows.get("a") is None and len(rows) == 0


def test_rows_expire_after_max_age_whatever_is_heard():
    clock = Clock()
    rows = listening(max_age=30.0, clock=clock)
    rows.put("a", QUOTE, {"v": 1}, rows.generation)
    clock.now += 29.9
    assert rows.get("a") == {"v": 1}
    clock.now += 0.1
    assert rows.get("a") is None and len(rows) == 0


def test_capacity_evicts_the_least_recently_used_and_its_index():
    rows = listening(capacity=2)
    rows.put("a", QUOTE, {"v": 1}, rows.generation)
    rows.put("b", OTHER, {"v": 2}, rows.generation)
    assert rows.get("a") == {"v": 1}   # a is now the most recent
    rows.put("c", ("t-2", "q-3"), {"v": 3}, rows.generation)
    assert rows.get("b") is None and rows.get("a") == {"v": 1} and rows.get("c") == {"v": 3}
    assert OTHER not in rows._tokens_of


def test_a_row_moving_to_another_quote_is_indexed_once():
    rows = listening()
    rows.put("a", QUOTE, {"v": 1}, rows.generation)
    rows.put("a", OTHER, {"v": 2}, rows.generation)
    rows.changed(QUOTE)
    assert rows.get("a") == {"v": 2}
    rows.changed(OTHER)
    assert rows.get("a") is None


def test_notices_name_a_quote_or_everything():
    assert quote_of('["t-1", "q-1"]') == QUOTE
    assert quote_of("*") is None
    assert quote_of("not json") is None and quote_of('["only one"]') is None


def test_threads_putting_and_changing_never_leave_a_row_of_a_changed_quote():
    rows = listening()
    stop = threading.Event()

    def reader():
        while not stop.is_set():
            generation = rows.generation
            rows.put("a", QUOTE, {"v": generation}, generation)

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        for _ in range(2000):
            rows.changed(QUOTE)
            after = rows.generation  # only this thread changes it
            kept = rows.get("a")
            # whatever is kept was read after this change: never a row from before it
            assert kept is None or kept["v"] == after
    finally:
        stop.set()
        for thread in threads:
            thread.join()
