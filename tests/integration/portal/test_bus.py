"""quote.sent arriving through the bus (kombu memory transport) and view events leaving through the relay."""
from __future__ import annotations

import threading
import time

from kombu import Consumer

from quoteflow import bus, topology
from quoteflow.envelope import Envelope
from services.portal.entrypoints.consumer import make_handler


def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def test_quote_sent_through_the_bus_then_view_published_to_quotes(make_world):
    world = make_world()
    captured = {}

    def capture(envelope):  # send() builds the envelope; publish it instead of calling the handler
        captured["envelope"] = envelope

    world.consume = capture
    sent = world.send()
    consumer = bus.EventConsumer("memory://", "portal", make_handler(world.portal.handle), max_attempts=2)
    thread = threading.Thread(target=consumer.run, daemon=True)
    thread.start()
    publisher = bus.Publisher("memory://")
    try:
        envelope = captured["envelope"]
        publisher.publish(envelope.type, envelope.to_json(), envelope.id)
        assert wait_for(lambda: world.client.head(f"/d/{sent['token']}").status_code == 200)
    finally:
        consumer.stop()
        thread.join(5)

    html = world.page(sent["token"])
    assert world.portal.relay.publish_pending() == 0  # the page alone records nothing
    assert world.confirm_view(html).status_code == 204
    assert world.portal.relay.publish_pending() == 1
    assert world.portal.relay.status()[0] == 0

    received: list[Envelope] = []
    with bus.connect("memory://") as connection:
        bus.declare_topology(connection, "memory://")
        queue = topology.service_queue("quotes", quorum=False)

        def on_message(body, message):
            event = Envelope.from_json(body if isinstance(body, (str, bytes)) else message.body)
            if event.subject == f"quote/{sent['quote_id']}":
                received.append(event)
            message.ack()

        with Consumer(connection.channel(), queues=[queue], callbacks=[on_message], accept=None):
            deadline = time.monotonic() + 5
            while not received and time.monotonic() < deadline:
                try:
                    connection.drain_events(timeout=0.2)
                except TimeoutError:
                    pass
    publisher.close()
    assert [e.type for e in received] == ["portal.quote_viewed"]
    assert received[0].payload().quote_id == sent["quote_id"]
