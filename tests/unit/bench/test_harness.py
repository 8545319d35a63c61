"""``python -m bench`` runs every benchmark module in its own process and survives the broken ones."""
from __future__ import annotations

import json
import textwrap

from bench import __main__ as harness
from bench import common

GOOD = '''
def run(quick):
    return [{"name": "good_ms", "value": 2.0 if quick else 4.0, "baseline": 1.0, "unit": "ms",
             "target": "<= 5"}]
'''
FAILING = '''
def run(quick):
    raise RuntimeError("the broker is away")
'''
NO_RUN = '''
VALUE = 1
'''
WRONG = '''
def run(quick):
    return "a sentence"
'''
SLOW = '''
import time
def run(quick):
    try:
        time.sleep(60)
    finally:
        print("slow bench cleaned up", flush=True)
'''


def benches(folder, **modules):
    for name, source in modules.items():
        (folder / f"{name}_bench.py").write_text(textwrap.dedent(source), encoding="utf-8")


def results(folder):
    return {f["name"]: f for f in json.loads((folder / "results.json").read_text(encoding="utf-8"))}


def test_every_module_runs_and_the_broken_ones_are_recorded(tmp_path):
    src, out, logs = tmp_path / "benches", tmp_path / "out", tmp_path / "logs"
    src.mkdir()
    benches(src, good=GOOD, failing=FAILING, norun=NO_RUN, wrong=WRONG)
    code = harness.main(["--quick", "--folder", str(src), "--out", str(out), "--logs", str(logs)])
    assert code == 0  # benchmarks never fail the build
    found = results(out)
    good = found["good_ms"]
    assert good["value"] == 2.0 and good["ratio"] == 2.0 and good["met"] is True and good["bench"] == "good"
    assert "the broker is away" in found["failing: not measured"]["error"]
    assert "has no run(quick)" in found["norun: not measured"]["error"]
    assert "not a list of dicts" in found["wrong: not measured"]["error"]
    for name in common.EXPECTED:  # none of the project's benchmarks is in this folder
        assert found[f"{name}: not measured"]["error"] == f"bench/{name}_bench.py is missing"
    assert "the broker is away" in (logs / "failing.log").read_text()
    text = (out / "RESULTS.md").read_text(encoding="utf-8")
    assert "| good | good_ms | 2 | 1 | ms | 2 | <= 5 | yes |" in text
    assert "python -m bench --quick" in text and "| failing | failed |" in text


def test_default_sizes_and_strict_mode(tmp_path):
    src, out, logs = tmp_path / "benches", tmp_path / "out", tmp_path / "logs"
    src.mkdir()
    benches(src, good=GOOD)
    code = harness.main(["--only", "good,absent", "--strict", "--folder", str(src), "--out", str(out),
                         "--logs", str(logs)])
    found = results(out)
    assert found["good_ms"]["value"] == 4.0
    assert found["absent: not measured"]["error"] == "bench/absent_bench.py is missing"
    assert "pdf: not measured" not in found  # --only measures what it names
    assert code == 1  # --strict: a figure missed (the absent one)


def test_a_benchmark_that_runs_out_of_time_is_stopped_and_cleans_up(tmp_path):
    src, out, logs = tmp_path / "benches", tmp_path / "out", tmp_path / "logs"
    src.mkdir()
    benches(src, slow=SLOW, good=GOOD)
    harness.main(["--only", "slow,good", "--timeout", "2", "--folder", str(src), "--out", str(out),
                  "--logs", str(logs)])
    found = results(out)
    assert "time-out" in found["slow: not measured"]["error"]
    assert found["good_ms"]["met"] is True  # the next one still ran
    assert "slow bench cleaned up" in (logs / "slow.log").read_text()  # SIGTERM unwinds its finally blocks


def test_a_quick_run_keeps_the_committed_results_and_prints_each_elapsed_time(tmp_path, monkeypatch, capsys):
    src, quick_out, logs = tmp_path / "benches", tmp_path / "var-bench", tmp_path / "logs"
    src.mkdir()
    benches(src, good=GOOD)
    monkeypatch.setattr(common, "QUICK_OUT", quick_out)
    committed = common.BENCH_DIR / "results.json"
    before = committed.read_bytes() if committed.exists() else None
    assert harness.main(["--quick", "--only", "good", "--folder", str(src), "--logs", str(logs)]) == 0
    assert results(quick_out)["good_ms"]["value"] == 2.0
    assert (committed.read_bytes() if committed.exists() else None) == before
    out = capsys.readouterr().out
    assert "(good: " in out and " s, ok)" in out and "good " in out.splitlines()[-1]
