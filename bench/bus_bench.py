"""The bus: view events recorded per second by `quotes` against raw kombu, and a raw round trip.

Same run, same RabbitMQ (a private vhost), same kind of queue (quorum, prefetch 20, manual ack):

- ``quotes_view_events_per_s_<db>``: a pre-filled ``quoteflow.quotes`` queue of
  ``portal.quote_viewed`` events drained by the quotes service's consumer as the service
  wires it (``services.quotes.entrypoints.consumer.build_consumer``: the kernel's
  ``EventConsumer``, batches of what has arrived handed to the set-based handler on a worker
  thread while the next batch is read: on PostgreSQL one inbox statement and one statement
  for the counters and history rows of the whole batch, on SQLite the inbox, the history in
  one insert and one counter UPDATE per quote; one commit, then the acks), against a bare
  kombu ``Consumer`` that only acks the same messages. Target
  (DESIGN.md §7): ≥ 0.5 ×. Measured on the embedded database (SQLite) and on PostgreSQL.
  The note gives, for reference, the rate of the one-by-one path (one unit of work and one
  commit per event: what a failed batch falls back to).
- ``kernel_consumer_noop_events_per_s``: the same consumer with an empty handler (the kernel's
  own cost).
- ``raw_round_trip_p50_ms`` / ``_p99_ms``: publish (kombu, publisher confirms) → consume (kombu)
  of one message at a time on a quorum queue: the floor under every event-driven latency of
  the suite (the 100 ms budget of Sign → Accepté must fit above it).

    .venv/bin/python bench/bus_bench.py [--quick]
"""
from __future__ import annotations

import argparse
import contextlib
import pathlib
import statistics
import sys
import tempfile
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from kombu import Consumer, Exchange, Producer, Queue  # noqa: E402

from bench.common import figure, percentile  # noqa: E402
from quoteflow import topology  # noqa: E402
from quoteflow.bus import EventConsumer, Publisher, connect, declare_topology  # noqa: E402
from quoteflow.envelope import Envelope  # noqa: E402
from quoteflow.v1 import events_pb2  # noqa: E402
from services.quotes.entrypoints import consumer as quotes_consumer  # noqa: E402
from tests.support.backends import private_databases, private_vhost  # noqa: E402

TARGET = 0.5
PREFETCH = 20  # the raw consumer's; the quotes consumer uses its own (build_consumer)


# ---------------------------------------------------------------- the quotes service, real handler


def _quotes_app(database_url: str, var: pathlib.Path):
    """The quotes service wired by its own bootstrap (no relay: the bench reads, never sends)."""
    from dataclasses import replace

    from services.quotes import bootstrap as quotes_bootstrap
    from services.quotes.config import Config
    from services.quotes.domain import commands

    config = Config.from_env()
    config = replace(config, common=replace(config.common, database_url=database_url, blob_dir=var / "blobs"))
    app = quotes_bootstrap.bootstrap(config, pdf=lambda snapshot, **_: b"%PDF-1.4 bench\n%%EOF\n")
    tenant = "bench"
    app.handle(commands.UpsertAccount(tenant=tenant, id="acc", name="Boulangerie Lefèvre"))
    app.handle(commands.UpsertContact(tenant=tenant, id="ct", account_id="acc", name="Chloé Lefèvre",
                                      email="chloe@example.fr"))
    app.handle(commands.UpsertUser(tenant=tenant, id="u", name="Antoine Martin", email="antoine@example.com"))
    quote_ids = []
    for n in range(20):  # views spread over 20 sent quotes, as real traffic is
        quote = app.handle(commands.CreateQuote(
            tenant=tenant, account_id="acc", contact_id="ct", assignee_id="u", title=f"Devis {n}",
            lines=(commands.LineInput(description="Commutateur", quantity="1", unit_price="100", vat_rate="20"),)))
        quote_id = getattr(quote, "id", None) or quote[0].id
        app.handle(commands.SendQuote(tenant=tenant, quote_id=quote_id))
        quote_ids.append(quote_id)
    return app, tenant, quote_ids


def _views(tenant: str, quote_ids: list[str], n: int) -> list[Envelope]:
    return [Envelope.wrap(events_pb2.QuoteViewed(quote_id=quote_ids[i % len(quote_ids)], number=f"DV-{i}",
                                                 recipient_email="chloe@example.fr", ip="203.0.113.7",
                                                 user_agent="Mozilla/5.0 bench", at="2026-11-29T10:00:00Z"),
                          source="quoteflow/portal", subject=f"quote/{quote_ids[i % len(quote_ids)]}",
                          tenant=tenant)
            for i in range(n)]


def _fill(url: str, events: list[Envelope]) -> None:
    publisher = Publisher(url)
    for start in range(0, len(events), 200):
        chunk = events[start:start + 200]
        assert publisher.publish_batch([(e.type, e.to_json(), e.id) for e in chunk]) == len(chunk)
    publisher.close()


def _drain_quotes(url: str, app, n: int, *, one_by_one: bool = False, noop: bool = False) -> float:
    """Events/s of the quotes consumer (as ``build_consumer`` wires it) over a pre-filled queue of ``n`` views.

    Timed from the first batch (or event) recorded to the last, as the raw consumer is: connecting
    and declaring the topology are start-up costs, not a consume rate. The first batch's events
    count from its end, so the rate is (n - first batch) / elapsed.
    """
    from dataclasses import replace

    done = threading.Event()
    marks: list[tuple[float, int]] = []
    recorded = [0]  # a running total: summing the marks at each event made the timing quadratic

    def mark(count: int) -> None:
        marks.append((time.perf_counter(), count))
        recorded[0] += count
        if recorded[0] >= n:
            done.set()

    def counted(handle):
        def one(envelope):
            handle(envelope)
            mark(1)
        return one

    def counted_batch(handle_batch):
        def batch(envelopes):
            handle_batch(envelopes)
            mark(len(envelopes))
        return batch

    wired = replace(app, config=replace(app.config, common=replace(app.config.common, broker_url=url)))
    consumer = quotes_consumer.build_consumer(wired)
    if noop:
        consumer.handle, consumer.handle_batch, consumer.batch = (lambda envelope: None), None, 1
    consumer.handle = counted(consumer.handle)
    if one_by_one:
        consumer.handle_batch, consumer.batch = None, 1
    elif consumer.handle_batch is not None:
        consumer.handle_batch = counted_batch(consumer.handle_batch)
    thread = threading.Thread(target=consumer.run, daemon=True)
    thread.start()
    assert done.wait(600), f"only {recorded[0]} of {n} views recorded"
    consumer.stop()
    thread.join(10)
    first_at, first_count = marks[0]
    return (n - first_count) / (marks[-1][0] - first_at)


def _drain_raw(url: str, n: int) -> float:
    """Events/s of a bare kombu consumer that acks each message of the same queue (first to last)."""
    marks: list[float] = []

    def on_message(body, message):
        message.ack()
        marks.append(time.perf_counter())

    with connect(url) as connection:
        queue = topology.service_queue("quotes", quorum=True)
        with Consumer(connection.channel(), queues=[queue], callbacks=[on_message], accept=None, no_ack=False,
                      prefetch_count=PREFETCH, auto_declare=False):
            while len(marks) < n:
                connection.drain_events(timeout=30)
    return (n - 1) / (marks[-1] - marks[0])


# ---------------------------------------------------------------- raw round trip


def _round_trips_ms(url: str, n: int) -> list[float]:
    queue = Queue("bench.round_trip", durable=True, queue_arguments={"x-queue-type": "quorum"})
    got: list[float] = []
    with connect(url) as publishing, connect(url) as consuming:
        producer = Producer(publishing.default_channel, exchange=Exchange(""), auto_declare=False)
        queue(publishing.default_channel).declare()
        arrived = threading.Event()

        def on_message(body, message):
            got.append(time.perf_counter())
            message.ack()
            arrived.set()

        times = []
        with Consumer(consuming.channel(), queues=[queue], callbacks=[on_message], accept=None, no_ack=False,
                      prefetch_count=PREFETCH):
            for i in range(n + 5):
                arrived.clear()
                sent = time.perf_counter()
                producer.publish(f"ping {i}", routing_key=queue.name, delivery_mode=2, retry=False)
                while not arrived.is_set():
                    consuming.drain_events(timeout=10)
                if i >= 5:  # warm-up
                    times.append((got[-1] - sent) * 1000)
    return times


# ---------------------------------------------------------------- run


def run(quick: bool = False) -> list[dict]:
    n = 300 if quick else 2000
    rounds = 1 if quick else 3  # raw and quotes interleaved; medians
    trips = 50 if quick else 300
    results = []
    with contextlib.ExitStack() as stack:
        var = pathlib.Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="qf-bus-bench-")))
        databases = {"sqlite": f"sqlite:///{var / 'quotes.db'}"}
        databases["postgresql"] = stack.enter_context(private_databases(["quotes"], "qf_bench"))["quotes"]
        url = stack.enter_context(private_vhost("qf_bench"))  # one vhost: every drain empties the queue it filled
        with connect(url) as connection:
            declare_topology(connection, url)
        for label, database_url in databases.items():
            app, tenant, quote_ids = _quotes_app(database_url, var / label)
            rates: dict[str, list[float]] = {"raw": [], "quotes": [], "one": [], "kernel": []}
            for _ in range(rounds):  # back to back: machine load hits both alike
                _fill(url, _views(tenant, quote_ids, n))
                rates["raw"].append(_drain_raw(url, n))
                _fill(url, _views(tenant, quote_ids, n))
                rates["quotes"].append(_drain_quotes(url, app, n))
            if not quick:
                _fill(url, _views(tenant, quote_ids, n // 4))
                rates["one"].append(_drain_quotes(url, app, n // 4, one_by_one=True))
            if label == "sqlite":  # the kernel's own share: same consumer, a handler that does nothing
                _fill(url, _views(tenant, quote_ids, n))
                rates["kernel"].append(_drain_quotes(url, app, n, noop=True))
            app.engine.dispose()
            raw = statistics.median(rates["raw"])
            note = (f"quotes consumer as the service runs it (batches of up to {quotes_consumer.BATCH} set-based), "
                    f"{n} views over 20 quotes, {rounds} round(s) interleaved with the raw consumer; rates "
                    f"{', '.join(f'{r:.0f}' for r in rates['quotes'])} vs raw "
                    f"{', '.join(f'{r:.0f}' for r in rates['raw'])} events/s")
            if rates["one"]:
                note += (f"; one by one (one unit of work and commit per event, the fallback of a failed batch): "
                         f"{rates['one'][0]:.0f} events/s ({rates['one'][0] / raw:.3f}×)")
            results.append(figure(f"quotes_view_events_per_s_{label}", statistics.median(rates["quotes"]), raw,
                                  "events/s", f">= {TARGET:g}", events=n, note=note))
            if rates["kernel"]:
                results.append(figure("kernel_consumer_noop_events_per_s", statistics.median(rates["kernel"]), raw,
                                      "events/s", f">= {TARGET:g}", events=n,
                                      note="EventConsumer (envelope parsed and validated, span, ack) with an empty "
                                           "handler, one event at a time: the kernel's own cost"))
        times = _round_trips_ms(url, trips)
        for p in (50, 99):
            results.append(figure(f"raw_round_trip_p{p}_ms", percentile(times, p), None, "ms", "<= 100 ms",
                                  repetitions=len(times),
                                  note="kombu publish with confirm -> kombu consume, quorum queue"))
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer events")
    args = parser.parse_args()
    results = run(quick=args.quick)
    for r in results:
        if r["unit"] == "events/s":
            print(f"{r['name']}: {r['value']} events/s, raw kombu {r['baseline']} events/s, "
                  f"ratio {r['ratio']} (target {r['target']}) {'met' if r['met'] else 'NOT MET'}; n={r['events']}")
        else:
            print(f"{r['name']}: {r['value']} ms ({r['note']}, n={r['repetitions']})")
    return 0 if all(r["met"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
