"""The notifier fed by the real kombu consumer on the server-less filesystem bus."""
import threading
import time
from dataclasses import replace

from quoteflow.bus import Publisher
from services.notifier.adapters.mail import read_maildir
from services.notifier.bootstrap import bootstrap
from services.notifier.entrypoints.consumer import build_consumer


def test_a_published_quote_sent_lands_in_the_maildir_once(cfg, tmp_path, tenant, quote_sent):
    broker = f"filesystem://{tmp_path / 'bus'}"
    app = bootstrap(replace(cfg, common=replace(cfg.common, broker_url=broker), sweep_seconds=60))
    consumer = build_consumer(app)
    threads = [threading.Thread(target=consumer.run, daemon=True),
               threading.Thread(target=app.dispatcher.run, daemon=True)]
    publisher = Publisher(broker)
    envelope = quote_sent()
    # Published before the consumer starts: kombu's filesystem transport can hand a reader a
    # message file its writer has not filled yet (a kernel fix is proposed in the report).
    publisher.publish(envelope.type, envelope.to_json(), envelope.id)
    publisher.publish(envelope.type, envelope.to_json(), envelope.id)  # a redelivery
    for thread in threads:
        thread.start()
    try:
        deadline = time.monotonic() + 10
        while not read_maildir(cfg.mail_sink_dir) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # room for a wrong second mail to arrive
        messages = read_maildir(cfg.mail_sink_dir)
        assert [m["To"].addresses[0].addr_spec for m in messages] == ["zoe@client.example"]
        assert envelope.payload().link_url in messages[0].get_body(("plain",)).get_content()
        [delivery] = app.list_deliveries(tenant, envelope.payload().quote_id)
        assert delivery.status == "sent"
    finally:
        publisher.close()
        consumer.stop()
        app.dispatcher.stop()
        for thread in threads:
            thread.join(5)


def test_notification_sent_reaches_the_quotes_queue_through_the_outbox_relay(cfg, tmp_path, tenant, quote_sent):
    from quoteflow.bus import EventConsumer

    broker = f"filesystem://{tmp_path / 'bus'}"
    publisher = Publisher(broker)
    app = bootstrap(replace(cfg, common=replace(cfg.common, broker_url=broker), sweep_seconds=60),
                    publisher=Publisher(broker))
    heard = []
    quotes = EventConsumer(broker, "quotes", heard.append, max_attempts=2)
    envelope = quote_sent()
    publisher.publish(envelope.type, envelope.to_json(), envelope.id)
    notifier = build_consumer(app)
    loops = [(notifier.run, notifier.stop), (app.dispatcher.run, app.dispatcher.stop),
             (app.relay.run, app.relay.stop), (quotes.run, quotes.stop)]
    threads = [threading.Thread(target=run, daemon=True) for run, _ in loops]
    for thread in threads:
        thread.start()
    try:
        deadline = time.monotonic() + 10
        while not any(e.type == "notification.sent" for e in heard) and time.monotonic() < deadline:
            time.sleep(0.05)
        [sent] = [e for e in heard if e.type == "notification.sent"]
        payload = sent.payload()
        assert (payload.quote_id, payload.cause_event_id, payload.channel) == (
            envelope.payload().quote_id, envelope.id, "email")
        assert sent.tenant == tenant and sent.correlation_id == envelope.correlation_id
        assert app.relay.status()[0] == 0  # nothing left unpublished
    finally:
        for (_, stop), thread in zip(loops, threads):
            stop()
            thread.join(5)
        publisher.close()
