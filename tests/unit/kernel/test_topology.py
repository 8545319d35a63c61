"""The topology map: who consumes what, delay queues, quorum arguments."""
from quoteflow import topology
from quoteflow.bus import DeadLetter, _matcher
from quoteflow.envelope import EVENT_TYPES


def test_retry_delays_grow_then_stop_at_the_cap():
    assert topology.retry_delays_ms(5, 0.5, 4, 300) == [500, 2000, 8000, 32000]
    assert topology.retry_delays_ms(8, 1, 4, 60) == [1000, 4000, 16000, 60000, 60000, 60000, 60000]
    assert topology.retry_delays_ms(1) == []  # one attempt: straight to the dead letters


def test_every_event_type_reaches_a_service_queue():
    for event_type in EVENT_TYPES:
        prefix = event_type.split(".")[0]
        assert any(f"{prefix}.#" in keys for keys in topology.SUBSCRIPTIONS.values()), event_type


def test_service_queues_are_quorum_with_a_delivery_limit_and_dead_lettering_on_rabbitmq():
    queue = topology.service_queue("notifier", quorum=True)
    assert queue.name == "quoteflow.notifier"
    assert queue.queue_arguments["x-queue-type"] == "quorum"
    assert queue.queue_arguments["x-delivery-limit"] == topology.DELIVERY_LIMIT
    assert queue.queue_arguments["x-dead-letter-routing-key"] == "quoteflow.notifier.dead"
    assert sorted(b.routing_key for b in queue.bindings) == ["apikey.#", "portal.#", "quote.#", "signature.#"]
    assert topology.service_queue("notifier", quorum=False).queue_arguments is None


def test_a_delay_queue_sends_back_to_its_service_queue_after_its_ttl():
    queue = topology.retry_queue("quotes", 2000)
    assert queue.name == "quoteflow.quotes.retry.2000ms"
    assert queue.queue_arguments["x-message-ttl"] == 2000
    assert queue.queue_arguments["x-dead-letter-exchange"] == ""
    assert queue.queue_arguments["x-dead-letter-routing-key"] == "quoteflow.quotes"
    assert not queue.bindings  # nothing reaches it but a retry


def test_entities_declare_exchanges_and_dead_letter_queues_before_what_points_at_them():
    names = [e.name for e in topology.entities(quorum=True)]
    assert names[:2] == ["quoteflow.events", "quoteflow.dead"]
    for service in topology.SUBSCRIPTIONS:
        assert names.index(f"quoteflow.{service}.dead") < names.index(f"quoteflow.{service}")
        assert names.index(f"quoteflow.{service}") < names.index(f"quoteflow.{service}.retry.500ms")
    assert not any(".retry." in e.name for e in topology.entities(quorum=False))


def test_dead_letters_are_matched_by_id_or_a_long_enough_prefix():
    letter = DeadLetter(message_id="0f3c2a9e-1111-4222-8333-444455556666", type="quote.sent", error="",
                        attempts=0, dead_at=None, body="{}", headers={"x-first-death-reason": "delivery_limit"})
    assert _matcher(["0f3c2a9e"])(letter) and _matcher([letter.message_id])(letter)
    assert not _matcher(["0f3c"])(letter) and not _matcher(["other"])(letter)
    assert _matcher(None)(letter)
    assert letter.reason == "delivery_limit"
