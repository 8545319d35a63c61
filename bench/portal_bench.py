"""Portal under gunicorn, req/s with ``wrk`` on loopback, each beside its baseline in the same run.

* the quote page ``GET /d/<token>`` vs a bare Flask app returning the same bytes,
  under the same gunicorn settings (services/portal/gunicorn.conf.py for both):
  target ≥ 0.5 ×;
* a client's visit as a browser makes it: the page, then the view beacon its script
  posts (``POST /d/<token>/vu`` with the page's own view id and CSRF token, which
  records the view): visits/s against the same bare page, target ≥ 0.5 × (measured
  only when the page carries a beacon; where a plain GET records the view, the page
  figure already is the visit);
* the PDF download ``GET /d/<token>/pdf?vue=…`` vs a static file of the same size
  served by the same server (the portal's own gunicorn and app with one extra route
  that only sends the file): target ≥ 0.8 ×.

The portal runs as in production: PostgreSQL (a private database), its outbox relay
publishing to RabbitMQ (a private vhost), the signature service running (a view of a
quote awaiting signature tells it "opened"), the read model fed with a ``quote.sent``
envelope through the portal's own consumer handler and a real frozen PDF. wrk sends a
browser's User-Agent (requests from machines record nothing). The run counts the
outbox rows one request of each kind wrote and the messages it put in the quotes queue
(a download's fact goes straight to RabbitMQ), and says so in the results.

    .venv/bin/python bench/portal_bench.py [--quick]
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import common  # noqa: E402

PAGE_TARGET = ">= 0.5"
PDF_TARGET = ">= 0.8"
GUNICORN_CONF = ROOT / "services" / "portal" / "gunicorn.conf.py"
STATIC_ROUTE = "/bench-static/<path:filename>"

# wrk script: each connection GETs the page, then POSTs the beacon with that page's view id
# and CSRF token (read from the page's data- attributes, as portal.js does), and so on.
VISIT_LUA = r'''
local threads = {}
function setup(thread) table.insert(threads, thread) end

function init(args)
  page_path = args[1]
  pending = {}
  beacons, counted, pages = 0, 0, 0
end

local function encode(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

-- wrk.format uses the headers it is given instead of the -H ones (User-Agent): add them back.
local function headers_with(extra)
  local all = {}
  for name, value in pairs(wrk.headers) do all[name] = value end
  for name, value in pairs(extra) do all[name] = value end
  return all
end

request = function()
  local beacon = table.remove(pending, 1)
  if beacon then
    return wrk.format("POST", beacon.url,
      headers_with({["Content-Type"] = "application/x-www-form-urlencoded"}), beacon.body)
  end
  return wrk.format("GET", page_path)
end

response = function(status, headers, body)
  if status == 200 and body then
    local url = body:match('data%-view%-url="([^"]+)"')
    local view = body:match('data%-view%-id="([^"]+)"')
    local csrf = body:match('data%-csrf="([^"]+)"')
    if url and view and csrf then
      pages = pages + 1
      table.insert(pending, {url = url, body = "csrf_token=" .. encode(csrf) .. "&vue=" .. encode(view)})
    end
  elseif status == 204 then
    beacons = beacons + 1
    if headers["X-Quoteflow-View"] == "counted" then counted = counted + 1 end
  end
end

function done(summary, latency, requests)
  local b, c, p = 0, 0, 0
  for _, t in ipairs(threads) do
    b = b + t:get("beacons"); c = c + t:get("counted"); p = p + t:get("pages")
  end
  io.write(string.format("VISIT pages %d beacons %d counted %d\n", p, b, c))
end
'''


# ---------------------------------------------------------------- the apps gunicorn serves


def portal_app():
    """The portal's own app (services.portal.wsgi) plus one route sending a file from BENCH_STATIC_DIR."""
    from flask import send_from_directory

    from services.portal.wsgi import app

    folder = os.environ["BENCH_STATIC_DIR"]

    def bench_static(filename: str):
        return send_from_directory(folder, filename, conditional=True, max_age=None)

    app.add_url_rule(STATIC_ROUTE, "bench_static", bench_static)
    return app


def portal_app_unrecorded():
    """The same app with its download facts switched off (``FactWriter.write`` does nothing): what
    the PDF route costs without recording the download, to say in the results what the recording costs."""
    app = portal_app()
    app.extensions["portal"].facts.write = lambda envelopes: None
    return app


class _NoPortal:
    """What gunicorn.conf.py's worker hooks call on the app's portal: nothing to start or close here."""

    def start(self) -> None:
        pass

    def close(self) -> None:
        pass


def bare_app():
    """A bare Flask app answering one page: the bytes of the portal's quote page (BENCH_BARE_PAGE)."""
    from flask import Flask

    app = Flask("bare")
    app.extensions["portal"] = _NoPortal()
    page = Path(os.environ["BENCH_BARE_PAGE"]).read_text(encoding="utf-8")

    @app.get("/d/<token>")
    def quote_page(token: str):
        return page

    return app


# ---------------------------------------------------------------- seeding


def quote_sent(tenant: str, n_lines: int, blobs) -> tuple:
    """A quote.sent envelope for a real quote (``n_lines`` lines, its frozen PDF put in ``blobs``)."""
    from quoteflow.envelope import Envelope, rfc3339, utcnow
    from quoteflow.v1 import common_pb2, events_pb2
    from services.quotes.adapters.pdf import render_quote_pdf
    from tests.unit.quotes_pdf.snapshots import make_snapshot

    snap = make_snapshot(n_lines, number=f"DV-2026-{secrets.randbelow(100000):05d}")
    assignee = common_pb2.Party(id="u-1", name="Hélène Martin", email="helene.martin@example.fr")
    snap.assignee.CopyFrom(assignee)
    pdf = render_quote_pdf(snap)
    pdf_sha = blobs.put(pdf)
    token = secrets.token_urlsafe(32)
    sent = events_pb2.QuoteSent(
        quote_id=snap.quote_id, number=snap.number, version=1, kind="send",
        recipient=common_pb2.Party(id=snap.contact.id, name=snap.contact.name, email=snap.contact.email),
        assignee=assignee, link_url=f"http://127.0.0.1/d/{token}",
        link_token_sha256=hashlib.sha256(token.encode()).hexdigest(),
        expires_at=rfc3339(utcnow() + timedelta(days=30)), pdf_sha256=pdf_sha,
        signature_requested=True, snapshot=snap, subject=f"Devis {snap.number}", template="envoi")
    envelope = Envelope.wrap(sent, source="quoteflow/quotes", subject=f"quote/{snap.quote_id}", tenant=tenant)
    return envelope, {"token": token, "pdf": pdf, "pdf_sha256": pdf_sha, "number": snap.number,
                      "quote_id": snap.quote_id, "lines": n_lines}


def seed(env: dict[str, str], tenant: str, n_lines: int = 20) -> tuple:
    """Feeds one quote.sent through the portal's consumer handler; returns (envelope, quote), the quote
    with the bytes of its page (``quote["page"]``, as the portal's app answers a browser: the bare app's)."""
    from services.portal.bootstrap import bootstrap
    from services.portal.config import PortalConfig
    from services.portal.entrypoints.consumer import make_handler
    from services.portal.entrypoints.web import create_app

    with environment(env):
        portal = bootstrap(PortalConfig.from_env())
    try:
        envelope, quote = quote_sent(tenant, n_lines, portal.blobs)
        make_handler(portal.handle)(envelope)
        reply = create_app(portal=portal).test_client().get(
            f"/d/{quote['token']}", headers={"User-Agent": common.BROWSER_UA})
        if reply.status_code != 200:
            raise RuntimeError(f"the portal's app did not show the seeded quote (HTTP {reply.status_code})")
        quote["page"] = reply.data
        return envelope, quote
    finally:
        portal.close()


@contextlib.contextmanager
def environment(env: dict[str, str]):
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def publish_sent(suite, envelope) -> None:
    """Publishes the quote.sent on the bus, for the signature service."""
    from quoteflow.bus import Publisher

    publisher = Publisher(suite.broker_url)
    try:
        publisher.publish(envelope.type, envelope.to_json(), envelope.id)
    finally:
        publisher.close()


def signature_knows(suite, envelope, tenant: str, timeout: float = 30.0) -> bool:
    """True once the signature service knows the request of the published quote.sent."""
    import grpc

    from quoteflow import client
    from quoteflow.v1 import signature_pb2

    stub = client.signature(suite.signature_target, suite.api_keys[tenant])
    quote_id = envelope.data["quote_id"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            stub.GetRequest(signature_pb2.GetRequestRequest(quote_id=quote_id), timeout=5)
            return True
        except grpc.RpcError:
            time.sleep(0.1)
    return False


def outbox_counts(database_url: str) -> dict[str, int]:
    """Rows in the portal's outbox by event type, and how many are not yet published."""
    from sqlalchemy import text

    from quoteflow.db import make_engine

    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT type, count(*), count(*) FILTER (WHERE published_at IS NULL) "
                                     "FROM outbox GROUP BY type")).all()
    finally:
        engine.dispose()
    counts = {row[0]: int(row[1]) for row in rows}
    counts["unpublished"] = sum(int(row[2]) for row in rows)
    return counts


def backends(database_url: str) -> list[int]:
    """Process ids of the PostgreSQL backends connected to this database (the portal's pools, its relays)."""
    from sqlalchemy import text

    from quoteflow.db import make_engine

    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            return [int(pid) for pid in conn.execute(text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )).scalars()]
    finally:
        engine.dispose()


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time the processes used so far (/proc; a process gone counts nothing)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def context_switches(pids: list[int]) -> int:
    """Context switches (voluntary and not) of every thread of the processes so far (/proc)."""
    total = 0
    for pid in pids:
        for status in Path(f"/proc/{pid}/task").glob("*/status"):
            try:
                lines = status.read_text().splitlines()
            except OSError:
                continue
            total += sum(int(line.split()[1]) for line in lines if "ctxt_switches:" in line)
    return total


ON_THE_BUS = "messages in the quotes queue"


def written(database_url: str, broker_url: str) -> dict[str, int]:
    """The outbox counts once settled, and ``ON_THE_BUS``: the messages waiting in the quotes queue
    (nobody consumes it during the run), which every portal event reaches -- through the outbox and
    its relay, or spooled and published a group at a time (a download's fact, services/portal/handlers.py,
    quoteflow/outbox.py FactWriter) -- as do the signature service's ("opened")."""
    from quoteflow.bus import connect
    from quoteflow.topology import queue_name

    counts = settled_outbox(database_url)
    time.sleep(0.2)  # a download's fact leaves the spool within PORTAL_FACTS_LINGER_MS (50 ms) of its request
    with connect(broker_url) as conn:
        counts[ON_THE_BUS] = conn.default_channel.queue_declare(queue_name("quotes"), passive=True).message_count
    return counts


def rabbitmq_pids() -> list[int]:
    """The RabbitMQ server's processes (the Erlang VM), for its CPU time per request."""
    found = subprocess.run(["pgrep", "-f", "beam.smp.*rabbit"], capture_output=True, text=True).stdout.split()
    return [int(pid) for pid in found]


def settled_outbox(database_url: str, timeout: float = 2.0) -> dict[str, int]:
    """The outbox counts once the relays published everything (or after ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    counts = outbox_counts(database_url)
    while counts["unpublished"] and time.monotonic() < deadline:
        time.sleep(0.1)
        counts = outbox_counts(database_url)
    return counts


def _writes(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: after.get(k, 0) - before.get(k, 0) for k in after
            if k != "unpublished" and after.get(k, 0) != before.get(k, 0)}


# ---------------------------------------------------------------- servers and requests


@contextlib.contextmanager
def gunicorn(app: str, env: dict[str, str], log: Path):
    """Starts ``gunicorn -c services/portal/gunicorn.conf.py <app>`` on a free loopback port (without
    waiting: see ``common.wait_http``); yields (URL, process); stops it."""
    port = common.free_port()
    env = {**env, "PORTAL_HTTP_ADDRESS": f"127.0.0.1:{port}"}
    with open(log, "ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF), app], cwd=ROOT, env=env,
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield f"http://127.0.0.1:{port}", process
    finally:
        common.stop_process(process, 20)


def entered_together(stack: contextlib.ExitStack, *managers) -> list:
    """Enters context managers at the same time (each in a thread: a vhost and databases take seconds
    apiece); their exits, also at the same time, go on ``stack``. Returns what each yielded."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(len(managers)) as pool:
        futures = [pool.submit(manager.__enter__) for manager in managers]
        entered = [(manager, future) for manager, future in zip(managers, futures) if future.exception() is None]

    def exit_all(*exc_info) -> None:
        with ThreadPoolExecutor(len(entered) or 1) as pool:
            for done in [pool.submit(manager.__exit__, None, None, None) for manager, _ in entered]:
                done.result()

    stack.push(exit_all)
    for future in futures:
        future.result()  # the first failure, once what did enter will be left on the way out
    return [future.result() for future in futures]


def stop_together(processes) -> None:
    """SIGTERM to each process (its group), then waits for them all: one grace period, not one each."""
    import signal

    for process in processes:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        common.stop_process(process, 20)


def http(url: str, data: bytes | None = None) -> tuple[int, dict, bytes]:
    headers = {"User-Agent": common.BROWSER_UA}
    if data is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status, dict(reply.headers), reply.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def beacon_of(page: str) -> tuple[str, dict[str, str]] | None:
    """The view beacon the page's script would post: (path, form), or None when the page has none."""
    found = {name: re.search(rf'data-{name}="([^"]*)"', page) for name in ("view-url", "view-id", "csrf")}
    if not all(found.values()):
        return None
    return found["view-url"].group(1), {"csrf_token": found["csrf"].group(1), "vue": found["view-id"].group(1)}


# ---------------------------------------------------------------- the run


def run(quick: bool = False) -> list[dict]:
    from quoteflow.auth import new_key
    from quoteflow.launcher import Suite
    from tests.support.backends import private_databases, private_vhost

    common.ensure_wrk()
    rounds, seconds = (1, 1) if quick else (3, 5)
    work = common.SCRATCH / "portal"
    shutil.rmtree(work, ignore_errors=True)
    (work / "static").mkdir(parents=True)
    log = work / "gunicorn.log"
    tenant = "t-bench-" + uuid.uuid4().hex[:8]
    with contextlib.ExitStack() as stack:
        broker, dbs = entered_together(stack, private_vhost("qf_bench"),
                                       private_databases(["portal", "signature"], "qf_bench"))
        suite = Suite(var=work / "var", broker_url=broker, database_urls=dbs, api_keys={tenant: new_key()},
                      ports={"signature": common.free_port(), "portal": common.free_port()},
                      extra_env={"PORTAL_SECRET_KEY": secrets.token_urlsafe(32)})
        suite.start(["signature"])
        stack.callback(suite.stop)
        env = {**suite.env("portal"), "BENCH_STATIC_DIR": str(work / "static")}
        envelope, quote = seed(env, tenant)  # while the signature service starts
        suite.wait_healthy(90)
        publish_sent(suite, envelope)
        static_name = "same-size.pdf"
        (work / "static" / static_name).write_bytes(os.urandom(len(quote["pdf"])))
        (work / "page.html").write_bytes(quote["page"])
        bare_env = {**env, "BENCH_BARE_PAGE": str(work / "page.html")}
        portal_url, portal_master = stack.enter_context(gunicorn("bench.portal_bench:portal_app()", env, log))
        bare_url, bare_master = stack.enter_context(gunicorn("bench.portal_bench:bare_app()", bare_env, log))
        unrecorded_url, unrecorded_master = stack.enter_context(
            gunicorn("bench.portal_bench:portal_app_unrecorded()", env, log))
        common.wait_http(portal_url + "/healthz", 60, portal_master)
        knows = signature_knows(suite, envelope, tenant)
        page_url = f"{portal_url}/d/{quote['token']}"
        counts = [written(env["DATABASE_URL"], broker)]
        status, _, page = http(page_url)
        counts.append(written(env["DATABASE_URL"], broker))
        if status != 200 or quote["number"].encode() not in page:
            raise RuntimeError(f"the portal page did not show the quote (HTTP {status})")
        beacon = beacon_of(page.decode("utf-8"))
        beacon_reply = ""
        if beacon is not None:
            status_b, headers_b, _ = http(urllib.parse.urljoin(page_url, beacon[0]),
                                          urllib.parse.urlencode(beacon[1]).encode())
            beacon_reply = f"HTTP {status_b} {headers_b.get('X-Quoteflow-View', '')}".strip()
        counts.append(written(env["DATABASE_URL"], broker))
        pdf_url = page_url + "/pdf" + (f"?vue={urllib.parse.quote(beacon[1]['vue'])}" if beacon else "")
        status_pdf, _, pdf = http(pdf_url)
        counts.append(written(env["DATABASE_URL"], broker))
        if status_pdf != 200 or hashlib.sha256(pdf).hexdigest() != quote["pdf_sha256"]:
            raise RuntimeError(f"the PDF download is not the frozen PDF (HTTP {status_pdf})")
        writes = {"page": _writes(counts[0], counts[1]), "beacon": _writes(counts[1], counts[2]),
                  "pdf": _writes(counts[2], counts[3])}
        if len(page) != len(quote["page"]):
            raise RuntimeError(f"the bare page ({len(quote['page'])} B) is not the size of the portal's "
                               f"({len(page)} B)")
        common.wait_http(bare_url + "/d/warm", 60, bare_master)

        lua = work / "visit.lua"
        lua.write_text(VISIT_LUA, encoding="utf-8")
        runs = {"page": dict(url=page_url), "bare": dict(url=f"{bare_url}/d/{quote['token']}"),
                "pdf": dict(url=pdf_url), "static": dict(url=f"{portal_url}/bench-static/{static_name}"),
                "pdf_unrecorded": dict(url=pdf_url.replace(portal_url, unrecorded_url, 1))}
        if beacon is not None:
            runs["visit"] = dict(url=page_url, script=lua, script_args=[urllib.parse.urlsplit(page_url).path])
        for name, spec in runs.items():  # warm-up: imports, pools, template cache, gRPC channel
            if quick:
                for _ in range(10):
                    http(spec["url"])
            else:
                common.run_wrk(seconds=1, **spec)
        totals = {name: {"requests": 0, "seconds": 0.0, "non_2xx": 0, "socket_errors": 0, "visits": 0,
                         "counted": 0, "runs": [], "cpu_workers": 0.0, "cpu_database": 0.0, "cpu_broker": 0.0,
                         "switches": 0}
                  for name in runs}
        broker_pids = rabbitmq_pids()  # this machine's RabbitMQ (the bench's vhost is the only one busy)
        # CPU seconds per request, from /proc: the figure the other loads of a shared machine move least.
        # PostgreSQL backends come and go with the pools' overflow: those new during a run count whole.
        common.wait_http(unrecorded_url + "/healthz", 60, unrecorded_master)
        workers = {"portal": common.children(portal_master.pid), "bare": common.children(bare_master.pid),
                   "pdf_unrecorded": common.children(unrecorded_master.pid)}
        for _ in range(rounds):  # interleaved, so drift hits project and baseline alike
            for name, spec in runs.items():
                pids = workers.get(name, workers["portal"])
                database = backends(env["DATABASE_URL"]) if name != "bare" else []
                before = cpu_seconds(pids), cpu_seconds(database), cpu_seconds(broker_pids), context_switches(pids)
                got = common.run_wrk(seconds=seconds, **spec)
                t = totals[name]
                t["cpu_workers"] += cpu_seconds(pids) - before[0]
                t["switches"] += context_switches(pids) - before[3]
                t["cpu_broker"] += cpu_seconds(broker_pids) - before[2]
                if database:
                    after = sorted(set(database) | set(backends(env["DATABASE_URL"])))
                    t["cpu_database"] += cpu_seconds(after) - before[1]
                for key in ("requests", "seconds", "non_2xx", "socket_errors"):
                    t[key] += got[key]
                visit = re.search(r"VISIT pages (\d+) beacons (\d+) counted (\d+)", got["output"])
                if visit:
                    t["visits"] += int(visit.group(2))
                    t["counted"] += int(visit.group(3))
                t["runs"].append({"rps": got["rps"], "latency_ms": got["latency_ms"]})
        final = written(env["DATABASE_URL"], broker)
        figures = _figures(totals, rounds, seconds, quote, page, writes, final, beacon_reply, knows)
        # What bounds a missed figure: py-spy on the portal's workers (and the signature service)
        # during one more wrk run of that request, after the measured ones.
        what = {"portal_quote_page_rps": "page", "portal_page_visit_rps": "visit", "portal_pdf_download_rps": "pdf"}
        if quick:  # no profiles (each takes a run of its own); every process stops at once
            stop_together([portal_master, bare_master, unrecorded_master, *suite.processes.values()])
        for f in figures:
            if quick or f["met"] or what.get(f["name"]) not in runs:
                continue
            name = what[f["name"]]
            pids = {f"portal-worker-{i}": pid for i, pid in enumerate(common.children(portal_master.pid))}
            if name == "visit":
                pids["signature"] = suite.processes["signature"].pid
            with common.Profiles(pids, work / f"profile-{name}") as profiles:
                common.run_wrk(seconds=3, **runs[name])
            summaries = {who: common.summarize_profile(path) for who, path in profiles.files.items()}
            if any(summaries.values()):
                f["bounds"] = (f"py-spy on the workers during one more {name} run (3 s, {load_of(runs[name])}):\n\n"
                               + "\n".join(f"- {who}: {text}" for who, text in summaries.items() if text))
    return figures


def load_of(spec: dict) -> str:
    return "wrk -t1 -c16" + (", visits" if spec.get("script") else "")


def _figures(totals, rounds, seconds, quote, page, writes, final, beacon_reply, signature_knows) -> list[dict]:
    rps = {name: (t["requests"] / t["seconds"] if t["seconds"] else 0.0) for name, t in totals.items()}
    problems = {name: f"{t['non_2xx']} non-2xx, {t['socket_errors']} socket errors"
                for name, t in totals.items() if t["non_2xx"] or t["socket_errors"]}
    load = f"wrk -t1 -c16 with a browser User-Agent, {rounds} × {seconds} s per URL, interleaved"
    server = (f"gunicorn -c services/portal/gunicorn.conf.py ({os.environ.get('PORTAL_WORKERS', '2')} gthread "
              f"workers × {os.environ.get('PORTAL_THREADS', '8')} threads, a SO_REUSEPORT socket per worker), "
              f"PostgreSQL, relay to RabbitMQ")
    if not signature_knows:
        server += "; the signature service did not learn the quote (RecordOpened answers NotFound)"

    def described(w: dict[str, int]) -> str:
        outbox = ", ".join(f"{n} {k}" for k, n in w.items() if k != ON_THE_BUS) or "nothing"
        return f"{outbox} to the outbox and put {w.get(ON_THE_BUS, 0)} message(s) in the quotes queue"

    def cpu_ms(name: str, per: str = "requests") -> dict[str, float]:
        """CPU milliseconds per request (per visit for ``per="visits"``): gunicorn workers, PostgreSQL,
        RabbitMQ."""
        t = totals[name]
        count = t[per] or 1
        return {"workers": round(1000 * t["cpu_workers"] / count, 3),
                "database": round(1000 * t["cpu_database"] / count, 3),
                "broker": round(1000 * t["cpu_broker"] / count, 3),
                "worker_context_switches": round(t["switches"] / count, 1)}

    def cpu_text(name: str, baseline: str, per: str = "requests") -> str:
        own, base = cpu_ms(name, per), cpu_ms(baseline)
        return (f"CPU per {per[:-1]}: {own['workers']} ms in the portal's workers + {own['database']} ms in "
                f"PostgreSQL + {own['broker']} ms in RabbitMQ, against {base['workers']} ms in the {baseline} "
                f"baseline's workers (+ {base['broker']} ms in RabbitMQ)")

    def err(*names):
        found = [f"{n}: {problems[n]}" for n in names if n in problems]
        return {"error": "; ".join(found)} if found else {}

    events = {k: v for k, v in final.items() if k not in ("unpublished", ON_THE_BUS)}
    def versus(name: str, own: str, base: str, target: str, note: str, **extra) -> dict:
        """req/s of ``own`` against ``base``, measured in the same run, with their CPU per request."""
        return common.figure(
            name, rps[own], rps[base], "req/s", target, note=note, writes_per_request=writes[own],
            cpu_ms_per_request={"portal": cpu_ms(own), base: cpu_ms(base)},
            runs={"portal": totals[own]["runs"], base: totals[base]["runs"]}, **err(own, base), **extra)

    figures = [versus(
        "portal_quote_page_rps", "page", "bare", PAGE_TARGET,
        f"GET /d/<token>, {quote['lines']} lines, {len(page)} B; one GET wrote {described(writes['page'])}. "
        f"Bare: the same bytes from a one-route Flask app. {cpu_text('page', 'bare')}. "
        f"Per request the page reads its link and version state from the rows its worker keeps while "
        f"PostgreSQL notifies it of every change (services/portal/adapters/fresh.py; a miss is one "
        f"autocommit round trip on the driver), plus the portal's checks (rate limit, token hash, CSRF "
        f"and view-id HMACs, security headers, latency metric); the template is rendered once per link "
        f"and state, then only the view id changes. "
        f"{server}. Load: {load}.")]
    if "visit" in totals:
        t = totals["visit"]
        visits = t["visits"] / t["seconds"] if t["seconds"] else 0.0
        figures.append(common.figure(
            "portal_page_visit_rps", visits, rps["bare"], "visits/s", PAGE_TARGET,
            note=(f"A visit = GET /d/<token> then the view beacon its script posts (POST …/vu with that page's "
                  f"view id and CSRF token; {beacon_reply}), which wrote {described(writes['beacon'])} and asks "
                  f"the signature service to record 'opened'. {t['counted']} of {t['visits']} beacons counted a "
                  f"view. Baseline: the bare page, one request per visit (a visit is two requests, the second "
                  f"a durable write). {cpu_text('visit', 'bare', 'visits')}. {server}. Load: {load}."),
            writes_per_request=writes["beacon"], cpu_ms_per_visit=cpu_ms("visit", "visits"),
            runs={"portal": t["runs"], "bare": totals["bare"]["runs"]},
            **err("visit", "bare")))
    figures.append(versus(
        "portal_pdf_download_rps", "pdf", "static", PDF_TARGET,
        f"GET /d/<token>/pdf?vue=… ({len(quote['pdf'])} B frozen PDF, which each worker keeps in memory once "
        f"read from the blob store); one download "
        f"wrote {described(writes['pdf'])}. Static: a file of the same size sent by send_from_directory "
        f"from the same app and workers. {cpu_text('pdf', 'static')}; context switches of the workers' "
        f"threads per request: {cpu_ms('pdf')['worker_context_switches']} against "
        f"{cpu_ms('static')['worker_context_switches']} for the static file. What bounds it: every download is "
        f"a fact written down before the bytes go out -- the link state (from memory), the event built and "
        f"appended to the worker's spool file (one write(2)) -- then, on the worker's facts thread, the "
        f"events of each 50 ms published to RabbitMQ as one confirmed message in CloudEvents' batch format "
        f"(quoteflow/outbox.py FactWriter; the outbox only if the broker does not confirm), which the "
        f"broker appends to two quorum queues (quotes' and notifier's) on disk; the static file does none "
        f"of this. The same route with the recording switched off (a third "
        f"gunicorn, the same app with FactWriter.write doing nothing): {rps['pdf_unrecorded']:.0f} req/s "
        f"= {common.ratio_of(rps['pdf_unrecorded'], rps['static']):.2f}× static, "
        f"{cpu_ms('pdf_unrecorded')['workers']} ms of CPU per request in its workers: the recording costs "
        f"{cpu_ms('pdf')['workers'] - cpu_ms('pdf_unrecorded')['workers']:.3f} ms in the workers and "
        f"{cpu_ms('pdf')['broker'] - cpu_ms('static')['broker']:.3f} ms in RabbitMQ per download, and "
        f"{cpu_ms('pdf')['worker_context_switches'] - cpu_ms('pdf_unrecorded')['worker_context_switches']:.1f} "
        f"more context switches. "
        f"Outbox rows written in the run: {events}, {final.get('unpublished', 0)} unpublished once "
        f"the relays settled (2 s at most); {final.get(ON_THE_BUS, 0)} messages reached the quotes queue (a "
        f"batch message carries the downloads of its moment). "
        f"{server}. Load: {load}.",
        unrecorded={"rps": round(rps["pdf_unrecorded"], 1), "cpu_ms_per_request": cpu_ms("pdf_unrecorded"),
                    "runs": totals["pdf_unrecorded"]["runs"]}))
    return figures


def main() -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    print(json.dumps(run(quick=args.quick), ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
