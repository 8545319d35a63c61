"""What the PDFs can print, and how a line of typed text is drawn: one font chain for every PDF.

The quote PDF (borb) and the signature pages (reportlab) draw a line the same way:

- a line with a right-to-left character (Hebrew, Arabic) is laid out by the Unicode bidi algorithm
  (python-bidi), per line after wrapping, and its Arabic letters take their joined forms (arabic-reshaper
  writes them as presentation forms, which DejaVu Sans draws); a line without one skips both;
- each character is drawn by the first font of the chain that has it: DejaVu Sans (bold text: DejaVu Sans
  Bold, then the regular face), then Symbola for symbols and emoji; letters, marks and digits never come from
  Symbola (its few CJK ideographs would print one word of a sentence);
- what no font prints, or what needs shaping done here by no one (Devanagari, Thai, N'Ko…), is refused where
  it is typed by the same rule, ``FontChain.unprintable``: the validators and the renderers read the same
  fonts. Invisible characters a typist may use (ZWJ, ZWNJ, LRM, RLM, variation selectors, soft hyphen) are
  accepted and not drawn.
"""
from __future__ import annotations

import functools
import io
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

FONT_DIR = Path(__file__).with_name("fonts")
SANS = FONT_DIR / "DejaVuSans.ttf"
SANS_BOLD = FONT_DIR / "DejaVuSans-Bold.ttf"
SYMBOLS = FONT_DIR / "Symbola.ttf"  # licence: fonts/LICENSE-Symbola.txt

# Accepted, never drawn: joiners, direction marks (the bidi algorithm reads them first), variation
# selectors (one monochrome glyph either way), the soft hyphen (no hyphenation here).
INVISIBLE = frozenset("\u200c\u200d\u200e\u200f\u061c\ufe0e\ufe0f\u00ad")
_INVISIBLE = re.compile("[" + "".join(INVISIBLE) + "]")
# Scripts that need shaping or mark positioning nobody does here, though DejaVu has some of their letters.
_UNSHAPED = ((0x0700, 0x08FF), (0x0900, 0x0DFF), (0x0E00, 0x0FFF), (0x1000, 0x109F), (0x1780, 0x18AF),
             (0x1A00, 0x1CFF), (0xA800, 0xABFF))
_RTL = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefe\u200f\u061c]")
_ARABIC = re.compile("[\u0600-\u06ff\u0750-\u077f]")
_LINE_BREAKS = "\n\r\t"
_PRESENTATION_FORMS = ((0xFB50, 0xFDFF), (0xFE70, 0xFEFF))


@dataclass(frozen=True, eq=False)
class Face:
    """One font file: which code points it draws and how wide (per point of font size)."""

    key: str
    path: Path
    advance: dict[str, float]

    @classmethod
    def load(cls, key: str, path: Path) -> Face:
        from fontTools.ttLib import TTFont

        font = TTFont(io.BytesIO(path.read_bytes()), lazy=True)
        widths, scale = font["hmtx"], 1 / font["head"].unitsPerEm
        advance = {chr(code): widths[glyph][0] * scale for code, glyph in font.getBestCmap().items()}
        return cls(key, path, advance)


@dataclass(frozen=True)
class Piece:
    """Consecutive characters of a laid-out line drawn with one face (left to right)."""

    face: Face
    text: str


@dataclass(eq=False)
class FontChain:
    regular: tuple[Face, ...]
    bold: tuple[Face, ...]
    symbols: Face | None = None
    _face_of: dict[bool, dict[str, Face]] = field(default_factory=lambda: {False: {}, True: {}}, repr=False)

    @property
    def faces(self) -> tuple[Face, ...]:
        return tuple(dict.fromkeys(self.regular + self.bold))

    def face_for(self, ch: str, bold: bool = False) -> Face | None:
        """The first face of the chain that draws ``ch`` (symbols only from the symbol face's turn on)."""
        known = self._face_of[bold]
        if ch in known:
            return known[ch]
        face = None
        for candidate in self.bold if bold else self.regular:
            if ch in candidate.advance and (candidate is not self.symbols or not _is_letter(ch)):
                face = candidate
                break
        known[ch] = face
        return face

    def unprintable(self, text: str) -> str:
        """Why the first character of ``text`` a PDF cannot print cannot be printed ('' when all can).

        Line breaks and tabs pass: whether a field may hold them is the caller's rule.
        """
        text = unicodedata.normalize("NFC", text)
        for ch in dict.fromkeys(text):
            if ch in _LINE_BREAKS or ch in INVISIBLE:
                continue
            code = ord(ch)
            category = unicodedata.category(ch)
            if category in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp") or any(a <= code <= b for a, b in _UNSHAPED):
                return f"{_name(ch)} cannot be printed in the PDF"
            if self.face_for(ch) is None or self.face_for(ch, bold=True) is None:
                return f"{_name(ch)} cannot be printed in the PDF (no font has it)"
            if _ARABIC.match(ch) and category == "Lo" and not _reshapable(ch):
                return f"{_name(ch)} cannot be printed in the PDF (its joined forms are unknown here)"
        return ""

    def shaped(self, text: str) -> str:
        """``text`` in logical order with its Arabic letters in their joined forms (what gets measured)."""
        if _ARABIC.search(text):
            text = _reshaper().reshape(text)
        return text

    def visual(self, line: str) -> str:
        """One line as drawn from left to right: NFC, shaped, reordered if it has right-to-left text."""
        line = unicodedata.normalize("NFC", line)
        if _RTL.search(line):
            line = _marks_after_bases(_display(self.shaped(line)))
        return _INVISIBLE.sub("", line)

    def pieces(self, line: str, bold: bool = False) -> list[Piece]:
        """``line`` laid out (``visual``) and cut where the face changes; what no face draws becomes '?'."""
        drawn = self.visual(line)
        first = (self.bold if bold else self.regular)[0]
        if first.advance.keys() >= set(drawn):  # a Latin line: one piece, no lookups
            return [Piece(first, drawn)] if drawn else []
        out: list[Piece] = []
        for ch in drawn:
            face = self.face_for(ch, bold)
            if face is None:
                ch, face = "?", first
            if out and out[-1].face is face:
                out[-1] = Piece(face, out[-1].text + ch)
            else:
                out.append(Piece(face, ch))
        return out

    def reorders(self, line: str) -> bool:
        """Whether ``visual(line)`` is not in typed order (the line has right-to-left text)."""
        return bool(_RTL.search(line))

    def right_to_left(self, text: str) -> bool:
        """Whether ``text`` reads from right to left as a paragraph (its first strong character does)."""
        if not _RTL.search(text):
            return False
        from bidi import get_base_level

        return get_base_level(text) == 1

    def width(self, text: str, bold: bool = False) -> float:
        """Width of ``text`` at font size 1 (order does not change it; shaping does)."""
        return sum(sum(map(p.face.advance.__getitem__, p.text)) for p in self.pieces(text, bold))


def reads_as(code: int) -> str:
    """The text a glyph drawn for ``code`` stands for in a PDF's /ToUnicode: an Arabic joined form (a
    presentation form, a lam-alef) stands for its letters, so copied or extracted text is what was typed."""
    if any(a <= code <= b for a, b in _PRESENTATION_FORMS):
        return unicodedata.normalize("NFKC", chr(code))
    return chr(code)


def to_unicode_hex(code: int) -> str:
    """``reads_as(code)`` as a /ToUnicode destination: UTF-16BE hex (surrogate pairs beyond U+FFFF)."""
    return reads_as(code).encode("utf-16-be").hex().upper()


def _is_letter(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "LMN"


def _name(ch: str) -> str:
    return f"U+{ord(ch):04X} {ch!r}" if unicodedata.category(ch)[0] not in "CZ" else f"U+{ord(ch):04X}"


_LEVEL = re.compile(r"Level\(\s*(\d+),\s*\)")


def _display(line: str) -> str:
    """UAX #9 on one line: levels from python-bidi's Rust algorithm (paired brackets included), then
    L1 (trailing spaces at the paragraph level), L2 (reverse runs from the highest level down) and L4 (an
    odd-level bracket takes its mirrored glyph), which python-bidi's get_display leaves out. python-bidi
    gives levels only in its debug dump of unicode-bidi's BidiInfo, one per UTF-8 byte."""
    from bidi import get_base_level, get_display
    from bidi.mirror import MIRRORED

    dump = get_display(line, debug=True)
    per_byte = [int(n) for n in _LEVEL.findall(dump.partition("levels: [")[2].partition("paragraphs:")[0])]
    offsets = [0]
    for ch in line[:-1]:
        offsets.append(offsets[-1] + len(ch.encode()))
    levels = [per_byte[i] for i in offsets]
    base = get_base_level(line)
    end = len(line)
    while end and line[end - 1].isspace():
        end -= 1
        levels[end] = base
    chars = [MIRRORED.get(c, c) if level % 2 else c for c, level in zip(line, levels)]
    for level in range(max(levels), 0, -1):
        i = 0
        while i < len(chars):
            if levels[i] >= level:
                j = i
                while j < len(chars) and levels[j] >= level:
                    j += 1
                chars[i:j], levels[i:j] = chars[i:j][::-1], levels[i:j][::-1]
                i = j
            else:
                i += 1
    return "".join(chars)


def _marks_after_bases(visual: str) -> str:
    """The bidi algorithm reverses a right-to-left run mark by mark: put each mark back after its letter,
    where a font with zero-width marks draws it over that letter."""
    chars = list(visual)
    i = 0
    while i < len(chars):
        j = i
        while j < len(chars) and unicodedata.category(chars[j]) == "Mn":
            j += 1
        if j > i and j < len(chars) and unicodedata.bidirectional(chars[j]) in ("R", "AL") \
                and (i == 0 or unicodedata.bidirectional(chars[i - 1]) != "L"):
            chars[i:j + 1] = [chars[j], *reversed(chars[i:j])]
        i = j + 1 if j > i else i + 1
    return "".join(chars)


@functools.cache
def _reshaper():
    import arabic_reshaper

    return arabic_reshaper.ArabicReshaper(configuration={"delete_harakat": False, "support_ligatures": True})


@functools.cache
def _reshapable(ch: str) -> bool:
    from arabic_reshaper.letters import LETTERS_ARABIC

    return ch in LETTERS_ARABIC


@functools.cache
def font_chain() -> FontChain:
    """The chain every PDF of Quoteflow prints with (loaded once per process, read-only afterwards)."""
    sans, bold, symbols = Face.load("sans", SANS), Face.load("sans-bold", SANS_BOLD), Face.load("symbols", SYMBOLS)
    return FontChain(regular=(sans, symbols), bold=(bold, sans, symbols), symbols=symbols)
