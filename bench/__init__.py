"""Quoteflow's benchmarks: each ``bench/<name>_bench.py`` measures a figure beside its baseline.

``make bench`` (``python -m bench``) runs them all and writes ``bench/RESULTS.md`` and
``bench/results.json``; ``make bench BENCH_ARGS=--quick`` does the same at small sizes.
"""
