"""The benchmark harness's own logic: targets, figures, percentiles, wrk output, results files (no timing)."""
from __future__ import annotations

import json

import pytest

from bench import common

WRK_OUTPUT = """Running 2s test @ http://127.0.0.1:8080/d/abc
  1 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     6.41ms    2.10ms  30.07ms   80.00%
    Req/Sec     1.70k   120.00     1.90k    75.00%
  Latency Distribution
     50%    6.24ms
     75%   12.35ms
     90%  850.00us
     99%    1.20s
  3373 requests in 2.00s, 44.43MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 7
Requests/sec:   1684.24
Transfer/sec:     22.19MB
VISIT pages 10 beacons 9 counted 9
"""


@pytest.mark.parametrize("text, parsed", [
    ("<= 100 ms", ("<=", 100.0, "ms")),
    (">= 0.5", (">=", 0.5, "")),
    ("<=5", ("<=", 5.0, "")),
    (" > 2 req/s", (">", 2.0, "req/s")),
    ("flat", None),
    ("", None),
])
def test_targets_are_read_from_their_text(text, parsed):
    assert common.parse_target(text) == parsed


def test_a_target_with_a_unit_applies_to_the_value_a_bare_one_to_the_ratio():
    assert common.meets("<= 100 ms", value=64.0, ratio=30.0) is True
    assert common.meets("<= 100 ms", value=117.0, ratio=0.5) is False
    assert common.meets(">= 0.5", value=10.0, ratio=0.07) is False
    assert common.meets(">= 0.5", value=10.0, ratio=0.5) is True
    assert common.meets(">= 0.5", value=10.0, ratio=None) is False
    assert common.meets("whatever", value=1.0, ratio=1.0) is False


def test_a_figure_carries_its_ratio_and_whether_it_is_met():
    f = common.figure("portal_quote_page_rps", 900.0, 1800.0, "req/s", ">= 0.5", note="n", runs=[1])
    assert {k: f[k] for k in common.FIELDS} == {
        "name": "portal_quote_page_rps", "value": 900.0, "baseline": 1800.0, "unit": "req/s", "ratio": 0.5,
        "target": ">= 0.5", "met": True}
    assert f["note"] == "n" and f["runs"] == [1]
    missed = common.figure("signature_to_mail_p99_ms", 116.9123, 7.1, "ms", "<= 100 ms")
    assert missed["met"] is False and missed["value"] == 116.9 and missed["ratio"] == 16.467


def test_a_figure_without_a_baseline_has_no_ratio():
    f = common.figure("x", 3.0, 0.0, "ms", ">= 1")
    assert f["ratio"] is None and f["met"] is False


def test_what_a_module_returns_is_normalized_into_figures():
    figures = common.normalize("pdf", [
        {"name": "quote_pdf_20_lines_ms", "value": 99.5, "baseline": 38.4, "unit": "ms", "target": "<= 5"},
        {"value": 1},
    ])
    first, second = figures
    assert first["ratio"] == pytest.approx(2.591, abs=0.001) and first["met"] is True and first["bench"] == "pdf"
    assert second["met"] is False and "without a name" in second["error"]
    kept = common.normalize("pdf", [{"name": "a", "value": 1, "baseline": 2, "ratio": 9, "met": False}])[0]
    assert kept["ratio"] == 9 and kept["met"] is False  # what the module said stays


@pytest.mark.parametrize("raw", ["nope", {"name": "a"}, [1, 2], None])
def test_anything_but_a_list_of_dicts_is_an_error_figure(raw):
    (figure,) = common.normalize("bus", raw)
    assert figure["met"] is False and figure["bench"] == "bus" and "not a list of dicts" in figure["error"]


def test_an_error_figure_has_every_field():
    f = common.error_figure("list", "bench/list_bench.py is missing")
    assert set(common.FIELDS) <= set(f) and f["met"] is False and f["value"] is None
    assert f["name"] == "list: not measured" and f["error"] == "bench/list_bench.py is missing"


def test_percentiles_interpolate_between_samples():
    samples = [5.0, 1.0, 3.0, 2.0, 4.0]
    assert common.percentile(samples, 50) == 3.0
    assert common.percentile(samples, 0) == 1.0 and common.percentile(samples, 100) == 5.0
    assert common.percentile(samples, 25) == 2.0
    assert common.percentile([1.0, 2.0], 99) == pytest.approx(1.99)
    assert common.percentile([7.0], 99) == 7.0
    with pytest.raises(ValueError):
        common.percentile([], 50)


def test_discovery_finds_bench_modules_expected_ones_first(tmp_path):
    for name in ("zeta_bench.py", "portal_bench.py", "pdf_bench.py", "common.py", "growth_bench.py"):
        (tmp_path / name).write_text("")
    found = common.discover(tmp_path)
    assert found == ["pdf", "portal", "growth", "zeta"]
    assert common.missing(found) == ["signature", "bus", "list"]


def test_wrk_output_is_parsed():
    parsed = common.parse_wrk(WRK_OUTPUT)
    assert parsed["requests"] == 3373 and parsed["seconds"] == 2.0 and parsed["rps"] == 1684.24
    assert parsed["non_2xx"] == 7 and parsed["socket_errors"] == 3
    assert parsed["latency_ms"] == {"50": 6.24, "75": 12.35, "90": 0.85, "99": 1200.0}


def test_wrk_is_only_pointed_at_loopback():
    with pytest.raises(ValueError):
        common.run_wrk("http://192.168.1.10/", seconds=1)


def test_results_are_written_as_markdown_and_json(tmp_path):
    figures = [
        common.figure("portal_quote_page_rps", 120.0, 1700.0, "req/s", ">= 0.5", bench="portal",
                      note="GET | page", bounds="Babel formatting per line"),
        common.error_figure("list", "bench/list_bench.py is missing"),
    ]
    run = {"command": "python -m bench --quick", "quick": True, "seconds": 42.0,
           "machine": {"cpu": "AMD EPYC", "cores": 2, "ram_gib": 23.5, "python": "3.11.7", "os": "Linux",
                       "date": "2026-11-29T05:00:00+00:00", "commit": "abc1234", "load_before": [0.5, 0.4, 0.3],
                       "load_after": [1.0, 0.5, 0.3]},
           "benches": {"portal": {"seconds": 30.0, "status": "ok", "log": "bench/out/portal.log"},
                       "list": {"seconds": 0, "status": "missing"}},
           "setup": ["installed Debian's `wrk` with apt-get"]}
    md, js = common.write_results(figures, run, tmp_path)
    data = json.loads(js.read_text(encoding="utf-8"))
    assert [f["name"] for f in data] == ["portal_quote_page_rps", "list: not measured"]
    for f in data:
        assert set(common.FIELDS) <= set(f) and isinstance(f["met"], bool)
    text = md.read_text(encoding="utf-8")
    for expected in ("| CPU | AMD EPYC |", "| cores | 2 |", "| RAM | 23.5 GiB |", "| Python | 3.11.7 |",
                     "2026-11-29T05:00:00+00:00", "0.5 0.4 0.3 / 1.0 0.5 0.3",
                     "| portal | portal_quote_page_rps | 120 | 1700 | req/s | 0.071 | >= 0.5 | **no** |",
                     "- **portal_quote_page_rps**: GET | page", "### portal_quote_page_rps",
                     "Babel formatting per line",
                     "bench/list_bench.py is missing", "0 of 2 figures meet their target",
                     "| list | missing |", "installed Debian's `wrk` with apt-get"):
        assert expected in text, expected


def test_the_same_explanation_is_written_once(tmp_path):
    figures = [common.figure(f"signature_to_mail_p{p}_ms", 300.0, 10.0, "ms", "<= 100 ms", bounds="hops")
               for p in (50, 99)]
    run = {"command": "python -m bench", "quick": False, "seconds": 1.0,
           "machine": {"cpu": "x", "cores": 2, "ram_gib": 1, "python": "3.11", "os": "Linux", "date": "d",
                       "commit": ""}}
    text = common.render_markdown(figures, run)
    assert text.count("hops") == 1 and "Same as signature_to_mail_p50_ms above." in text


def test_a_profile_is_summed_up_by_library_and_project_function(tmp_path):
    raw = tmp_path / "profile.txt"
    raw.write_text(
        "thread (1): w;handle (services/portal/entrypoints/web.py:10);money (services/portal/adapters/"
        "formatting.py:25);format_currency (babel/numbers.py:715) 6\n"
        "thread (1): w;handle (services/portal/entrypoints/web.py:10);render (jinja2/environment.py:1) 3\n"
        "thread (2): relay;wait (threading.py:331) 50\n"
        "thread (1): w;handle (services/portal/entrypoints/web.py:10) 1\n", encoding="utf-8")
    text = common.summarize_profile(raw)
    assert text.startswith("10 on-CPU samples")  # the waiting thread is not counted
    assert "Babel formatting 60 %" in text and "Jinja2 templates 30 %" in text and "project code 10 %" in text
    assert "money (services/portal/adapters/formatting.py) 60 %" in text
    assert "handle (services/portal/entrypoints/web.py) 40 %" in text
    assert common.summarize_profile(tmp_path / "absent.txt") == ""
