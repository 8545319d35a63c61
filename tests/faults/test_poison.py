"""Fault 3: a poison message is dead-lettered after N attempts, the others flow, a replay after the fix lands once."""
from __future__ import annotations

import time

from quoteflow.bus import DeadLetterQueue, EventConsumer, Publisher
from quoteflow.cli import main as quoteflow
from tests.integration.kernel.support import EffectStore, start, viewed, wait_for

ATTEMPTS = 3


def test_a_poison_message_is_dead_lettered_then_replayed_once_after_the_fix(rabbit_url, tmp_path, capsys):
    store = EffectStore(f"sqlite:///{tmp_path / 'notifier.db'}")
    poison = viewed("poison", quote="q-poison")
    good = [viewed(i) for i in range(200)]
    bug = {"present": True}
    tried: list[float] = []
    handled_at: dict[str, float] = {}

    def handle(envelope):
        if envelope.id == poison.id:
            tried.append(time.monotonic())
            if bug["present"]:
                raise KeyError("template 'quote_viewed' has no 'q-poison' variant")
        store.handle(envelope)
        handled_at[envelope.id] = time.monotonic()

    consumer = EventConsumer(rabbit_url, "notifier", handle, max_attempts=ATTEMPTS, backoff=0.3, backoff_factor=2)
    thread = start(consumer)
    publisher = Publisher(rabbit_url)
    flow = [*good[:20], poison, *good[20:]]
    assert publisher.publish_batch([(e.type, e.to_json(), e.id) for e in flow]) == len(flow)
    assert wait_for(lambda: consumer.stats["dead_lettered"] == 1 and len(handled_at) == len(good), timeout=30)
    others_done = max(handled_at.values()) - tried[0]
    failed_attempts = len(tried)
    next_after_poison = handled_at[good[20].id] - tried[0]

    [letter] = DeadLetterQueue(rabbit_url, "notifier").list()
    assert letter.message_id == poison.id and letter.attempts == ATTEMPTS
    assert "KeyError" in letter.error and "q-poison" in letter.error
    assert len(tried) == ATTEMPTS and poison.id not in store.effect_counts()

    bug["present"] = False  # the fix is deployed; the operator replays
    assert quoteflow(["dlq", "replay", "notifier", poison.id, "--broker-url", rabbit_url]) == 0
    assert wait_for(lambda: poison.id in store.effect_counts(), timeout=10)
    assert quoteflow(["dlq", "replay", "notifier", "--all", "--broker-url", rabbit_url]) == 0  # nothing left
    publisher.publish(poison.type, poison.to_json(), poison.id)  # and a stray copy of it arrives later
    assert wait_for(lambda: consumer.stats["duplicates"] == 1, timeout=10)
    consumer.stop()
    thread.join(5)
    publisher.close()
    out = capsys.readouterr().out

    effects = store.effect_counts()
    print(f"\npoison: dead-lettered after {failed_attempts} failed attempts "
          f"(retried {[round((b - a) * 1000) for a, b in zip(tried, tried[1:ATTEMPTS])]} ms later: back-off, then "
          f"its turn in the queue), the message behind it handled {next_after_poison * 1000:.0f} ms after its "
          f"first failure, all {len(good)} others {others_done * 1000:.0f} ms after; "
          f"replayed: handled {len(effects[poison.id]) // 2} time(s), the stray copy absorbed by the inbox")
    assert "1 message(s) replayed" in out and "0 message(s) replayed" in out
    assert effects[poison.id] == [1, 2]
    assert all(effects[e.id] == [1, 2] for e in good)
    assert failed_attempts == ATTEMPTS
    assert handled_at[good[20].id] < tried[1], "the message behind the poison waited for its retry"
    assert tried[1] - tried[0] >= 0.3 and tried[2] - tried[1] >= 0.6  # growing back-off
    assert DeadLetterQueue(rabbit_url, "notifier").list() == []
