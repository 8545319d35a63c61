"""Quote PDF adapter: renders a frozen QuoteSnapshot to PDF bytes with borb.

borb is AGPL-3.0 (its licence asks that the "borb" producer line stays in every PDF; we
keep it). borb 3 quirks handled here, each checked against the installed 3.0.9 source:

- Usage statistics: ``UsageStatistics.event()`` (called by every ``PDF.write``) posts to
  borb's endpoint and, on its first call in the main thread, replaces the SIGINT/SIGTERM
  handlers. ``UsageStatistics.opt_out()`` makes ``event()`` return before either.
  Importing borb touches neither. (``event()`` still prints a licence banner to stdout
  once every 64 documents, before its opt-out check.)
- Fonts: the faces of quoteflow.typeset's chain (DejaVu Sans, Bold, Symbola).
  ``TrueTypeFont.from_file`` embeds the TTF it is given, whole: we subset each face with
  fontTools first (a Latin repertoire, plus any other character a document draws; cached
  per process), then replace borb's /W (0 for glyphs whose names are not in the Adobe
  Glyph List, e.g. U+202F) and /ToUnicode (badly padded hex, no code beyond U+FFFF) with
  exact ones; each document's /W finally lists only the glyphs it prints.
- Text: borb's Paragraph splits on every Unicode space (no-break spaces included) and
  paints word by word, and its Chunk takes one font and no reordering: we wrap text
  ourselves and write each line's text operators (glyph ids, a font per piece of the
  chain), in visual order: text extractors (pdfium, poppler, pypdf) reorder right-to-left
  text themselves, and reverse an /ActualText too, so none is written.
- Layout: borb tables neither split across pages nor paint fast (fill and borders cell
  by cell), so tables are rows of our text cells, measured before painting, sliced per
  page with the header row repeated; elements are painted at explicit positions and
  "Page n / N" once N is known.
- Page content streams are bytearrays while painting: borb appends with ``+=`` and
  would copy the whole stream on every append.
- borb caches ``get_size`` with ``functools.cache`` on instances, which keeps every
  element (and its font) alive forever; the caches are cleared after each render.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime
import functools
import hashlib
import io
import logging
import math
import pathlib
import re
import tempfile
import threading
import typing
import zlib
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from babel.dates import format_date
from babel.numbers import format_currency, format_decimal
from borb.pdf import (
    PDF,
    Chunk,
    Color,
    Document,
    HexColor,
    LayoutElement,
    Page,
    Table,
    TrueTypeFont,
    UsageStatistics,
    X11Color,
)
from borb.pdf.primitives import datestr, hexstr, name, stream

from quoteflow.typeset import font_chain, to_unicode_hex

if typing.TYPE_CHECKING:
    from quoteflow.v1 import common_pb2

UsageStatistics.opt_out()  # again before every render: nothing else may opt back in

LOCALE = "fr_FR"

# Characters every quote may print: Latin-1, Latin Extended-A/B, general punctuation
# (narrow no-break space, dashes, quotes, ellipsis), €, ™, arrows, minus, ≤ ≥.
_REPERTOIRE = frozenset(
    list(range(0x20, 0x7F))
    + list(range(0xA0, 0x250))
    + list(range(0x2000, 0x2070))
    + [0x20AC, 0x2122, 0x2190, 0x2192, 0x2212, 0x2264, 0x2265]
)

# A4 in points, margins, the footer band.
PAGE_W, PAGE_H = 595, 842
MARGIN_X = 40
MARGIN_TOP = 40
BODY_BOTTOM = 60  # content stops here; the footer lives below
FOOTER_Y = 26
CONTENT_W = PAGE_W - 2 * MARGIN_X
LEADING = 1.3

TABLE_HEADERS = ("Désignation", "Qté", "Unité", "PU HT", "Remise", "TVA", "Total HT")
TABLE_ALIGN = ("left", "right", "left", "right", "right", "right", "right")
TABLE_COLUMNS = (200, 38, 42, 66, 44, 40, 81)  # relative; the table spans CONTENT_W
TABLE_SIZE = 8
BODY_SIZE = 9
CELL_PAD = (4, 3)  # horizontal, vertical

NAVY = HexColor("#1F3A5F")
GREY = HexColor("#5B6470")
RULE = HexColor("#C8CDD3")
STRIPE = HexColor("#F2F4F7")
WHITE = X11Color.WHITE
BLACK = X11Color.BLACK


# ---------------------------------------------------------------- formatting


def _dec(text: str, field: str) -> Decimal:
    try:
        return Decimal(text.strip() or "0")
    except InvalidOperation as exc:
        raise ValueError(f"{field}: not a decimal: {text!r}") from exc


def money(text: str, currency: str = "EUR") -> str:
    """'1234.56' -> '1 234,56 €' (narrow no-break spaces, as Babel writes it)."""
    return format_currency(_dec(text, "amount"), currency or "EUR", locale=LOCALE)


def percent(text: str) -> str:
    """'5.5' -> '5,5 %' (narrow no-break space before %)."""
    return format_decimal(_dec(text, "rate"), format="#,##0.##", locale=LOCALE) + "\u202f%"


def quantity(text: str) -> str:
    return format_decimal(_dec(text, "quantity"), format="#,##0.###", locale=LOCALE)


def french_date(iso: str) -> str:
    """'2026-11-29' -> '29 novembre 2026'; empty stays empty."""
    if not iso:
        return ""
    return format_date(datetime.date.fromisoformat(iso[:10]), format="long", locale=LOCALE)


# ---------------------------------------------------------------- fonts

_font_lock = threading.Lock()
# borb mutates shared dicts while writing and clears global caches after a render: one render at a time
# (borb is pure Python, so the GIL serialises it anyway).
_render_lock = threading.Lock()
# borb's TrueTypeFont.from_file fails on a font with no glyph beyond U+00FF named in the Adobe Glyph List
# (Symbola names its emoji glyph01234): the symbol face always keeps its arrow.
_BORB_LOADS = frozenset([0x2190])


def _subset_ttf(ttf: bytes, unicodes: typing.Iterable[int]) -> bytes:
    from fontTools import subset
    from fontTools.ttLib import TTFont

    options = subset.Options()
    options.glyph_names = True  # borb reads glyph names while loading the font
    options.layout_features = []  # shaping is done before drawing (quoteflow.typeset)
    options.hinting = False
    options.notdef_outline = True
    options.name_IDs = [0, 1, 2, 3, 4, 5, 6]
    options.drop_tables += ["FFTM"]
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    font = TTFont(io.BytesIO(ttf), recalcTimestamp=False)  # same bytes in every process
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=set(unicodes))
    subsetter.subset(font)
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


def _to_unicode(glyphs: dict[int, int]) -> stream:
    """/ToUnicode: glyph id -> the text it stands for (quoteflow.typeset.reads_as)."""
    pairs = sorted(glyphs.items())
    body = []
    for start in range(0, len(pairs), 100):
        block = pairs[start : start + 100]
        body.append(f"{len(block)} beginbfchar")
        body += [f"<{g:04X}> <{to_unicode_hex(u)}>" for g, u in block]
        body.append("endbfchar")
    text = "\n".join(
        [
            "/CIDInit /ProcSet findresource begin",
            "12 dict begin",
            "begincmap",
            "/CIDSystemInfo <</Registry (Adobe) /Ordering (UCS) /Supplement 0>> def",
            "/CMapName /Adobe-Identity-UCS def",
            "/CMapType 2 def",
            "1 begincodespacerange",
            "<0000> <FFFF>",
            "endcodespacerange",
            *body,
            "endcmap",
            "CMapName currentdict /CMap defineresource pop",
            "end",
            "end",
            "",
        ]
    ).encode("ascii")
    cmap = stream()
    cmap[name("Bytes")] = zlib.compress(text, 9)
    cmap[name("DecodedBytes")] = text
    cmap[name("Filter")] = name("FlateDecode")
    cmap[name("Length")] = len(cmap[name("Bytes")])
    return cmap


@dataclass
class _Font:
    """A subset face as a borb Type0 font (Identity-H: text is written as glyph ids) and its glyph ids."""

    pdf: typing.Any
    gid: dict[str, int]
    widths: list[float]  # per glyph id, in 1/1000 of the font size


def _borb_font(ttf: bytes, bold: bool) -> _Font:
    """Load subset TTF bytes as a borb Type0 font with exact widths, ToUnicode and a subset tag."""
    from fontTools.ttLib import TTFont

    with tempfile.TemporaryDirectory(prefix="quoteflow-font-") as folder:
        path = pathlib.Path(folder) / "font.ttf"  # borb only loads files named *.ttf
        path.write_bytes(ttf)
        font = TrueTypeFont.from_file(path)

    tt = TTFont(io.BytesIO(ttf))
    scale = 1000 / tt["head"].unitsPerEm
    hmtx = tt["hmtx"]
    order = {glyph: i for i, glyph in enumerate(tt.getGlyphOrder())}
    widths = [round(hmtx[g][0] * scale, 2) for g in tt.getGlyphOrder()]
    cmap = tt.getBestCmap()
    gid = {chr(code): order[glyph] for code, glyph in cmap.items()}
    reads: dict[int, int] = {}
    for code, glyph in sorted(cmap.items(), reverse=True):  # a glyph shared by codes reads as the lowest
        reads[order[glyph]] = code
    tag = "".join(chr(65 + b % 26) for b in hashlib.sha256(ttf).digest()[:6])
    base = name(f"{tag}+{font['BaseFont']}")
    descendant = font["DescendantFonts"][0]
    descendant[name("W")] = [0, widths]
    descendant[name("DW")] = widths[0]
    for d in (font, descendant):
        d[name("BaseFont")] = base
    descendant["FontDescriptor"][name("FontName")] = base
    if bold:
        descendant["FontDescriptor"][name("FontWeight")] = 700
    font[name("ToUnicode")] = _to_unicode(reads)
    return _Font(font, gid, widths)


@dataclass(frozen=True)
class _Fonts:
    """The document's subset of each face of the chain, by face key; ``used`` glyph ids per face key."""

    by_face: dict[str, _Font]
    used: dict[str, set[int]] = dataclasses.field(default_factory=dict)

    def for_document(self) -> _Fonts:
        """Shallow copies whose /W can be cut down to the glyphs this document prints."""

        def copy_font(font: _Font) -> _Font:
            doc_font = copy.copy(font.pdf)  # shares the font file and /ToUnicode
            doc_font[name("DescendantFonts")] = [copy.copy(font.pdf["DescendantFonts"][0])]
            return _Font(doc_font, font.gid, font.widths)

        return _Fonts({key: copy_font(font) for key, font in self.by_face.items()},
                      {key: {0} for key in self.by_face})

    def trim_widths(self) -> None:
        """/W for the used glyphs only: borb's writer visits each number (1 400 for the repertoire)."""
        for key, font in self.by_face.items():
            runs: list[typing.Any] = []
            for gid in sorted(self.used[key]):
                if runs and runs[-2] + len(runs[-1]) == gid:
                    runs[-1].append(font.widths[gid])
                else:
                    runs += [gid, [font.widths[gid]]]
            font.pdf["DescendantFonts"][0][name("W")] = runs


@functools.lru_cache(maxsize=8)
def _fonts(extra: frozenset[int]) -> _Fonts:
    """Subset faces for the Latin repertoire plus ``extra`` code points (cached: read-only)."""
    by_face = {}
    with _font_lock:
        for face in font_chain().faces:
            covered = {ord(c) for c in face.advance}
            wanted = ((_REPERTOIRE if face is not font_chain().symbols else _BORB_LOADS) | extra) & covered
            if wanted - _BORB_LOADS:
                by_face[face.key] = _borb_font(_subset_ttf(face.path.read_bytes(), wanted), bold="bold" in face.key)
    return _Fonts(by_face)


def _release_borb_caches() -> None:
    """Drop borb's functools caches (keyed on element instances, never evicted)."""
    from borb.pdf.layout_element.table.fixed_column_width_table import FixedColumnWidthTable as T
    from borb.pdf.layout_element.text.heterogeneous_paragraph import HeterogeneousParagraph

    for owner in (Chunk, HeterogeneousParagraph, Table.TableCell, T):
        for attr in vars(owner).values():
            clear = getattr(attr, "cache_clear", None)
            if clear is not None:
                clear()


_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f]")


# ---------------------------------------------------------------- text element


@dataclass(frozen=True)
class Run:
    """One paragraph of text in one style; wrapped to the width it is given."""

    text: str
    size: int = BODY_SIZE
    bold: bool = False
    color: Color | None = None
    align: str = "left"
    space_before: int = 0


class _Text(LayoutElement):
    """Paragraphs wrapped by us, each line laid out by the font chain (quoteflow.typeset), top-aligned.

    A paragraph that reads from right to left aligns right where the others align left.
    """

    def __init__(self, fonts: _Fonts, runs: typing.Sequence[Run], **box: typing.Any) -> None:
        super().__init__(**box)
        self._fonts = fonts
        self._chain = font_chain()
        self._runs = []
        for r in runs:
            if r.text and r.text.strip():
                text = _CONTROLS.sub(" ", r.text)
                align = "right" if r.align == "left" and self._chain.right_to_left(text) else r.align
                self._runs.append(Run(text, r.size, r.bold, r.color, align, r.space_before))
        self._wrapped: dict[int, list[tuple[str, Run, int]]] = {}

    def _width(self, text: str, run: Run) -> float:
        return self._chain.width(text, run.bold) * run.size

    def _wrap(self, text: str, run: Run, width: float) -> list[str]:
        lines: list[str] = []
        line = ""
        for word in _BREAKING_SPACES.split(text):  # no-break spaces stay inside words
            if not word:
                continue
            candidate = f"{line} {word}" if line else word
            if self._width(candidate, run) <= width:
                line = candidate
                continue
            if line:
                lines.append(line)
            line = ""
            while self._width(word, run) > width and len(word) > 1:  # a word wider than the box
                cut = len(word) - 1
                while cut > 1 and self._width(word[:cut], run) > width:
                    cut -= 1
                lines.append(word[:cut])
                word = word[cut:]
            line = word
        if line:
            lines.append(line)
        return lines

    def lines(self, width: int) -> list[tuple[str, Run, int]]:
        """(text, run, extra space above) per painted line, for a given outer width."""
        if width not in self._wrapped:
            inner = width - self.get_padding_left() - self.get_padding_right()
            out = []
            for run in self._runs:
                for i, line in enumerate(self._wrap(run.text, run, inner)):
                    out.append((line, run, run.space_before if i == 0 else 0))
            self._wrapped[width] = out
        return self._wrapped[width]

    def get_size(self, available_space: typing.Tuple[int, int]) -> typing.Tuple[int, int]:
        width = available_space[0]
        h = sum(math.ceil(run.size * LEADING) + above for _, run, above in self.lines(width))
        return width, h + self.get_padding_top() + self.get_padding_bottom()

    def paint(self, available_space: typing.Tuple[int, int, int, int], page: Page) -> None:
        x, y, w, h_avail = available_space
        _, h = self.get_size((w, h_avail))
        top = y + h_avail
        self._paint_background_and_borders(page=page, rectangle=(x, top - h, w, h))
        self._LayoutElement__previous_paint_box = (x, top - h, w, h)
        left = x + self.get_padding_left()
        inner = w - self.get_padding_left() - self.get_padding_right()
        cursor = top - self.get_padding_top()
        for text, run, above in self.lines(w):
            cursor -= above
            baseline = cursor - run.size
            cursor -= math.ceil(run.size * LEADING)
            pieces = self._chain.pieces(text, run.bold)
            text_w = sum(sum(map(p.face.advance.__getitem__, p.text)) for p in pieces) * run.size
            dx = {"left": 0.0, "right": inner - text_w, "middle": (inner - text_w) / 2}[run.align]
            color = BLACK if run.color is None else run.color
            ops = [f"BT {_rgb(color)} rg {round(left + dx, 2)} {baseline} Td"]
            for piece in pieces:
                font = self._fonts.by_face[piece.face.key]
                gids = [font.gid.get(c, 0) for c in piece.text]
                self._fonts.used[piece.face.key].update(gids)
                ops.append(f"/{_font_resource(page, font.pdf)} {run.size} Tf <{''.join(f'{g:04X}' for g in gids)}> Tj")
            ops.append("ET")
            LayoutElement._append_to_content_stream(page=page, bytes_or_string="\n".join(ops) + "\n")


def _font_resource(page: Page, font: typing.Any) -> str:
    """The name of ``font`` in the page's /Resources /Font, added on first use (found by identity: borb's
    Chunk compares whole font dictionaries)."""
    fonts = page.setdefault(name("Resources"), {}).setdefault(name("Font"), {})
    for key, value in fonts.items():
        if value is font:
            return key
    key = f"F{len(fonts) + 1}"
    fonts[name(key)] = font
    return key


_BREAKING_SPACES = re.compile("[ \u1680\u2000-\u200a\u2028\u2029\u205f\u3000]+")


# ---------------------------------------------------------------- layout


class _Canvas:
    """A cursor flowing down borb pages: places elements top to bottom, adds pages."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.pages: list[Page] = []
        self.y = 0
        self.new_page()

    def new_page(self) -> None:
        page = Page(width_in_points=PAGE_W, height_in_points=PAGE_H)
        page["Contents"]["DecodedBytes"] = bytearray()  # appended in place, see module doc
        self.doc.append_page(page)
        self.pages.append(page)
        self.y = PAGE_H - MARGIN_TOP

    @property
    def room(self) -> int:
        return self.y - BODY_BOTTOM

    def place(self, element: LayoutElement, x: int, width: int, gap: int = 0) -> int:
        """Paint ``element`` below the cursor (after ``gap``), on a new page if needed."""
        _, h = element.get_size(available_space=(width, 2**16))
        if h + gap > self.room and self.y < PAGE_H - MARGIN_TOP:
            self.new_page()
            gap = 0
        self.y -= gap
        element.paint(available_space=(x, self.y - h, width, h), page=self.pages[-1])
        self.y -= h
        return h

    def finish(self) -> None:
        for page in self.pages:
            page["Contents"]["DecodedBytes"] = bytes(page["Contents"]["DecodedBytes"])


def _column_widths(relative: typing.Sequence[int], total: int) -> list[int]:
    widths = [int(w / sum(relative) * total) for w in relative]
    widths[0] += total - sum(widths)
    return widths


def _rgb(color: Color) -> str:
    rgb = color.to_rgb_color()
    return f"{rgb.get_red() / 255:.4f} {rgb.get_green() / 255:.4f} {rgb.get_blue() / 255:.4f}"


class _Row:
    """One table row: its cells (measured once, reused when painted) and its style."""

    def __init__(self, fonts: _Fonts, runs: typing.Sequence[Run], widths: list[int], pad: tuple[int, int]):
        self.cells = [
            _Text(
                fonts,
                [run],
                padding_left=pad[0],
                padding_right=pad[0],
                padding_top=pad[1],
                padding_bottom=pad[1],
            )
            for run in runs
        ]
        self.widths = widths
        self.height = max(cell.get_size((w, 2**16))[1] for cell, w in zip(self.cells, widths))


class _Rows(LayoutElement):
    """A table slice drawn row by row: one fill and one rule per row, not per cell.

    borb's FixedColumnWidthTable paints background and borders cell by cell (and pads
    cells unevenly: TableCell subtracts padding_top twice); rows here are pre-measured
    so the caller can paginate before painting.
    """

    def __init__(self, rows: list[_Row], fills: list[Color | None], rules: list[bool]) -> None:
        super().__init__()
        self._rows, self._fills, self._rules = rows, fills, rules

    def get_size(self, available_space: typing.Tuple[int, int]) -> typing.Tuple[int, int]:
        return sum(self._rows[0].widths), sum(row.height for row in self._rows)

    def paint(self, available_space: typing.Tuple[int, int, int, int], page: Page) -> None:
        x, y, _, h_avail = available_space
        w, h = self.get_size((available_space[2], h_avail))
        top = y + h_avail
        self._LayoutElement__previous_paint_box = (x, top - h, w, h)
        ops = []
        cursor = top
        for row, fill, rule in zip(self._rows, self._fills, self._rules):
            cursor -= row.height
            if fill is not None:
                ops.append(f"q {_rgb(fill)} rg {x} {cursor} {w} {row.height} re f Q\n")
            if rule:
                ops.append(f"q {_rgb(RULE)} RG 0.75 w {x} {cursor} m {x + w} {cursor} l S Q\n")
        LayoutElement._append_to_content_stream(page=page, bytes_or_string="".join(ops))
        cursor = top
        for row in self._rows:
            cursor -= row.height
            cx = x
            for cell, cw in zip(row.cells, row.widths):
                cell.paint((cx, cursor, cw, row.height), page)
                cx += cw


def _rows_element(
    rows: list[_Row], header: bool = True, striped: bool = True, strong_last: bool = False, accent: Color = NAVY
) -> _Rows:
    """Accent-filled first row if ``header``, last row if ``strong_last``, zebra stripes."""
    fills: list[Color | None] = []
    rules: list[bool] = []
    for r in range(len(rows)):
        strong = (header and r == 0) or (strong_last and r == len(rows) - 1)
        fills.append(accent if strong else (STRIPE if striped and r % 2 == 0 else None))
        rules.append(not strong)
    return _Rows(rows, fills, rules)


def _paginate(heights: list[int], header: int, first_room: int, room: int) -> list[range]:
    """Greedy slices of row indexes so that each slice plus a header fits its page."""
    slices: list[range] = []
    start, used, budget = 0, header, first_room
    for i, h in enumerate(heights):
        if used + h > budget and i > start:
            slices.append(range(start, i))
            start, used, budget = i, header, room
        used += h
    slices.append(range(start, len(heights)))
    return slices


def _address_lines(address: str) -> list[str]:
    return [line.strip() for line in address.replace("\r", "\n").split("\n") if line.strip()]


def _line_row(line: "common_pb2.QuoteLine", currency: str) -> list[Run]:
    discount = _dec(line.discount_percent, "discount_percent")
    texts = (
        line.description + (f" (réf.\u00a0{line.product_ref})" if line.product_ref else ""),
        quantity(line.quantity),
        line.unit,
        money(line.unit_price, currency),
        percent(line.discount_percent) if discount else "",
        percent(line.vat_rate),
        money(line.total_ht, currency),
    )
    return [Run(t, TABLE_SIZE, align=a) for t, a in zip(texts, TABLE_ALIGN)]


def _header_row(titles: typing.Sequence[str], aligns: typing.Sequence[str]) -> list[Run]:
    return [Run(t, TABLE_SIZE, bold=True, color=WHITE, align=a) for t, a in zip(titles, aligns)]


# ---------------------------------------------------------------- branding

LOGO_BOX = (170, 60)  # points: the logo is scaled to fit, aspect kept
LOGO_DPI_SCALE = 2  # pixels per point kept from the logo (a sharp print, a small file)
_HEX6 = re.compile(r"#?([0-9a-fA-F]{6})")


def _luminance(rgb: tuple[int, int, int]) -> float:
    def linear(c: int) -> float:
        v = c / 255
        return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def accent_color(value: str) -> Color:
    """The tenant's ``#rrggbb`` darkened until white text on it is readable (WCAG AA 4.5:1); navy by default."""
    match = _HEX6.fullmatch((value or "").strip())
    if not match:
        return NAVY
    hex6 = match.group(1)
    base = tuple(int(hex6[i : i + 2], 16) for i in (0, 2, 4))
    for step in range(101):
        rgb = tuple(round(c * (1 - step / 100)) for c in base)
        if 1.05 / (_luminance(rgb) + 0.05) >= 4.5:
            return HexColor("#%02X%02X%02X" % rgb)
    return BLACK


def _logo_image(data: bytes | None) -> typing.Any:
    """A borb Image of the logo fitted into LOGO_BOX, flattened on white (no alpha: borb paints alpha per pixel
    in Python); None when there is no logo or it cannot be read."""
    if not data:
        return None
    from borb.pdf import Image
    from PIL import Image as PILImage

    try:
        with PILImage.open(io.BytesIO(data)) as source:
            source.load()
            image = source.convert("RGBA")
    except Exception:  # a damaged logo must not stop the quote from being sent
        logging.getLogger(__name__).warning("the tenant's logo cannot be read; the PDF is printed without it")
        return None
    scale = min(LOGO_BOX[0] / image.width, LOGO_BOX[1] / image.height, 1.0)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    pixels = (size[0] * LOGO_DPI_SCALE, size[1] * LOGO_DPI_SCALE)
    if image.width > pixels[0] or image.height > pixels[1]:
        image = image.resize(pixels, PILImage.LANCZOS)
    flat = PILImage.new("RGB", image.size, (255, 255, 255))
    flat.paste(image, mask=image.getchannel("A"))
    return Image(flat, size=size, padding_bottom=6)


# ---------------------------------------------------------------- document


SIGNATURE_FIELD = "Signature"  # the signature service signs into the field of this name when there is one
SIGNATURE_TITLE_H = 22  # the box's top padding and title line: the field covers the box below them


def _signature_field(doc: Document, page: Page, rect: tuple[float, float, float, float]) -> None:
    """An empty, unsigned signature form field (PDF 32000-1 § 12.7.4.5) over ``rect`` of ``page``.

    One dictionary is both the field (in /AcroForm /Fields) and its widget (in the page's /Annots); borb
    writes an object shared by both lists once. No appearance: nothing shows until it is signed. The name is
    a PDFDocEncoding string (borb would turn a str it knows as a name, e.g. "Signature", into a name).
    """
    widget = {
        name("Type"): name("Annot"),
        name("Subtype"): name("Widget"),
        name("FT"): name("Sig"),
        name("T"): hexstr(SIGNATURE_FIELD.encode("ascii").hex().upper()),
        name("TU"): _pdf_text("Bon pour accord, date et signature"),
        name("F"): 4,  # printed
        name("Rect"): [round(v, 2) for v in rect],
        name("P"): page,
    }
    page[name("Annots")] = [widget]
    doc["Trailer"]["Root"][name("AcroForm")] = {name("Fields"): [widget]}


def _pdf_text(text: str) -> hexstr:
    """A PDF text string as UTF-16BE hex: borb writes str values raw, latin-1, unescaped."""
    return hexstr("FEFF" + text.encode("utf-16-be").hex().upper())


def _snapshot_texts(snapshot: "common_pb2.QuoteSnapshot") -> list[str]:
    parts = [snapshot.number, snapshot.title, snapshot.terms]
    for party in (snapshot.account, snapshot.contact, snapshot.assignee):
        parts += [party.name, party.email, party.phone, party.address]
    company = snapshot.company
    parts += [company.name, company.address, company.siret, company.vat_number]
    for line in [*snapshot.lines, *snapshot.optional_lines]:
        parts += [line.description, line.product_ref, line.unit]
    parts += [document.name for document in snapshot.documents]
    return parts


def render_quote_pdf(snapshot: "common_pb2.QuoteSnapshot", logo: bytes | None = None) -> bytes:
    """Render the client-facing PDF of a frozen quote version (A4, French).

    ``logo`` is the image named by ``snapshot.branding.logo_sha256`` (the caller reads it
    from the blob store). Byte-identical for the same snapshot and logo: the document /ID
    and dates derive from them, never from the clock or a random source.
    """
    UsageStatistics.opt_out()
    chain = font_chain()
    drawn = {ord(c) for text in _snapshot_texts(snapshot) if text for c in chain.visual(text)}
    fonts = _fonts(frozenset(drawn - _REPERTOIRE))
    with _render_lock:
        try:
            return _render(snapshot, fonts.for_document(), logo)
        finally:
            _release_borb_caches()


def _render(snapshot: "common_pb2.QuoteSnapshot", fonts: _Fonts, logo: bytes | None = None) -> bytes:
    currency = snapshot.totals.currency or "EUR"
    accent = accent_color(snapshot.branding.color)
    company, account, contact, assignee = (
        snapshot.company,
        snapshot.account,
        snapshot.contact,
        snapshot.assignee,
    )

    def text(runs: typing.Sequence[Run], **box: typing.Any) -> _Text:
        return _Text(fonts, runs, **box)

    doc = Document()
    canvas = _Canvas(doc)  # the first page also creates the document's trailer
    fingerprint = hashlib.sha256(snapshot.SerializeToString(deterministic=True))
    if logo:
        fingerprint.update(logo)
    digest = fingerprint.hexdigest()[:32].upper()
    doc["Trailer"][name("ID")] = [hexstr(digest), hexstr(digest)]
    stamp = datestr(f"D:{(snapshot.issued_on or '1970-01-01')[:10].replace('-', '')}000000Z00")
    info = doc["Trailer"]["Info"]
    info[name("CreationDate")] = stamp
    info[name("ModDate")] = stamp
    info[name("Title")] = _pdf_text(f"Devis {snapshot.number}")
    if company.name:
        info[name("Author")] = _pdf_text(company.name)

    half = (CONTENT_W - 24) // 2
    right_x = PAGE_W - MARGIN_X - half

    # Company with its logo (left); title and dates (right).
    top = canvas.y
    logo_image = _logo_image(logo)
    h_logo = canvas.place(logo_image, MARGIN_X, half) if logo_image is not None else 0
    h_left = h_logo + canvas.place(
        text(
            [Run(company.name, 13, bold=True, color=accent)]
            + [
                Run(line, color=GREY, space_before=2 if i == 0 else 0)
                for i, line in enumerate(_address_lines(company.address))
            ]
            + [
                Run(f"SIRET : {company.siret}" if company.siret else "", color=GREY),
                Run(f"N° TVA : {company.vat_number}" if company.vat_number else "", color=GREY),
            ]
        ),
        MARGIN_X,
        half,
    )
    canvas.y = top
    h_right = canvas.place(
        text(
            [
                Run(f"Devis {snapshot.number}", 18, bold=True, color=accent, align="right"),
                Run(f"Version {snapshot.version}" if snapshot.version > 1 else "", color=GREY, align="right"),
                Run(f"Date d'émission : {french_date(snapshot.issued_on)}", align="right", space_before=2),
                Run(f"Valable jusqu'au : {french_date(snapshot.valid_until)}", align="right"),
            ]
        ),
        right_x,
        half,
    )
    canvas.y = top - max(h_left, h_right) - 20

    # Salesperson (left); client (right, boxed).
    top = canvas.y
    h_left = canvas.place(
        text(
            [
                Run("Votre interlocuteur", 8, bold=True, color=GREY),
                Run(assignee.name, bold=True, space_before=2),
                Run(assignee.email),
                Run(assignee.phone),
            ],
            padding_top=9,
        ),
        MARGIN_X,
        half,
    )
    canvas.y = top
    client = (
        [Run("Client", 8, bold=True, color=GREY), Run(account.name, bold=True, space_before=2)]
        + [Run(line) for line in _address_lines(account.address)]
        + [Run(f"À l'attention de {contact.name}" if contact.name else ""), Run(contact.email, color=GREY)]
    )
    h_right = canvas.place(
        text(
            client,
            border_color=RULE,
            border_width_top=1,
            border_width_bottom=1,
            border_width_left=1,
            border_width_right=1,
            padding_left=10,
            padding_right=10,
            padding_top=9,
            padding_bottom=8,
        ),
        right_x,
        half,
    )
    canvas.y = top - max(h_left, h_right) - 18

    if snapshot.title:
        canvas.place(text([Run(f"Objet : {snapshot.title}", 10, bold=True)]), MARGIN_X, CONTENT_W)
        canvas.y -= 8

    # Lines table: rows measured first, sliced per page, header row on every slice.
    widths = _column_widths(TABLE_COLUMNS, CONTENT_W)
    header = _Row(fonts, _header_row(TABLE_HEADERS, TABLE_ALIGN), widths, CELL_PAD)
    rows = [_Row(fonts, _line_row(line, currency), widths, CELL_PAD) for line in snapshot.lines]
    room = PAGE_H - MARGIN_TOP - BODY_BOTTOM
    slices = _paginate([row.height for row in rows], header.height, canvas.room, room)
    for n, part in enumerate(slices):
        if n:
            canvas.new_page()
        canvas.place(_rows_element([header] + [rows[i] for i in part], accent=accent), MARGIN_X, CONTENT_W)

    # VAT breakdown (left) and totals (right), kept together.
    vat_w, totals_w = 250, 210
    vat_widths = _column_widths((1, 1, 1), vat_w)
    vat_rows = [
        _Row(fonts, _header_row(("Taux TVA", "Base HT", "Montant TVA"), ("right",) * 3), vat_widths, CELL_PAD)
    ]
    for amount in snapshot.totals.vat:
        texts = (percent(amount.rate), money(amount.base_ht, currency), money(amount.vat, currency))
        vat_rows.append(_Row(fonts, [Run(t, TABLE_SIZE, align="right") for t in texts], vat_widths, CELL_PAD))
    vat = _rows_element(vat_rows, striped=False, accent=accent)
    totals_widths = _column_widths((1, 1), totals_w)
    totals_rows = [
        [Run("Total HT"), Run(money(snapshot.totals.total_ht, currency), align="right")],
        [Run("TVA"), Run(money(snapshot.totals.total_vat, currency), align="right")],
        [
            Run("Total TTC", 10, bold=True, color=WHITE),
            Run(money(snapshot.totals.total_ttc, currency), 10, bold=True, color=WHITE, align="right"),
        ],
    ]
    totals = _rows_element(
        [_Row(fonts, runs, totals_widths, (6, 5)) for runs in totals_rows],
        header=False,
        striped=False,
        strong_last=True,
        accent=accent,
    )
    h_vat = vat.get_size((vat_w, 2**16))[1]
    h_totals = totals.get_size((totals_w, 2**16))[1]
    gap = 16
    if max(h_vat, h_totals) + gap > canvas.room:
        canvas.new_page()
        gap = 0
    canvas.y -= gap
    top = canvas.y
    canvas.place(vat, MARGIN_X, vat_w)
    canvas.y = top
    canvas.place(totals, PAGE_W - MARGIN_X - totals_w, totals_w)
    canvas.y = top - max(h_vat, h_totals)

    # Optional products: their own table, apart, never in the totals above.
    if snapshot.optional_lines:
        heading = text(
            [
                Run("Produits optionnels", 10, bold=True, color=accent),
                Run("Non compris dans le total ci-dessus ; à ajouter sur simple demande.", 8, color=GREY),
            ]
        )
        option_rows = [_Row(fonts, _line_row(line, currency), widths, CELL_PAD) for line in snapshot.optional_lines]
        h_heading = heading.get_size((CONTENT_W, 2**16))[1]
        if h_heading + 20 + header.height + option_rows[0].height > canvas.room:
            canvas.new_page()
            canvas.place(heading, MARGIN_X, CONTENT_W)
        else:
            canvas.place(heading, MARGIN_X, CONTENT_W, gap=20)
        canvas.y -= 4
        slices = _paginate([row.height for row in option_rows], header.height, canvas.room, room)
        for n, part in enumerate(slices):
            if n:
                canvas.new_page()
            canvas.place(
                _rows_element([header] + [option_rows[i] for i in part], accent=accent), MARGIN_X, CONTENT_W
            )

    # Documents shared with the quote (the online page offers them for download).
    if snapshot.documents:
        names = ", ".join(document.name for document in snapshot.documents)
        canvas.place(
            text([Run("Documents joints", 10, bold=True, color=accent), Run(names, 8, color=GREY, space_before=2)]),
            MARGIN_X,
            CONTENT_W,
            gap=16,
        )

    # Terms: placed line by line so that long terms flow onto further pages.
    paragraphs = [p for p in snapshot.terms.replace("\r", "\n").split("\n") if p.strip()]
    if paragraphs:
        canvas.place(text([Run("Conditions", 10, bold=True, color=accent)]), MARGIN_X, CONTENT_W, gap=20)
        for paragraph in paragraphs:
            run = Run(paragraph, 8, color=GREY)
            for i, (line, _, _) in enumerate(text([run]).lines(CONTENT_W)):
                canvas.place(text([Run(line, 8, color=GREY)]), MARGIN_X, CONTENT_W, gap=3 if i == 0 else 0)

    # Signature box, and over its blank part an empty signature field: the signature service signs into it,
    # so the signature shows where the client signs (see _signature_field).
    box_w = 240
    box_x = PAGE_W - MARGIN_X - box_w
    box_h = canvas.place(
        text(
            [Run("Bon pour accord, date et signature", bold=True)],
            border_color=HexColor("#8A939E"),
            border_width_top=1,
            border_width_bottom=1,
            border_width_left=1,
            border_width_right=1,
            padding_left=8,
            padding_right=8,
            padding_top=7,
            padding_bottom=75,
        ),
        box_x,
        box_w,
        gap=20,
    )
    blank_top = canvas.y + box_h - SIGNATURE_TITLE_H
    _signature_field(doc, canvas.pages[-1], (box_x + 1, canvas.y + 1, box_x + box_w - 1, blank_top))

    # Footer on every page, now that N is known.
    total = len(canvas.pages)
    left = f"{company.name} — Devis {snapshot.number}" if company.name else f"Devis {snapshot.number}"
    for n, page in enumerate(canvas.pages, start=1):
        footer = text([Run(left, 7, color=GREY)])
        footer.paint((MARGIN_X, FOOTER_Y, CONTENT_W - 90, 10), page)
        text([Run(f"Page {n} / {total}", 7, color=GREY, align="right")]).paint(
            (MARGIN_X, FOOTER_Y, CONTENT_W, 10), page
        )

    canvas.finish()
    fonts.trim_widths()
    out = io.BytesIO()
    PDF.write(what=doc, where_to=out)
    return out.getvalue()
