"""A 300-line quote over many pages, and borb's side effects checked in a fresh process."""

from __future__ import annotations

import pathlib
import re
import subprocess
import sys
import textwrap

import pytest

from services.quotes.adapters.pdf import render_quote_pdf
from tests.unit.quotes_pdf.snapshots import eur, make_snapshot, pdf_pages

ROOT = pathlib.Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def large():
    snapshot = make_snapshot(300)
    return snapshot, render_quote_pdf(snapshot)


def test_three_hundred_lines_span_pages_with_the_header_on_each(large):
    snapshot, data = large
    pages = pdf_pages(data)
    n = len(pages)
    assert n >= 5
    for i, page in enumerate(pages, start=1):
        assert f"Page {i} / {n}" in page
    table_pages = [p for p in pages if "REF-" in p]
    assert len(table_pages) >= 5
    for page in table_pages:
        assert "Désignation" in page and "Total HT" in page
    text = "\n".join(pages)
    # every line printed once, in order, none lost at a page break
    refs = re.findall(r"REF-(\d{4})", text)
    assert refs == [f"{i:04d}" for i in range(300)]
    assert "n°300" in text
    assert eur(snapshot.totals.total_ttc) in pages[-1]
    assert "Bon pour accord, date et signature" in pages[-1]


def test_signal_handlers_survive_import_and_render_in_a_fresh_process():
    """Without opt_out, borb's first PDF.write replaces SIGINT/SIGTERM; with it, nothing changes."""
    script = textwrap.dedent("""
        import io, signal, sys
        sys.modules["requests"] = None  # no network, ever, from this child
        def handlers():
            return (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM))
        start = handlers()
        import borb.pdf
        assert handlers() == start, "import"
        if sys.argv[1] == "adapter":
            from services.quotes.adapters.pdf import render_quote_pdf
            from tests.unit.quotes_pdf.snapshots import eur, make_snapshot, pdf_pages
            render_quote_pdf(make_snapshot(2))
        else:
            doc = borb.pdf.Document(); doc.append_page(borb.pdf.Page())
            borb.pdf.PDF.write(what=doc, where_to=io.BytesIO())
        print("same" if handlers() == start else "replaced")
        """)
    results = {}
    for mode in ("adapter", "plain-borb"):
        done = subprocess.run(
            [sys.executable, "-c", script, mode], cwd=ROOT, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        results[mode] = done.stdout.split()[-1]
    assert results == {"adapter": "same", "plain-borb": "replaced"}
