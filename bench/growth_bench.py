"""Growth: portal page, quotes list and PDF download cost at 10×, 100×, 1000× the data vs the smallest size.

Two stacks of the quotes and portal services run as processes (quoteflow.launcher.Suite),
each on its own private RabbitMQ vhost (an embedded folder broker with --quick) and PostgreSQL
databases. One real quote (20 lines) is created through the API and sent; the portal learns it
from the bus. The data
then grows by copying that quote's rows in place, in SQL, under new ids: every
table of each database that has a ``quote_id`` column (and the ``quotes`` table
itself), primary and unique keys given fresh values; the blob-store folder the PDF
lookup reads gets the files that many frozen PDFs would put there. At each size (S, 10 S,
100 S, 1000 S quotes, S = 100, 10 with --quick; VACUUM ANALYZE, and CHECKPOINT but with --quick,
after each growth), the lower
quartile (and the median) of sequential requests, interleaved:

* the portal page ``GET /d/<token>`` of the first quote;
* the list ``ListQuotes(page_size=50)`` over gRPC (newest first, with view counts; 10 with --quick,
  where the smallest size is 10 quotes);
* the PDF download ``GET /d/<token>/pdf``.

Baseline, same run: the same request to a second, identical stack kept at the smallest
size, the two stacks asked in turn so that load from elsewhere on the machine hits both
alike. Target: flat, i.e. ≤ 1.5 × at 10, 100 and 1000 × the data (a cost linear in the
data would be ~1000 ×; log-depth index lookups stay well under 1.5 ×).

    .venv/bin/python bench/growth_bench.py [--quick]
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import statistics
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import common  # noqa: E402

TARGET = "<= 1.5"
MULTIPLES = (1, 10, 100, 1000)


# ---------------------------------------------------------------- copying a quote's rows in SQL


def _synthetic(column: str, length: int | None, series: str) -> str:
    """A fresh, unique text value per copy for a key column (hex, cut to the column's length)."""
    expr = f"md5('{column}' || {series} || random()::text) || md5({series}::text || clock_timestamp()::text)"
    return f"left({expr}, {length})" if length else expr


def clone_statements(inspector, template_id: str, prefix: str, first: int, last: int) -> list[str]:
    """INSERT … SELECT statements copying the template quote's rows ``first..last`` times under new ids.

    Tables: ``quotes`` (by ``id``) first, then every table with a ``quote_id`` column.
    ``quote_id``/``id`` become ``prefix || n``; other primary-key and unique text columns get
    fresh values; integer keys with a default (serial, identity) are left to it; ``number``
    (unique per tenant in the quotes table) becomes ``G-n``; ``created_at`` of ``quotes``
    moves n seconds back, so the template stays the newest.
    """
    series = "g"
    statements = []
    tables = inspector.get_table_names()
    ordered = (["quotes"] if "quotes" in tables else []) + sorted(t for t in tables if t != "quotes")
    for table in ordered:
        columns = inspector.get_columns(table)
        names = [c["name"] for c in columns]
        key_column = "id" if table == "quotes" else ("quote_id" if "quote_id" in names else None)
        if key_column is None or key_column not in names:
            continue
        pk = set(inspector.get_pk_constraint(table).get("constrained_columns") or [])
        unique = {c for u in inspector.get_unique_constraints(table) for c in u["column_names"]}
        unique |= {c for i in inspector.get_indexes(table) if i.get("unique") for c in i["column_names"] if c}
        targets, values = [], []
        for column in columns:
            name = column["name"]
            type_name = type(column["type"]).__name__.upper()
            is_text = any(word in type_name for word in ("STRING", "VARCHAR", "TEXT", "CHAR"))
            length = getattr(column["type"], "length", None)
            if name == key_column:
                value = f"'{prefix}' || {series}"
            elif table == "quotes" and name == "number":
                value = f"'G-' || {series}"
            elif table == "quotes" and name == "created_at":
                value = f"{name} - make_interval(secs => {series})"
            elif name in pk | unique and name != "tenant":
                if not is_text:
                    numbered = column.get("default") is not None or column.get("identity")
                    if numbered or column.get("autoincrement") is True:
                        continue  # serial / identity: the database numbers the copy
                    value = name
                else:
                    value = _synthetic(name, length, series)
            else:
                value = f'"{name}"'
            targets.append(f'"{name}"')
            values.append(value)
        statements.append(
            f'INSERT INTO "{table}" ({", ".join(targets)}) SELECT {", ".join(values)} FROM "{table}", '
            f"generate_series({first}, {last}) AS {series} WHERE \"{key_column}\" = '{template_id}'")
    return statements


def grow_database(url: str, template_id: str, prefix: str, first: int, last: int,
                  checkpoint: bool = True) -> dict[str, int]:
    """Copies the template's rows (``first..last``), then VACUUM ANALYZE (and CHECKPOINT); rows per table."""
    from sqlalchemy import create_engine, inspect, text

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            if last >= first:
                for statement in clone_statements(inspect(conn), template_id, prefix, first, last):
                    conn.execute(text(statement))
            # Settle what the copy left to do (visibility map, statistics, dirty pages) before
            # measuring, so autovacuum and the checkpointer do not run during the requests.
            conn.execute(text("VACUUM (ANALYZE)"))
            if checkpoint:
                conn.execute(text("CHECKPOINT"))
            counts = {}
            for table in inspect(conn).get_table_names():
                counts[table] = int(conn.execute(text(f'SELECT count(*) FROM "{table}"')).scalar_one())
        return counts
    finally:
        engine.dispose()


def grow_blobs(folder: Path, shard: str, first: int, last: int, prefix: str) -> None:
    """The blob-store folder a PDF lookup touches, filled as ``last - first + 1`` more PDFs would fill it.

    The store keeps ``<sha256[:2]>/<sha256>``: 256 folders, so N frozen PDFs put about N / 256
    files beside the measured one. Only its folder is filled (the lookup reads nothing else).
    """
    target = folder / shard
    target.mkdir(parents=True, exist_ok=True)
    for n in range(first // 256, (last + 1) // 256):
        name = shard + hashlib.sha256(f"{prefix}{n}".encode()).hexdigest()[2:]
        fd = os.open(os.path.join(target, name), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.write(fd, b"%PDF-1.7 copy")
        finally:
            os.close(fd)


def wait_portal_knows(url: str, quote_id: str, timeout: float = 30.0) -> None:
    """Until the portal's read model has rows for ``quote_id`` (it learns quotes from the bus)."""
    from sqlalchemy import create_engine, inspect, text

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                tables = [t for t in inspect(conn).get_table_names()
                          if "quote_id" in {c["name"] for c in inspect(conn).get_columns(t)}]
                if tables and any(conn.execute(text(f'SELECT count(*) FROM "{t}" WHERE quote_id = :q'),
                                               {"q": quote_id}).scalar_one() for t in tables):
                    return
            time.sleep(0.1)
        raise RuntimeError(f"the portal did not learn quote {quote_id} within {timeout:.0f}s")
    finally:
        engine.dispose()


# ---------------------------------------------------------------- requests


def _get(url: str) -> float:
    request = urllib.request.Request(url, headers={"User-Agent": common.BROWSER_UA})
    start = time.perf_counter()
    with urllib.request.urlopen(request, timeout=30) as reply:
        reply.read()
        if reply.status != 200:
            raise RuntimeError(f"{url}: HTTP {reply.status}")
    return (time.perf_counter() - start) * 1000


class Stack:
    """One quotes + portal pair on its own broker and databases, a template quote and a measured one.

    Made in two steps so that two stacks start at once: the processes (``__init__``), then
    the quotes once they answer (``ready``)."""

    def __init__(self, name: str, stack: contextlib.ExitStack, var: Path, dbs: dict[str, str], broker: str):
        from quoteflow.auth import new_key
        from quoteflow.launcher import Suite

        self.name = name
        self.prefix = f"g{uuid.uuid4().hex[:6]}-"
        self.tenant = f"t-bench-{uuid.uuid4().hex[:8]}"
        self.dbs = dbs
        self.var = var / name
        self.suite = suite = Suite(var=self.var, broker_url=broker, database_urls=dbs,
                                   api_keys={self.tenant: new_key()},
                                   ports={n: common.free_port() for n in ("quotes", "portal", "signature", "notifier")})
        suite.start(["quotes", "portal"])
        stack.callback(suite.stop)

    def ready(self) -> "Stack":
        from quoteflow import client
        from quoteflow.v1 import common_pb2, quotes_pb2

        suite = self.suite
        suite.wait_healthy(90)
        self.crm = crm = client.quotes(suite.quotes_target, suite.api_keys[self.tenant])
        crm.UpdateSettings(quotes_pb2.Settings(default_validity_days=30,
                                               company=common_pb2.Company(name="Réseaux & Cœurs SAS")))
        crm.UpsertAccount(quotes_pb2.Account(id="acc-1", name="Bœuf & Œufs SARL", address="3 place du Marché"))
        crm.UpsertContact(quotes_pb2.Contact(id="ct-1", account_id="acc-1", name="Zoé Lefèvre",
                                             email="zoe@example.fr"))
        crm.UpsertUser(quotes_pb2.User(id="u-1", name="Antoine Martin", email="antoine@example.com"))
        # The template the data is copied from (5 lines, sent once, never requested), then the
        # quote the requests read (20 lines, newest, so it heads the list at every size).
        self.template = crm.CreateQuote(quotes_pb2.CreateQuoteRequest(
            account_id="acc-1", contact_id="ct-1", assignee_id="u-1", title="Copie",
            lines=[common_pb2.QuoteLine(description=f"Article n°{i} — €uro", quantity="1", unit="u",
                                        unit_price="99.90", vat_rate="20") for i in range(5)]))
        crm.SendQuote(quotes_pb2.SendQuoteRequest(quote_id=self.template.id))
        quote = crm.CreateQuote(quotes_pb2.CreateQuoteRequest(
            account_id="acc-1", contact_id="ct-1", assignee_id="u-1", title="Infrastructure réseau",
            lines=[common_pb2.QuoteLine(description=f"Équipement n°{i} — €uro", quantity="2", unit="u",
                                        unit_price="123.45", vat_rate="20") for i in range(20)]))
        self.sent = crm.SendQuote(quotes_pb2.SendQuoteRequest(quote_id=quote.id))
        self.page_url = self.sent.link_url
        self.pdf_url = self.page_url + "/pdf"
        deadline = time.monotonic() + 30
        while True:  # the portal learns the quote from the bus
            try:
                _get(self.page_url)
                break
            except (urllib.error.URLError, RuntimeError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        wait_portal_knows(self.dbs["portal"], self.template.id)
        self.size = 2  # the template and the measured quote
        self.rows: dict[str, dict[str, int]] = {}
        return self

    def grow(self, size: int, checkpoint: bool) -> None:
        self.rows = {name: grow_database(self.dbs[name], self.template.id, self.prefix, self.size, size - 1,
                                         checkpoint=checkpoint) for name in ("quotes", "portal")}
        grow_blobs(self.var / "blobs", self.sent.pdf_sha256[:2], self.size, size - 1, self.prefix)
        self.size = size

    def request(self, what: str, page_size: int) -> float:
        from quoteflow.v1 import quotes_pb2

        if what == "page":
            return _get(self.page_url)
        if what == "pdf":
            return _get(self.pdf_url)
        start = time.perf_counter()
        listed = self.crm.ListQuotes(quotes_pb2.ListQuotesRequest(page_size=page_size))
        spent = (time.perf_counter() - start) * 1000
        if len(listed.quotes) != page_size:
            raise RuntimeError(f"ListQuotes returned {len(listed.quotes)} quotes, not {page_size}")
        return spent


WHAT = ("page", "list", "pdf")


def measure(small: Stack, large: Stack, repetitions: int, page_size: int) -> dict[str, dict[str, float]]:
    """Each request to the small and the large stack in turn, so load from elsewhere hits both alike.

    Lower quartile (the cost of the work itself, less what other processes' bursts add on a
    shared 2-core machine) and median, in ms, per stack and request.
    """
    times = {stack.name: {what: [] for what in WHAT} for stack in (small, large)}
    for i in range(repetitions + 3):
        for what in WHAT:
            for stack in ((small, large) if i % 2 else (large, small)):
                spent = stack.request(what, page_size)
                if i >= 3:  # the first rounds warm caches and connections
                    times[stack.name][what].append(spent)
    result: dict[str, dict[str, float]] = {}
    for name, by_what in times.items():
        result[name] = {what: common.percentile(v, 25) for what, v in by_what.items()}
        result[name].update({f"{what}_median": statistics.median(v) for what, v in by_what.items()})
    return result


# ---------------------------------------------------------------- the run


def _stacks(stack: contextlib.ExitStack, var: Path, quick: bool) -> tuple[Stack, Stack]:
    """Two stacks started at once: PostgreSQL databases each, and a private RabbitMQ vhost each or,
    with --quick, each its own embedded (folder) broker: the broker only carries quote.sent to the
    portal before the measure, never a measured request, and a vhost costs seconds of rabbitmqctl."""
    from tests.support.backends import private_databases, private_vhost

    names = ("small", "large")
    dbs = stack.enter_context(private_databases([f"{n}_{db}" for n in names for db in ("quotes", "portal")],
                                                "qf_bench"))
    stacks = [Stack(n, stack, var, {db: dbs[f"{n}_{db}"] for db in ("quotes", "portal")},
                    "" if quick else stack.enter_context(private_vhost("qf_bench"))) for n in names]
    from concurrent.futures import ThreadPoolExecutor

    # Registered last, run first: both stacks get SIGTERM at once, then each suite waits for its own.
    stack.callback(lambda: [p.send_signal(signal.SIGTERM) for s in stacks for p in s.suite.processes.values()
                            if p.poll() is None])
    started = time.perf_counter()
    with ThreadPoolExecutor(2) as pool:  # both wait for their services and seed their quotes at once
        small, large = pool.map(Stack.ready, stacks)
    print(f"growth: both stacks up and seeded in {time.perf_counter() - started:.1f} s", flush=True)
    return small, large


def run(quick: bool = False) -> list[dict]:
    base = 10 if quick else 100
    page_size = min(base, 50)  # every size lists a full page
    repetitions = 10 if quick else 30
    var = common.SCRATCH / "growth"
    shutil.rmtree(var, ignore_errors=True)
    sizes: dict[int, dict] = {}
    seconds_seeding = 0.0
    with contextlib.ExitStack() as stack:
        small, large = _stacks(stack, var, quick)
        for multiple in MULTIPLES:
            size = base * multiple
            started = time.perf_counter()
            if multiple == MULTIPLES[0]:
                small.grow(size, checkpoint=not quick)
            large.grow(size, checkpoint=not quick)
            seconds_seeding += time.perf_counter() - started
            print(f"growth: large stack at {size} quotes (seeded in {time.perf_counter() - started:.1f} s)",
                  flush=True)
            time.sleep(0.1 if quick else 0.5)
            got = measure(small, large, repetitions, page_size)
            sizes[multiple] = {"quotes": size, "small_quotes": small.size, "rows": large.rows, **got}
            shown = {name: {k: round(v, 2) for k, v in values.items()} for name, values in got.items()}
            print(f"growth: {json.dumps(shown)}", flush=True)
    return _figures(sizes, repetitions, seconds_seeding, page_size, quick)


def _figures(sizes: dict[int, dict], repetitions: int, seconds_seeding: float, page_size: int,
             quick: bool = False) -> list[dict]:
    size = (f"QUICK SIZE (smallest {sizes[MULTIPLES[0]]['quotes']} quotes instead of 100, list pages of as many, "
            f"{repetitions} requests, embedded broker instead of RabbitMQ; run without --quick for the budget's "
            "figures). ") if quick else ""
    label = {
        "page": "portal page GET /d/<token> (read model: links + versions)",
        "list": f"ListQuotes(page_size={page_size}) over gRPC, newest first with view counts",
        "pdf": "PDF download GET /d/<token>/pdf (frozen PDF from the blob store; writes a download event)",
    }
    figures = []
    for what in WHAT:
        same = sizes[MULTIPLES[0]]
        for multiple in MULTIPLES[1:]:
            at = sizes[multiple]
            big, small = at["large"], at["small"]
            figures.append(common.figure(
                f"growth_{what}_{multiple}x_ms", big[what], small[what], "ms", TARGET,
                median_ms=round(big[f"{what}_median"], 2), baseline_median_ms=round(small[f"{what}_median"], 2),
                note=(f"{size}{label[what]}: lower quartile of {repetitions} requests to a stack holding {at['quotes']} "
                      f"quotes vs the same request to a second stack holding {at['small_quotes']}, alternated "
                      f"(medians {big[f'{what}_median']:.1f} vs {small[f'{what}_median']:.1f} ms; with both at "
                      f"{same['quotes']} quotes the ratio was {same['large'][what] / same['small'][what]:.2f}). "
                      f"Rows of the large stack: quotes DB {_rows(at['rows'].get('quotes', {}))}; portal DB "
                      f"{_rows(at['rows'].get('portal', {}))}; its blob-store folder of the PDF holds what "
                      f"{at['quotes']} frozen PDFs put there (1/256 of them). Seeding took "
                      f"{seconds_seeding:.0f} s in all."),
                quotes=at["quotes"], smallest_quotes=at["small_quotes"]))
    return figures


def _rows(counts: dict[str, int]) -> str:
    shown = {k: v for k, v in counts.items() if v and k not in ("alembic_version",)}
    return ", ".join(f"{k} {v}" for k, v in sorted(shown.items())) or "—"


def main() -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    print(json.dumps(run(quick=args.quick), ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
