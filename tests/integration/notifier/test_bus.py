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
