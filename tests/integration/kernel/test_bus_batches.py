"""CloudEvents batch messages on RabbitMQ: every consumer reads their events as if each had come alone."""
from __future__ import annotations

import json
import threading
from collections import Counter
from dataclasses import replace

import pytest
from kombu import Exchange, Producer

from quoteflow import topology
from quoteflow.bus import (BATCH_CONTENT_TYPE, BATCH_MAX_EVENTS, CONTENT_TYPE, ROUTING_KEY_HEADER, TRACEPARENT_HEADER,
                           DeadLetterQueue, EventConsumer, Publisher, connect, declare_topology)
from quoteflow.envelope import Envelope
from quoteflow.v1 import events_pb2
from tests.integration.kernel.support import EffectStore, set_handler, start, viewed, wait_for

SERVICE = "notifier"  # bound to quote.# and portal.#


def downloaded(i: int | str) -> Envelope:
    return Envelope.wrap(events_pb2.QuoteDownloaded(quote_id=f"q{i}", ip="192.0.2.1", user_agent=f"ua{i}"),
                         source="test", subject=f"quote/q{i}", tenant="t")


def sent(i: int | str) -> Envelope:
    return Envelope.wrap(events_pb2.QuoteSent(quote_id=f"q{i}", number=f"D-{i}"), source="test",
                         subject=f"quote/q{i}", tenant="t")


def traced(envelope: Envelope, n: int) -> Envelope:
    return replace(envelope, traceparent=f"00-{n:032x}-{n:016x}-01")


def a_mix() -> list[Envelope]:
    """Runs that travel as batches (one of more than BATCH_MAX_EVENTS), lone events that travel plain."""
    return [*(downloaded(i) for i in range(7)), viewed("lone"),
            *(downloaded(100 + i) for i in range(BATCH_MAX_EVENTS + 5)), sent(0), *(viewed(i) for i in range(3))]


def publish_together(url: str, events: list[Envelope]) -> None:
    publisher = Publisher(url)
    try:
        assert publisher.publish_batch([(e.type, e.to_json(), e.id) for e in events], together=True) == len(events)
    finally:
        publisher.close()


def publish_message(url: str, body: str, *, content_type: str, routing_key: str, message_id: str,
                    queue: str | None = None) -> None:
    """One message as another producer (or the broker's dead-lettering) would leave it."""
    with connect(url) as connection:
        declare_topology(connection, url)
        producer = Producer(connection.default_channel, auto_declare=False)
        producer.publish(body, exchange=Exchange("") if queue else topology.EXCHANGE, routing_key=queue or routing_key,
                         content_type=content_type, content_encoding="utf-8", delivery_mode=2, message_id=message_id)


def queue_depth(url: str) -> int:
    """Messages in the service queue, with what a closed consumer left unacked back in it."""
    with connect(url) as connection:
        queue = topology.service_queue(SERVICE, quorum=True)(connection.default_channel)
        return queue.queue_declare(passive=True).message_count


def stop(consumer: EventConsumer, thread: threading.Thread) -> None:
    consumer.stop()
    thread.join(10)
    assert not thread.is_alive()


class Recorder:
    """An in-memory handler (no inbox: a second delivery shows), per event and per set."""

    def __init__(self, fail: set[str] = frozenset()):
        self.received: list[Envelope] = []
        self.calls: Counter = Counter()
        self.set_sizes: list[int] = []
        self.fail = fail
        self.lock = threading.Lock()

    def handle(self, envelope: Envelope) -> None:
        with self.lock:
            self.calls[envelope.id] += 1
            if envelope.id in self.fail:
                raise RuntimeError(f"cannot handle {envelope.id}")
            self.received.append(envelope)

    def handle_batch(self, envelopes: list[Envelope]) -> None:
        with self.lock:
            self.set_sizes.append(len(envelopes))
            if any(e.id in self.fail for e in envelopes):
                raise ValueError("a bad event in the set")
            self.received.extend(envelopes)


MODES = {"one by one": {"batch": 1}, "shared transaction": {"batch": 20}, "set-based": {"batch": 20, "set": True}}


def consumer_for(url: str, mode: str, handle, handle_batch, **kwargs) -> EventConsumer:
    options = dict(MODES[mode])
    if options.pop("set", False):
        options["handle_batch"] = handle_batch
    return EventConsumer(url, SERVICE, handle, **options, **kwargs)


def test_publish_batch_together_sends_runs_as_batch_messages_and_counts_events(rabbit_url):
    first, lone = [traced(downloaded(i), i + 1) for i in range(3)], traced(viewed(0), 99)
    publish_together(rabbit_url, [*first, lone])
    with connect(rabbit_url) as connection:
        queue = topology.service_queue(SERVICE, quorum=True)(connection.default_channel)
        batch, plain = queue.get(accept=[BATCH_CONTENT_TYPE]), queue.get(accept=[CONTENT_TYPE])
        assert queue.get() is None
    assert batch.content_type == BATCH_CONTENT_TYPE and batch.properties["delivery_mode"] == 2
    assert batch.properties["message_id"] == f"batch:{first[0].id}"
    assert batch.delivery_info["routing_key"] == "portal.quote_downloaded"
    assert batch.headers[TRACEPARENT_HEADER] == first[0].traceparent
    assert json.loads(batch.body) == [e.to_dict() for e in first]
    assert plain.content_type == CONTENT_TYPE and plain.properties["message_id"] == lone.id
    assert Envelope.from_json(plain.body) == lone


@pytest.mark.parametrize("mode", MODES)
def test_every_consumer_handles_each_event_of_batch_messages_once_in_order(rabbit_url, mode):
    mix = a_mix()
    plain_before, plain_after = [sent(f"p{i}") for i in range(25)], [sent(f"r{i}") for i in range(25)]
    publisher = Publisher(rabbit_url)
    for events, together in ((plain_before, False), (mix, True), (plain_after, False)):
        assert publisher.publish_batch([(e.type, e.to_json(), e.id) for e in events], together=together) == len(events)
    publisher.close()
    flow = [*plain_before, *mix, *plain_after]
    recorder = Recorder()
    consumer = consumer_for(rabbit_url, mode, recorder.handle, recorder.handle_batch)
    thread = start(consumer)
    assert wait_for(lambda: len(recorder.received) >= len(flow), timeout=20), len(recorder.received)
    stop(consumer, thread)
    assert recorder.received == flow  # every event once, in publish order, as it was published
    assert consumer.stats["handled"] == len(flow)
    assert not (consumer.stats["duplicates"] or consumer.stats["retried"] or consumer.stats["dead_lettered"])
    assert queue_depth(rabbit_url) == 0  # and nothing was left unacked: it would be back in the queue
    assert max(recorder.set_sizes, default=0) <= 20  # a batch message's events count one each


@pytest.mark.parametrize("mode", MODES)
def test_a_bad_event_of_a_batch_is_retried_and_dead_lettered_alone(rabbit_url, mode):
    events = [traced(downloaded(i), i + 1) for i in range(30)]
    bad = events[12]
    recorder = Recorder(fail={bad.id})
    consumer = consumer_for(rabbit_url, mode, recorder.handle, recorder.handle_batch, max_attempts=3,
                            backoff=0.01)
    thread = start(consumer)
    publish_together(rabbit_url, events)
    assert wait_for(lambda: consumer.stats["dead_lettered"] == 1, timeout=20), consumer.stats
    stop(consumer, thread)
    good = [e for e in events if e is not bad]
    assert recorder.received == good  # in order, each once: nothing came back with the bad one
    assert recorder.calls[bad.id] == 3 and consumer.stats["retried"] == 2
    [letter] = DeadLetterQueue(rabbit_url, SERVICE).list()
    # A plain single-event message of its own: its body, its id, its type, its trace.
    assert letter.content_type == CONTENT_TYPE and Envelope.from_json(letter.body) == bad
    assert letter.message_id == bad.id and letter.type == bad.type and letter.attempts == 3
    assert letter.headers[ROUTING_KEY_HEADER] == bad.type and letter.headers[TRACEPARENT_HEADER] == bad.traceparent
    assert f"cannot handle {bad.id}" in letter.error
    assert queue_depth(rabbit_url) == 0


@pytest.mark.parametrize("mode", MODES)
def test_a_batch_given_back_by_a_pause_yields_each_effect_once(rabbit_url, tmp_path, mode):
    store = EffectStore(f"sqlite:///{tmp_path / 'svc.db'}")
    events = [downloaded(i) for i in range(40)]
    # One event fails once (one by one: it is sent to a retry; in a set: the set is handled one by one), then
    # the database goes away in the middle of the batch: the whole batch message comes back.
    retried, away = events[3], events[25]
    failed: set[str] = set()
    tries: Counter = Counter()

    def fail_once(envelopes):
        for envelope, error in ((retried, ValueError("not yet")), (away, ConnectionError("database away"))):
            if envelope.id not in failed and any(e.id == envelope.id for e in envelopes):
                failed.add(envelope.id)
                raise error

    def handle(envelope):
        tries[envelope.id] += 1
        fail_once([envelope])
        store.handle(envelope)

    handle_set = set_handler(store)

    def handle_batch(envelopes):
        fail_once(envelopes)
        handle_set(envelopes)

    consumer = consumer_for(rabbit_url, mode, handle, handle_batch, pause=0.05, backoff=0.01)
    thread = start(consumer)
    publish_together(rabbit_url, events)
    assert wait_for(lambda: len(store.effect_counts()) == len(events), timeout=20)
    # Not in sets, the retried event is tried thrice: it fails, then comes its retry and its copy in the
    # returned batch; one of them handles it, the inbox absorbs the other.
    assert wait_for(lambda: tries[retried.id] == (1 if mode == "set-based" else 3), timeout=10), tries[retried.id]
    stop(consumer, thread)
    assert store.lost_and_duplicated([e.id for e in events]) == (0, 0)
    assert consumer.stats["paused"] == 1 and consumer.stats["dead_lettered"] == 0
    assert consumer.stats["handled"] + consumer.stats["duplicates"] > len(events)  # the batch did come back
    assert DeadLetterQueue(rabbit_url, SERVICE).list() == [] and queue_depth(rabbit_url) == 0


def test_a_malformed_batch_goes_to_the_dead_letters_whole_and_a_malformed_event_alone(rabbit_url):
    recorder = Recorder()
    consumer = EventConsumer(rabbit_url, SERVICE, recorder.handle)
    thread = start(consumer)
    good = downloaded("good")
    unknown = {**downloaded("x").to_dict(), "type": "portal.quote_burnt"}
    bodies = {"batch:object": (good.to_json(), "a CloudEvents batch must be a JSON array, not an object"),
              "batch:not-json": ("[{", "batch is not JSON"),
              "batch:scalar": (f"[{good.to_json()},7]", "element 1 of the CloudEvents batch is not a JSON object")}
    for message_id, (body, _) in bodies.items():
        publish_message(rabbit_url, body, content_type=BATCH_CONTENT_TYPE, routing_key=good.type,
                        message_id=message_id)
    publish_message(rabbit_url, "[]", content_type=BATCH_CONTENT_TYPE, routing_key=good.type,
                    message_id="batch:empty")
    publish_message(rabbit_url, f"[{json.dumps(unknown)},{good.to_json()}]", content_type=BATCH_CONTENT_TYPE,
                    routing_key=good.type, message_id=f"batch:{unknown['id']}")
    assert wait_for(lambda: consumer.stats["dead_lettered"] == 4 and recorder.received, timeout=10), consumer.stats
    stop(consumer, thread)
    assert recorder.received == [good]
    letters = {letter.message_id: letter for letter in DeadLetterQueue(rabbit_url, SERVICE).list()}
    assert set(letters) == {*bodies, unknown["id"]}
    for message_id, (body, problem) in bodies.items():
        assert letters[message_id].body == body and letters[message_id].error.startswith(f"MalformedEvent: {problem}")
        assert letters[message_id].headers[ROUTING_KEY_HEADER] == good.type
    alone = letters[unknown["id"]]
    assert json.loads(alone.body) == unknown and "unknown event type 'portal.quote_burnt'" in alone.error
    assert queue_depth(rabbit_url) == 0


def test_a_batch_message_the_broker_dead_lettered_is_replayed_as_its_events(rabbit_url):
    events = [downloaded(i) for i in range(5)]
    body = "[" + ",".join(e.to_json() for e in events) + "]"
    publish_message(rabbit_url, body, content_type=BATCH_CONTENT_TYPE, routing_key=events[0].type,
                    message_id=f"batch:{events[0].id}", queue=topology.dead_letter_queue_name(SERVICE))
    dlq = DeadLetterQueue(rabbit_url, SERVICE)
    [letter] = dlq.list()
    assert letter.content_type == BATCH_CONTENT_TYPE and letter.type == events[0].type
    assert [r.message_id for r in dlq.replay([letter.message_id])] == [f"batch:{events[0].id}"]
    recorder = Recorder()
    consumer = EventConsumer(rabbit_url, SERVICE, recorder.handle)
    thread = start(consumer)
    assert wait_for(lambda: len(recorder.received) == len(events), timeout=10)
    stop(consumer, thread)
    assert recorder.received == events and dlq.list() == []
    assert consumer.stats["dead_lettered"] == 0 and queue_depth(rabbit_url) == 0
