"""``python -m bench [--quick] [--only a,b]``: runs every ``bench/*_bench.py`` and writes the results.

Each benchmark runs in its own process (``run(quick)`` of its module), one after
the other so they never load the machine at the same time; one that is missing,
fails or runs out of time is recorded as such and the others still run.
Writes ``bench/RESULTS.md`` and ``bench/results.json`` (``--out`` elsewhere); a ``--quick``
run writes to ``var/bench/`` instead, so it never replaces the committed default-size results.
Logs of each benchmark go to ``bench/out/<name>.log``; each benchmark's elapsed time is printed. Exits 0 whatever the
figures say (``--strict``: 1 when a target is missed): benchmarks are not tests.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # python bench/__main__.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common  # noqa: E402

QUICK_TIMEOUT = 120.0    # seconds one benchmark may take with --quick (the whole run aims at 60)
DEFAULT_TIMEOUT = 480.0  # seconds one benchmark may take at default sizes (the whole run aims at 600)
GRACE = 30.0             # seconds between SIGTERM (clean-up runs) and SIGKILL


def child(name: str, quick: bool, out: str, folder: Path = common.BENCH_DIR) -> int:
    """Runs one benchmark in this process and writes its figures as JSON to ``out``."""
    signal.signal(signal.SIGTERM, _terminate)
    if Path(folder).resolve() == common.BENCH_DIR:
        module = importlib.import_module(f"bench.{name}_bench")
    else:  # benchmarks kept elsewhere (the harness's own tests)
        spec = importlib.util.spec_from_file_location(f"{name}_bench", Path(folder) / f"{name}_bench.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    run = getattr(module, "run", None)
    if not callable(run):
        raise SystemExit(f"bench/{name}_bench.py has no run(quick) function")
    figures = run(quick=quick)
    Path(out).write_text(json.dumps(figures, ensure_ascii=False, default=str), encoding="utf-8")
    return 0


def _terminate(signum, frame):  # the parent's time-out: unwind so servers, vhosts and databases are cleaned up
    raise KeyboardInterrupt(f"signal {signum}")


def run_one(name: str, quick: bool, timeout: float, log_dir: Path,
            folder: Path = common.BENCH_DIR) -> tuple[list[dict], dict]:
    """Runs ``<folder>/<name>_bench.py`` in a child process; its figures, or one error figure."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    with tempfile.NamedTemporaryFile(prefix=f"bench-{name}-", suffix=".json", delete=False) as handle:
        out = Path(handle.name)
    command = [sys.executable, "-m", "bench", "--child", name, "--json", str(out), "--folder", str(folder)]
    command += ["--quick"] if quick else []
    started = time.monotonic()
    status = "ok"
    with open(log_path, "w", encoding="utf-8") as log:
        process = subprocess.Popen(command, cwd=common.ROOT, stdout=log, stderr=subprocess.STDOUT,
                                   env={**os.environ, "PYTHONUNBUFFERED": "1"}, start_new_session=True)
        try:
            code = process.wait(timeout)
        except subprocess.TimeoutExpired:
            status = "timeout"
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(GRACE)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            code = None
    seconds = time.monotonic() - started
    info = {"seconds": round(seconds, 1), "status": status, "log": _shown(log_path)}
    try:
        if status == "timeout":
            return [common.error_figure(name, f"stopped after {timeout:.0f} s (time-out); "
                                              f"see {info['log']}: {_tail(log_path, 3)}")], info
        if code != 0 or not out.exists() or out.stat().st_size == 0:
            info["status"] = "failed"
            return [common.error_figure(name, f"exited with {code}; see {info['log']}: {_tail(log_path, 6)}")], info
        try:
            raw = json.loads(out.read_text(encoding="utf-8"))
        except ValueError as exc:
            info["status"] = "failed"
            return [common.error_figure(name, f"unreadable results: {exc}")], info
        return common.normalize(name, raw), info
    finally:
        out.unlink(missing_ok=True)


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(common.ROOT))
    except ValueError:
        return str(path)


def _tail(path: Path, lines: int) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " / ".join(line.strip() for line in text[-lines:])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: the whole run within about a minute")
    parser.add_argument("--only", default="", help="comma-separated benchmark names (e.g. portal,signature)")
    parser.add_argument("--out", default="", help="folder for RESULTS.md and results.json "
                        f"(default {_shown(common.BENCH_DIR)}/, with --quick {_shown(common.QUICK_OUT)}/)")
    parser.add_argument("--timeout", type=float, default=0.0, help="seconds allowed to one benchmark")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a figure misses its target")
    parser.add_argument("--list", action="store_true", help="list the benchmarks found and exit")
    parser.add_argument("--folder", default=str(common.BENCH_DIR), help=argparse.SUPPRESS)
    parser.add_argument("--logs", default=str(common.SCRATCH), help=argparse.SUPPRESS)
    parser.add_argument("--child", default="", help=argparse.SUPPRESS)
    parser.add_argument("--json", default="", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        return child(args.child, args.quick, args.json, Path(args.folder))

    folder, logs = Path(args.folder).resolve(), Path(args.logs)
    found = common.discover(folder)
    if args.list:
        for name in found:
            print(name)
        for name in common.missing(found):
            print(f"{name} (missing)")
        return 0
    selected = [n.strip() for n in args.only.split(",") if n.strip()] or found
    timeout = args.timeout or (QUICK_TIMEOUT if args.quick else DEFAULT_TIMEOUT)
    command = "python -m bench" + (" --quick" if args.quick else "") + (f" --only {args.only}" if args.only else "")

    (logs / "setup-notes.txt").unlink(missing_ok=True)
    run = {"command": command, "quick": args.quick, "machine": common.machine(), "benches": {}}
    figures: list[dict] = []
    started = time.monotonic()
    for name in selected:
        if name not in found:
            print(f"bench: {name}: bench/{name}_bench.py is missing", flush=True)
            figures.append(common.error_figure(name, f"bench/{name}_bench.py is missing"))
            run["benches"][name] = {"seconds": 0, "status": "missing"}
            continue
        print(f"bench: {name} …", flush=True)
        got, info = run_one(name, args.quick, timeout, logs, folder)
        run["benches"][name] = info
        figures.extend(got)
        for f in got:
            print("  " + summary_line(f), flush=True)
        print(f"  ({name}: {info['seconds']:.1f} s, {info['status']})", flush=True)
    if not args.only:
        for name in common.missing(found):
            figures.append(common.error_figure(name, f"bench/{name}_bench.py is missing"))
            run["benches"][name] = {"seconds": 0, "status": "missing"}
    run["seconds"] = time.monotonic() - started
    run["setup"] = common.setup_notes(logs)
    run["machine"]["load_after"] = common.machine()["load_before"]
    out = Path(args.out) if args.out else (common.QUICK_OUT if args.quick else common.BENCH_DIR)
    md, js = common.write_results(figures, run, out)
    met = sum(1 for f in figures if f["met"])
    elapsed = ", ".join(f"{name} {info['seconds']:.1f} s" for name, info in run["benches"].items())
    print(f"bench: {met} of {len(figures)} figures meet their target ({run['seconds']:.0f} s: {elapsed}); "
          f"wrote {_shown(md)} and {_shown(js)}", flush=True)
    return 1 if args.strict and met < len(figures) else 0


def summary_line(f: dict) -> str:
    if f.get("error"):
        return f"{f['name']}: {f['error'][:300]}"
    fmt = common._fmt
    return (f"{f['name']}: {fmt(f['value'])} {f['unit']} vs {fmt(f['baseline'])} (ratio {fmt(f['ratio'])}, "
            f"target {f['target'] or '—'}) {'met' if f['met'] else 'NOT MET'}")


if __name__ == "__main__":
    sys.exit(main())
