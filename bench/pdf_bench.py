"""Quote PDF: borb (render_quote_pdf) against the same document drawn with reportlab.

Same run, same snapshots (20 and 300 lines), same content, same fonts (DejaVu Sans,
subset-embedded by both), same pagination (row heights measured the same way and sliced
by the adapter's own ``_paginate``). Target (DESIGN.md §7): borb ≤ 5 × reportlab.

    .venv/bin/python bench/pdf_bench.py [--quick]
"""

from __future__ import annotations

import argparse
import io
import math
import pathlib
import statistics
import sys
import time
import typing

ROOT = pathlib.Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from quoteflow import typeset  # noqa: E402
from services.quotes.adapters import pdf as adapter  # noqa: E402
from tests.unit.quotes_pdf.snapshots import make_snapshot  # noqa: E402

TARGET = 5.0


# ---------------------------------------------------------------- reportlab baseline


def _reportlab_fonts() -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if "DejaVu" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("DejaVu", str(typeset.SANS)))
        pdfmetrics.registerFont(TTFont("DejaVu-Bold", str(typeset.SANS_BOLD)))


def render_reportlab(snapshot: typing.Any) -> bytes:
    """The quote drawn with reportlab's canvas: same blocks, table slices, totals, footer."""
    from reportlab.lib.colors import HexColor, black, white
    from reportlab.lib.utils import simpleSplit
    from reportlab.pdfbase.pdfmetrics import stringWidth
    from reportlab.pdfgen.canvas import Canvas

    _reportlab_fonts()
    navy, grey, rule, stripe = (
        HexColor("#1F3A5F"),
        HexColor("#5B6470"),
        HexColor("#C8CDD3"),
        HexColor("#F2F4F7"),
    )
    W, H, MX = adapter.PAGE_W, adapter.PAGE_H, adapter.MARGIN_X
    CW = adapter.CONTENT_W
    currency = snapshot.totals.currency or "EUR"
    out = io.BytesIO()
    c = Canvas(out, pagesize=(W, H), invariant=1)
    c.setTitle(f"Devis {snapshot.number}")

    def font(bold: bool) -> str:
        return "DejaVu-Bold" if bold else "DejaVu"

    def lines_of(text: str, size: float, bold: bool, width: float) -> list[str]:
        return simpleSplit(" ".join(text.split(" ")), font(bold), size, width) or [""]

    def block(x: float, top: float, width: float, runs: list[tuple], align: str = "left") -> float:
        """runs: (text, size, bold, color); returns the height drawn."""
        y = top
        for text, size, bold, color in runs:
            if not text:
                continue
            c.setFont(font(bold), size)
            c.setFillColor(color)
            for line in lines_of(text, size, bold, width):
                y -= math.ceil(size * adapter.LEADING)
                if align == "right":
                    c.drawRightString(x + width, y + math.ceil(size * adapter.LEADING) - size, line)
                else:
                    c.drawString(x, y + math.ceil(size * adapter.LEADING) - size, line)
        return top - y

    company, account, contact, assignee = (
        snapshot.company,
        snapshot.account,
        snapshot.contact,
        snapshot.assignee,
    )
    half = (CW - 24) // 2
    right_x = W - MX - half
    y = H - adapter.MARGIN_TOP

    page_no = [1]
    pages: list[int] = []

    # pagination first (N is printed on every page)
    widths = adapter._column_widths(adapter.TABLE_COLUMNS, CW)
    pad_x, pad_y = adapter.CELL_PAD
    size = adapter.TABLE_SIZE
    rows = []
    for line in snapshot.lines:
        discount = adapter._dec(line.discount_percent, "discount")
        rows.append(
            (
                line.description + (f" (réf.\u00a0{line.product_ref})" if line.product_ref else ""),
                adapter.quantity(line.quantity),
                line.unit,
                adapter.money(line.unit_price, currency),
                adapter.percent(line.discount_percent) if discount else "",
                adapter.percent(line.vat_rate),
                adapter.money(line.total_ht, currency),
            )
        )
    wrapped = [lines_of(r[0], size, False, widths[0] - 2 * pad_x) for r in rows]
    heights = [len(w) * math.ceil(size * adapter.LEADING) + 2 * pad_y for w in wrapped]
    header_h = math.ceil(size * adapter.LEADING) + 2 * pad_y

    def footer(n: int, total: int) -> None:
        c.setFont("DejaVu", 7)
        c.setFillColor(grey)
        c.drawString(MX, adapter.FOOTER_Y + 2, f"{company.name} — Devis {snapshot.number}")
        c.drawRightString(W - MX, adapter.FOOTER_Y + 2, f"Page {n} / {total}")

    # header blocks
    h1 = block(
        MX,
        y,
        half,
        [(company.name, 13, True, navy)]
        + [(line, 9, False, grey) for line in adapter._address_lines(company.address)]
        + [(f"SIRET : {company.siret}", 9, False, grey), (f"N° TVA : {company.vat_number}", 9, False, grey)],
    )
    h2 = block(
        right_x,
        y,
        half,
        [
            (f"Devis {snapshot.number}", 18, True, navy),
            (f"Date d'émission : {adapter.french_date(snapshot.issued_on)}", 9, False, black),
            (f"Valable jusqu'au : {adapter.french_date(snapshot.valid_until)}", 9, False, black),
        ],
        align="right",
    )
    y -= max(h1, h2) + 20
    h1 = block(
        MX,
        y - 9,
        half,
        [
            ("Votre interlocuteur", 8, True, grey),
            (assignee.name, 9, True, black),
            (assignee.email, 9, False, black),
            (assignee.phone, 9, False, black),
        ],
    )
    client_runs = [("Client", 8, True, grey), (account.name, 9, True, black)]
    client_runs += [(line, 9, False, black) for line in adapter._address_lines(account.address)]
    client_runs += [(f"À l'attention de {contact.name}", 9, False, black), (contact.email, 9, False, grey)]
    h2 = block(right_x + 10, y - 9, half - 20, client_runs) + 17
    c.setStrokeColor(rule)
    c.rect(right_x, y - h2, half, h2, stroke=1, fill=0)
    y -= max(h1 + 9, h2) + 18
    if snapshot.title:
        y -= block(MX, y, CW, [(f"Objet : {snapshot.title}", 10, True, black)]) + 8

    slices = adapter._paginate(
        heights, header_h, y - adapter.BODY_BOTTOM, H - adapter.MARGIN_TOP - adapter.BODY_BOTTOM
    )
    # The same page decisions as the adapter: totals block, terms lines and signature box
    # each go to a new page when they do not fit (run() checks the page counts match).
    body_top, body_bottom = H - adapter.MARGIN_TOP, adapter.BODY_BOTTOM
    row_h = header_h
    vat_h = row_h * (1 + len(snapshot.totals.vat))
    totals_h = sum(math.ceil(s * adapter.LEADING) + 10 for s in (9, 9, 10))
    terms = [line for p in snapshot.terms.split("\n") if p.strip() for line in lines_of(p, 8, False, CW)]
    line_h = math.ceil(8 * adapter.LEADING)
    last_y = (y if len(slices) == 1 else body_top) - header_h - sum(heights[i] for i in slices[-1])
    plan_y, extra_pages = last_y, 0
    if plan_y - 16 - max(vat_h, totals_h) < body_bottom:
        plan_y, extra_pages = body_top, extra_pages + 1
    else:
        plan_y -= 16
    plan_y -= max(vat_h, totals_h)
    for height, gap in [(math.ceil(10 * adapter.LEADING), 20)] + [(line_h, 3)] * len(terms) + [(95, 20)]:
        if plan_y - gap - height < body_bottom:
            plan_y, extra_pages, gap = body_top, extra_pages + 1, 0
        plan_y -= gap + height
    total_pages = len(slices) + extra_pages

    def room_for(height: float, gap: float) -> float:
        """Move to a new page if needed; returns the y to draw from."""
        nonlocal y
        if y - gap - height < body_bottom:
            footer(page_no[0], total_pages)
            c.showPage()
            page_no[0] += 1
            y = body_top
            return y
        y -= gap
        return y

    xs = [MX]
    for w in widths:
        xs.append(xs[-1] + w)

    def table_row(
        top: float,
        texts: typing.Sequence[str],
        lines0: list[str],
        h: float,
        bold: bool,
        fill: typing.Any,
        color: typing.Any,
    ) -> None:
        if fill is not None:
            c.setFillColor(fill)
            c.rect(MX, top - h, CW, h, stroke=0, fill=1)
        if not bold:
            c.setStrokeColor(rule)
            c.line(MX, top - h, MX + CW, top - h)
        c.setFont(font(bold), size)
        c.setFillColor(color)
        base = top - pad_y - size
        for i, line in enumerate(lines0):
            c.drawString(xs[0] + pad_x, base - i * math.ceil(size * adapter.LEADING), line)
        for col in range(1, len(texts)):
            text = texts[col]
            if adapter.TABLE_ALIGN[col] == "right":
                c.drawRightString(xs[col + 1] - pad_x, base, text)
            else:
                c.drawString(xs[col] + pad_x, base, text)

    for n, part in enumerate(slices):
        if n:
            footer(page_no[0], total_pages)
            c.showPage()
            page_no[0] += 1
            y = H - adapter.MARGIN_TOP
        table_row(y, adapter.TABLE_HEADERS, [adapter.TABLE_HEADERS[0]], header_h, True, navy, white)
        y -= header_h
        for k, i in enumerate(part):
            table_row(y, rows[i], wrapped[i], heights[i], False, stripe if k % 2 == 1 else None, black)
            y -= heights[i]

    # VAT breakdown and totals
    room_for(max(vat_h, totals_h), 16)
    vat_w, totals_w = 250, 210
    vx = [MX, MX + vat_w / 3, MX + 2 * vat_w / 3, MX + vat_w]
    c.setFillColor(navy)
    c.rect(MX, y - row_h, vat_w, row_h, stroke=0, fill=1)
    c.setFont("DejaVu-Bold", size)
    c.setFillColor(white)
    for i, title in enumerate(("Taux TVA", "Base HT", "Montant TVA")):
        c.drawRightString(vx[i + 1] - pad_x, y - pad_y - size, title)
    vy = y - row_h
    c.setFont("DejaVu", size)
    for amount in snapshot.totals.vat:
        c.setFillColor(black)
        for i, text in enumerate(
            (
                adapter.percent(amount.rate),
                adapter.money(amount.base_ht, currency),
                adapter.money(amount.vat, currency),
            )
        ):
            c.drawRightString(vx[i + 1] - pad_x, vy - pad_y - size, text)
        c.setStrokeColor(rule)
        c.line(MX, vy - row_h, MX + vat_w, vy - row_h)
        vy -= row_h
    tx = W - MX - totals_w
    ty = y
    for label, value, strong in (
        ("Total HT", snapshot.totals.total_ht, False),
        ("TVA", snapshot.totals.total_vat, False),
        ("Total TTC", snapshot.totals.total_ttc, True),
    ):
        s = 10 if strong else 9
        h = math.ceil(s * adapter.LEADING) + 10
        if strong:
            c.setFillColor(navy)
            c.rect(tx, ty - h, totals_w, h, stroke=0, fill=1)
        else:
            c.setStrokeColor(rule)
            c.line(tx, ty - h, tx + totals_w, ty - h)
        c.setFont(font(strong), s)
        c.setFillColor(white if strong else black)
        c.drawString(tx + 6, ty - 5 - s, label)
        c.drawRightString(tx + totals_w - 6, ty - 5 - s, adapter.money(value, currency))
        ty -= h
    y = min(vy, ty)

    # terms (line by line) and signature box
    room_for(math.ceil(10 * adapter.LEADING), 20)
    y -= block(MX, y, CW, [("Conditions", 10, True, navy)])
    for i, line in enumerate(terms):
        room_for(line_h, 3 if i == 0 else 0)
        y -= block(MX, y, CW, [(line, 8, False, grey)])
    room_for(95, 20)
    c.setStrokeColor(HexColor("#8A939E"))
    c.rect(W - MX - 240, y - 95, 240, 95, stroke=1, fill=0)
    c.setFont("DejaVu-Bold", 9)
    c.setFillColor(black)
    c.drawString(W - MX - 232, y - 7 - 9, "Bon pour accord, date et signature")
    footer(page_no[0], total_pages)
    c.showPage()
    c.save()
    return out.getvalue()


# ---------------------------------------------------------------- timing


def _medians_ms(
    a: typing.Callable[[], bytes], b: typing.Callable[[], bytes], repetitions: int
) -> tuple[float, float, bytes, bytes]:
    """Median times of ``a`` and ``b``, interleaved so machine load hits both alike, and their last outputs."""
    times_a, times_b = [], []
    outputs = [b"", b""]
    for _ in range(repetitions):
        for index, (fn, times) in enumerate(((a, times_a), (b, times_b))):
            start = time.perf_counter()
            outputs[index] = fn()
            times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times_a), statistics.median(times_b), outputs[0], outputs[1]


def run(quick: bool = False) -> list[dict]:
    """Median render times for 20 and 300 lines, borb vs reportlab, in this process."""
    results = []
    # --quick: the same documents, fewer repetitions (the 300-line one twice: about 2 s of a 1-minute budget)
    plan = {20: 5 if quick else 21, 300: 2 if quick else 7}
    # warm-up: font subsetting/loading happens once per process for both libraries
    adapter.render_quote_pdf(make_snapshot(1))
    render_reportlab(make_snapshot(1))
    for n_lines, repetitions in plan.items():
        snapshot = make_snapshot(n_lines, number=f"BENCH-{n_lines}")
        borb_ms, rl_ms, borb_pdf, rl_pdf = _medians_ms(
            lambda: adapter.render_quote_pdf(snapshot), lambda: render_reportlab(snapshot), repetitions
        )
        ratio = borb_ms / rl_ms
        results.append(
            {
                "name": f"quote_pdf_{n_lines}_lines_ms",
                "value": round(borb_ms, 1),
                "baseline": round(rl_ms, 1),
                "unit": "ms",
                "ratio": round(ratio, 2),
                "target": f"<= {TARGET:g}",
                "met": ratio <= TARGET,
                "pages": [_page_count(borb_pdf), _page_count(rl_pdf)],
                "bytes": [len(borb_pdf), len(rl_pdf)],
                "repetitions": repetitions,
            }
        )
    return results


def _page_count(data: bytes) -> int:
    import pypdf

    return len(pypdf.PdfReader(io.BytesIO(data)).pages)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = parser.parse_args()
    results = run(quick=args.quick)
    for r in results:
        print(
            f"{r['name']}: borb {r['value']} ms, reportlab {r['baseline']} ms, "
            f"ratio {r['ratio']} (target {r['target']}) {'met' if r['met'] else 'NOT MET'}; "
            f"pages borb/reportlab {r['pages'][0]}/{r['pages'][1]}, "
            f"bytes {r['bytes'][0]}/{r['bytes'][1]}, n={r['repetitions']}"
        )
    return 0 if all(r["met"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
