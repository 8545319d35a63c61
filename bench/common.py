"""What every benchmark shares: figures with their baseline and target, the machine, the results files.

A benchmark is a module ``bench/<name>_bench.py`` with ``run(quick: bool) -> list[dict]``;
each dict is a *figure*: ``name``, ``value``, ``baseline``, ``unit``, ``ratio``
(value / baseline), ``target`` as text and ``met``. A target with a unit
(``"<= 100 ms"``) applies to the value; a bare number (``">= 0.5"``) to the ratio.
"""
from __future__ import annotations

import datetime as _dt
import json
import math
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterable, Sequence

ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = ROOT / "bench"
SCRATCH = BENCH_DIR / "out"  # logs, profiles, servers' output (git-ignored)
QUICK_OUT = ROOT / "var" / "bench"  # results of --quick runs (git-ignored): bench/RESULTS.md keeps default sizes

# The budget of DESIGN.md §7 and issue 9: one module per line, so a missing one is reported.
EXPECTED = ("pdf", "portal", "signature", "bus", "list", "growth")

FIELDS = ("name", "value", "baseline", "unit", "ratio", "target", "met")

_TARGET = re.compile(r"^\s*(<=|>=|<|>|==)\s*([-+]?\d+(?:\.\d+)?)\s*([^\d\s].*)?$")


# ---------------------------------------------------------------- figures


def parse_target(text: str) -> tuple[str, float, str] | None:
    """``"<= 100 ms"`` -> ("<=", 100.0, "ms"); ``">= 0.5"`` -> (">=", 0.5, ""); None if not a target."""
    match = _TARGET.match(text or "")
    if not match:
        return None
    return match.group(1), float(match.group(2)), (match.group(3) or "").strip()


def _compare(op: str, left: float, right: float) -> bool:
    return {"<=": left <= right, ">=": left >= right, "<": left < right, ">": left > right,
            "==": left == right}[op]


def meets(target: str, value: float | None, ratio: float | None) -> bool:
    """Whether ``target`` holds: on the value when the target names a unit, on the ratio otherwise."""
    parsed = parse_target(target)
    if parsed is None:
        return False
    op, bound, unit = parsed
    subject = value if unit else ratio
    if subject is None or (isinstance(subject, float) and math.isnan(subject)):
        return False
    return _compare(op, float(subject), bound)


def ratio_of(value: float | None, baseline: float | None) -> float | None:
    if value is None or baseline in (None, 0):
        return None
    return value / baseline


def _round(x: float | None, digits: int = 3) -> float | None:
    if x is None:
        return None
    if abs(x) >= 100:
        return round(x, 1)
    return round(x, digits)


def figure(name: str, value: float | None, baseline: float | None, unit: str, target: str,
           **extra: Any) -> dict:
    """One result line; ``ratio`` and ``met`` computed here, ``extra`` kept as it is (notes, counts)."""
    ratio = extra.pop("ratio", None)
    if ratio is None:
        ratio = ratio_of(value, baseline)
    result = {"name": name, "value": _round(value), "baseline": _round(baseline), "unit": unit,
              "ratio": _round(ratio), "target": target, "met": meets(target, value, ratio)}
    result.update(extra)
    return result


def error_figure(bench: str, error: str) -> dict:
    """What a benchmark that is missing, failed or ran out of time leaves in the results."""
    return {"name": f"{bench}: not measured", "value": None, "baseline": None, "unit": "", "ratio": None,
            "target": "", "met": False, "bench": bench, "error": error.strip()}


def normalize(bench: str, raw: Any) -> list[dict]:
    """A module's return value as figures: every field present, ratio and met recomputed if missing."""
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        return [error_figure(bench, f"run() returned {type(raw).__name__}, not a list of dicts")]
    figures = []
    for item in raw:
        item = dict(item)
        if "name" not in item:
            figures.append(error_figure(bench, f"a figure without a name: {sorted(item)}"))
            continue
        item.setdefault("value", None)
        item.setdefault("baseline", None)
        item.setdefault("unit", "")
        item.setdefault("target", "")
        if item.get("ratio") is None:
            item["ratio"] = _round(ratio_of(item["value"], item["baseline"]))
        if "met" not in item:
            item["met"] = meets(item["target"], item["value"], item["ratio"])
        item["met"] = bool(item["met"])
        item.setdefault("bench", bench)
        figures.append(item)
    return figures


def percentile(values: Sequence[float], p: float) -> float:
    """Linear-interpolated percentile (``p`` in 0..100) of a non-empty sequence."""
    if not values:
        raise ValueError("percentile of nothing")
    ordered = sorted(values)
    if len(ordered) == 1:
        return float(ordered[0])
    k = (len(ordered) - 1) * p / 100.0
    lo, hi = math.floor(k), math.ceil(k)
    return float(ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo))


# ---------------------------------------------------------------- discovery


def discover(folder: Path = BENCH_DIR) -> list[str]:
    """Benchmark names (``portal`` for bench/portal_bench.py), sorted, expected ones first."""
    found = sorted(p.name[: -len("_bench.py")] for p in Path(folder).glob("*_bench.py"))
    return [n for n in EXPECTED if n in found] + [n for n in found if n not in EXPECTED]


def missing(found: Iterable[str]) -> list[str]:
    return [n for n in EXPECTED if n not in set(found)]


# ---------------------------------------------------------------- the machine


def machine() -> dict:
    """The machine and run the figures come from."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram_gib = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_gib = round(int(line.split()[1]) / 1024 / 1024, 1)
                break
    except OSError:
        pass
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = []
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gib": ram_gib,
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
        "date": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
        "commit": _git_commit(),
        "load_before": load,
    }


def _git_commit() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True,
                               text=True, timeout=10).stdout.strip()
        return head + (" (uncommitted changes)" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return ""


# ---------------------------------------------------------------- results files


def _fmt(x: Any) -> str:
    if x is None:
        return "—"
    if isinstance(x, bool):
        return "yes" if x else "**no**"
    if isinstance(x, float):
        if x == int(x) and abs(x) >= 100:
            return f"{int(x)}"
        return f"{x:g}" if abs(x) < 1e6 else f"{x:.0f}"
    return str(x)


def _load(values) -> str:
    return " ".join(str(x) for x in values) if values else "—"


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(figures: list[dict], run: dict) -> str:
    m = run["machine"]
    lines = [
        "# Benchmark results",
        "",
        f"Written by `{run['command']}` on {m['date']} ({'quick' if run['quick'] else 'default'} sizes, "
        f"{run['seconds']:.0f} s). Every figure is measured beside its baseline in the same run; "
        "absolute numbers drift on a shared machine, the ratios much less. A target with a unit "
        "applies to the value, a bare number to the ratio (value / baseline).",
        "",
        "| machine | |",
        "|---|---|",
        f"| CPU | {m['cpu']} |",
        f"| cores | {m['cores']} |",
        f"| RAM | {m['ram_gib']} GiB |",
        f"| Python | {m['python']} |",
        f"| OS | {m['os']} |",
        f"| date (UTC) | {m['date']} |",
        f"| commit | {m['commit'] or '—'} |",
        f"| load average (1, 5, 15 min) before / after | {_load(m.get('load_before'))} / "
        f"{_load(m.get('load_after'))} |",
        "",
        "| benchmark | figure | value | baseline | unit | ratio | target | met |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for f in figures:
        lines.append("| " + " | ".join(_cell(c) for c in (
            f.get("bench", ""), f["name"], _fmt(f["value"]), _fmt(f["baseline"]), f["unit"] or "",
            _fmt(f["ratio"]), f["target"] or "—", _fmt(bool(f["met"])))) + " |")
    met = sum(1 for f in figures if f["met"])
    lines += ["", f"{met} of {len(figures)} figures meet their target."]
    notes = [(f, f.get("error") or f.get("note") or "") for f in figures]
    notes = [(f, n) for f, n in notes if n]
    if notes:
        lines += ["", "## Notes", ""]
        for f, text in notes:
            lines.append(f"- **{f['name']}**: {text}")
    bounds = [f for f in figures if f.get("bounds")]
    if bounds:
        lines += ["", "## What bounds the figures that miss", ""]
        shown: dict[str, str] = {}
        for f in bounds:
            text = str(f["bounds"]).strip()
            lines.append(f"### {f['name']}")
            lines.append("")
            lines.append(f"Same as {shown[text]} above." if text in shown else text)
            lines.append("")
            shown.setdefault(text, f["name"])
    if run.get("benches"):
        lines += ["", "## Benchmarks run", "", "| benchmark | status | seconds | log |", "|---|---|---|---|"]
        for name, info in run["benches"].items():
            lines.append(f"| {name} | {info.get('status', '')} | {info.get('seconds', '')} | "
                         f"{info.get('log', '') or '—'} |")
    if run.get("setup"):
        lines += ["", "## Setup done by the run", ""] + [f"- {s}" for s in run["setup"]]
    lines.append("")
    return "\n".join(lines)


def write_results(figures: list[dict], run: dict, folder: Path = BENCH_DIR) -> tuple[Path, Path]:
    """Writes RESULTS.md and results.json (a list of figures) into ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    md = folder / "RESULTS.md"
    js = folder / "results.json"
    md.write_text(render_markdown(figures, run), encoding="utf-8")
    js.write_text(json.dumps(figures, ensure_ascii=False, indent=2, default=str) + "\n", encoding="utf-8")
    return md, js


# ---------------------------------------------------------------- processes and tools


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, timeout: float = 30.0, process: subprocess.Popen | None = None) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError as exc:
            last = exc
        time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f}s: {last}")


def stop_process(process: subprocess.Popen, timeout: float = 15.0) -> int:
    """SIGTERM to the process (its own group when it leads one), then SIGKILL after ``timeout``."""
    import signal

    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            process.terminate()
    try:
        return process.wait(timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            process.kill()
        return process.wait()


def setup_notes(folder: Path = SCRATCH) -> list[str]:
    """Tools a benchmark installed this run (written into RESULTS.md by the harness)."""
    path = Path(folder) / "setup-notes.txt"
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


def note_setup(text: str) -> None:
    SCRATCH.mkdir(parents=True, exist_ok=True)
    with open(SCRATCH / "setup-notes.txt", "a", encoding="utf-8") as handle:
        handle.write(text.rstrip() + "\n")


def ensure_wrk() -> str:
    """Path of ``wrk``; installs Debian's package with apt-get when it is missing (and says so)."""
    found = shutil.which("wrk")
    if found:
        return found
    print("bench: wrk is missing; installing Debian's package (apt-get install -y wrk)", file=sys.stderr)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "wrk"]
    if subprocess.run(install, env=env, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, check=False)
        done = subprocess.run(install, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"could not install wrk with apt-get: {done.stderr.strip()[-300:]}")
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError("apt-get installed wrk but it is not on PATH")
    version = subprocess.run([found, "-v"], capture_output=True, text=True).stdout.splitlines()[:1]
    note_setup(f"installed Debian's `wrk` with apt-get ({' '.join(version) or 'wrk'})")
    return found


_WRK_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def parse_wrk(output: str) -> dict:
    """The figures of a ``wrk --latency`` run: requests, seconds, req/s, non-2xx, socket errors, latency ms."""
    result: dict[str, Any] = {"requests": 0, "seconds": 0.0, "rps": 0.0, "non_2xx": 0, "socket_errors": 0,
                              "latency_ms": {}}
    m = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m),", output)
    if m:
        result["requests"] = int(m.group(1))
        result["seconds"] = float(m.group(2)) * _WRK_UNITS[m.group(3)] / 1000.0
    m = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if m:
        result["rps"] = float(m.group(1))
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    if m:
        result["non_2xx"] = int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if m:
        result["socket_errors"] = sum(int(x) for x in m.groups())
    for pct, number, unit in re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.M):
        result["latency_ms"][pct] = round(float(number) * _WRK_UNITS[unit], 3)
    return result


BROWSER_UA = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


def run_wrk(url: str, *, seconds: float, connections: int = 16, threads: int = 1, timeout: float = 10.0,
            headers: dict[str, str] | None = None, script: Path | None = None,
            script_args: Sequence[str] = ()) -> dict:
    """One ``wrk`` run against ``url`` (loopback only), as a browser (User-Agent); parsed figures + output."""
    if not url.startswith(("http://127.", "http://localhost", "http://[::1]")):
        raise ValueError(f"load is sent to loopback addresses only, not {url}")
    command = [ensure_wrk(), f"-t{threads}", f"-c{connections}", f"-d{max(1, int(round(seconds)))}s",
               f"--timeout={int(timeout)}s", "--latency"]
    for name, value in {"User-Agent": BROWSER_UA, **(headers or {})}.items():
        command += ["-H", f"{name}: {value}"]
    if script is not None:
        command += ["-s", str(script)]
    command.append(url)
    if script_args:
        command += ["--", *script_args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + timeout + 30)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip()[-300:]}")
    parsed = parse_wrk(done.stdout)
    parsed["output"] = done.stdout
    return parsed


# ---------------------------------------------------------------- profiles (what bounds a figure)


def children(pid: int) -> list[int]:
    """Direct child processes of ``pid`` (e.g. gunicorn's workers), from /proc."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(x) for x in (task / "children").read_text().split()]
        except OSError:
            continue
    return sorted(set(found))


def py_spy() -> str | None:
    return shutil.which("py-spy") or (str(Path(sys.executable).with_name("py-spy"))
                                      if Path(sys.executable).with_name("py-spy").exists() else None)


class Profiles:
    """``py-spy record`` (raw collapsed stacks, on-CPU samples) on some processes while a block runs."""

    def __init__(self, pids: dict[str, int], folder: Path, rate: int = 250):
        self.pids, self.folder, self.rate = pids, Path(folder), rate
        self.files: dict[str, Path] = {}
        self._running: list[subprocess.Popen] = []

    def __enter__(self) -> "Profiles":
        tool = py_spy()
        if tool is None:
            return self
        self.folder.mkdir(parents=True, exist_ok=True)
        for name, pid in self.pids.items():
            out = self.folder / f"profile-{name}.txt"
            out.unlink(missing_ok=True)
            self.files[name] = out
            self._running.append(subprocess.Popen(
                [tool, "record", "--pid", str(pid), "--rate", str(self.rate), "--format", "raw", "--nonblocking",
                 "--output", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        time.sleep(0.5)
        return self

    def __exit__(self, *exc) -> None:
        import signal

        for spy in self._running:
            spy.send_signal(signal.SIGINT)
        for spy in self._running:
            try:
                spy.wait(30)
            except subprocess.TimeoutExpired:
                spy.kill()
                spy.wait()


_LIBRARIES = (("babel", "Babel formatting"), ("jinja2", "Jinja2 templates"), ("markupsafe", "Jinja2 templates"),
              ("sqlalchemy", "SQLAlchemy"), ("psycopg", "psycopg (PostgreSQL driver)"),
              ("werkzeug", "Flask/Werkzeug"), ("flask", "Flask/Werkzeug"), ("gunicorn", "gunicorn"),
              ("grpc", "gRPC"), ("google/protobuf", "protobuf"), ("kombu", "kombu/amqp (broker)"),
              ("amqp", "kombu/amqp (broker)"), ("pyhanko", "pyHanko (PDF signing)"),
              ("asn1crypto", "pyHanko (PDF signing)"), ("borb", "borb (PDF)"), ("json", "json"),
              ("email", "email (MIME)"), ("smtplib", "smtplib"), ("logging", "logging"),
              ("services/", "project code"), ("quoteflow/", "project code"))


# Leaf frames of a thread that waits (py-spy cannot always tell idle threads apart in a sandbox).
_IDLE = ("wait (threading.py", "Condition.wait", "Event.wait", "select (", "poll (", "epoll",
         "_read (amqp/transport.py", "_serve (grpc/_server.py", "_worker (concurrent/futures/thread.py:81",
         "sleep (", "accept (", "Connection.wait (psycopg", "wait (psycopg", "recv_into (", "readinto (socket")


def _idle(leaf: str) -> bool:
    return any(marker in leaf for marker in _IDLE)


def _library(frame: str) -> str:
    path = frame[frame.rfind("(") + 1:] if "(" in frame else frame
    for marker, label in _LIBRARIES:
        if f"/{marker}" in f"/{path}" or path.startswith(marker):
            return label
    return "other (interpreter, stdlib)"


def summarize_profile(path: Path, top: int = 6) -> str:
    """Where the on-CPU samples of one py-spy raw profile went: by library (self time) and by project
    function (inclusive time), as one line of text."""
    import collections

    by_library: collections.Counter = collections.Counter()
    by_function: collections.Counter = collections.Counter()
    total = 0
    try:
        lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    for line in lines:
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [f for f in stack.split(";") if f and not f.startswith(("process ", "thread "))]
        if not frames or _idle(frames[-1]):
            continue
        total += n
        by_library[_library(frames[-1])] += n
        own = [f for f in frames if "services/" in f or "quoteflow/" in f]
        if own:  # the deepest project function: what the project asked for, whichever library does it
            name = own[-1].split(" (")[0]
            where = own[-1][own[-1].rfind("(") + 1:].split(":")[0]
            by_function[f"{name} ({where})"] += n
    if not total:
        return ""
    libraries = ", ".join(f"{label} {100 * n / total:.0f} %" for label, n in by_library.most_common(top))
    functions = ", ".join(f"{name} {100 * n / total:.0f} %" for name, n in by_function.most_common(top))
    return (f"{total} on-CPU samples; self time by library: {libraries}; by the deepest project function "
            f"on the stack: {functions}")
