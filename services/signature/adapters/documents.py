"""The pages the signature service writes (reportlab): the signature certificate page and the proof file.

Text is drawn with Quoteflow's font chain (quoteflow.typeset: DejaVu Sans, then Symbola for symbols and
emoji), right-to-left lines reordered and Arabic joined, as the quote PDF draws it, so every name prints as
typed; user text in Paragraph markup is escaped. A Paragraph wraps what it is given: a right-to-left value is
laid out before it is wrapped, right for one line (names, reasons), in the wrong line order beyond.
"""
from __future__ import annotations

import functools
import threading
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from babel.numbers import format_currency, format_decimal
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader, simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import SUBSETN, TTFont
from reportlab.pdfgen import canvas
from reportlab.platypus import (Image, KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table,
                                TableStyle)

from quoteflow import typeset
from quoteflow.decimals import decimal_or_none
from services.signature.domain.evidence import canonical_json
from services.signature.domain import reading
from services.signature.domain.model import SealDetails, seal_level_text

SANS, BOLD, SYMBOLS, MONO = "QuoteflowSans", "QuoteflowSans-Bold", "QuoteflowSymbols", "Courier"
_REGISTERED = {"sans": SANS, "sans-bold": BOLD, "symbols": SYMBOLS}  # the chain's faces by key
_FILES = {SANS: typeset.SANS, BOLD: typeset.SANS_BOLD, SYMBOLS: typeset.SYMBOLS}
_fonts_lock = threading.Lock()
# reportlab's TrueType fonts keep their subsetting state in the font object, shared by every document being
# drawn: two signatures sealed at once broke it (KeyError in the subset, seen on PostgreSQL with two
# threads). One document is drawn at a time; a drawing takes milliseconds, the seal around it far longer.
_drawing = threading.Lock()


def _one_at_a_time(draw):
    @functools.wraps(draw)
    def serialised(*args, **kwargs):
        with _drawing:
            return draw(*args, **kwargs)
    return serialised

# One for every step the model writes (model.STEPS); a step without one would print as its raw name.
STEP_LABELS = {
    "sent": "Envoi du devis pour signature",
    "sent_again": "Nouvel envoi du devis (relance)",
    "opened": "Ouverture du document par le signataire",
    "code_sent": "Envoi d'un code à usage unique",
    "code_verified": "Code à usage unique vérifié",
    "consented": "Consentement au texte affiché",
    "signed": "Signature",
    "declined": "Refus du devis",
    "superseded": "Remplacé par une version plus récente",
    "withdrawn": "Devis retiré par l'émetteur",
}


class _ChainFont(TTFont):
    """reportlab's TTFont with a /ToUnicode that reads as typed: reportlab writes a code beyond U+FFFF (an emoji)
    as 5 hex digits and an Arabic joined form as itself; here each is quoteflow.typeset.to_unicode_hex."""

    def addObjects(self, doc):
        state = self.state.get(doc)
        subsets = list(state.subsets) if state is not None else []
        super().addObjects(doc)
        for n, subset in enumerate(subsets):
            base = b"".join((SUBSETN(n), b"+", self.face.name, self.face.subfontNameX)).decode("pdfdoc")
            cmap = doc.idToObject["toUnicodeCMap:" + base]
            start, end = cmap.content.index("beginbfchar"), cmap.content.index("endbfchar")
            pairs = "\n".join(f"<{i:02X}> <{typeset.to_unicode_hex(code)}>" for i, code in enumerate(subset))
            cmap.content = f"{cmap.content[:start]}beginbfchar\n{pairs}\n{cmap.content[end:]}"


def _register_fonts() -> None:
    with _fonts_lock:
        registered = pdfmetrics.getRegisteredFontNames()
        for font, path in _FILES.items():
            if font not in registered:
                pdfmetrics.registerFont(_ChainFont(font, str(path)))


def _width(text: str, font: str, size: float) -> float:
    """What ``_draw`` takes: ``text`` in ``font`` (SANS or BOLD) and the chain's fallbacks."""
    if font == MONO:
        return pdfmetrics.stringWidth(text, font, size)
    return typeset.font_chain().width(text, bold=font == BOLD) * size


def _draw(c: canvas.Canvas, x: float, y: float, text: str, font: str, size: float) -> None:
    """``drawString`` through the font chain: each piece of the laid-out line in the face that has it."""
    if font == MONO:
        c.setFont(font, size)
        c.drawString(x, y, text)
        return
    for piece in typeset.font_chain().pieces(text, bold=font == BOLD):
        c.setFont(_REGISTERED[piece.face.key], size)
        c.drawString(x, y, piece.text)
        x += sum(map(piece.face.advance.__getitem__, piece.text)) * size
    c.setFont(font, size)


def _markup(text: str, font: str) -> str:
    """Paragraph markup for one line of ``text``: laid out by the chain, a <font> tag per fallback piece."""
    out = []
    for piece in typeset.font_chain().pieces(text, bold=font == BOLD):
        face = _REGISTERED[piece.face.key]
        out.append(escape(piece.text) if face in (SANS, BOLD) else f'<font name="{face}">{escape(piece.text)}</font>')
    return "".join(out)


def french_date(moment: datetime, tz: str = "Europe/Paris") -> str:
    return format_datetime(moment, "d MMMM y 'à' HH:mm:ss", tzinfo=ZoneInfo(tz), locale="fr_FR") + f" ({tz})"


def _short_date(moment: datetime, tz: str) -> tuple[str, str]:
    """('le 29 novembre 2026 à 15:05', '(heure de Paris)'): what the signature block shows."""
    when = format_datetime(moment, "d MMMM y 'à' HH:mm", tzinfo=ZoneInfo(tz), locale="fr_FR")
    return f"le {when}", f"({'heure de Paris' if tz == 'Europe/Paris' else tz})"


def _image(png: bytes | None) -> ImageReader | None:
    return ImageReader(BytesIO(png)) if png else None


def _fit(reader: ImageReader, max_w: float, max_h: float) -> tuple[float, float]:
    w, h = reader.getSize()
    scale = min(max_w / w, max_h / h)
    return w * scale, h * scale


NAVY = colors.HexColor("#1F3A5F")
GREY = colors.HexColor("#5B6470")
FIELD_NOTE = "« Bon pour accord, date et signature »"
VERIFY_NOTE = ("La signature électronique de ce document peut être vérifiée dans tout lecteur PDF (panneau "
               "Signatures) ; toute modification après signature la rend invalide. Le dossier de preuve (journal "
               "horodaté de chaque étape de la signature) est conservé avec ce document.")


@_one_at_a_time
def signature_stamp(d: SealDetails, width: float, height: float, tz: str = "Europe/Paris", *,
                    drawing: bool = True, footnote: str = "", framed: bool = False) -> bytes:
    """The look of the signature (a one-page PDF ``width`` x ``height``), drawn by the seal where it is shown.

    A rule in the quote's navy on the left, then « Signé électroniquement par », the name, the date and time,
    an optional small ``footnote``; the drawn signature on the right when there is one and ``drawing``.
    The block of text is centred vertically; what does not fit is shrunk, wrapped (the name, on two lines at
    most) or left out (the footnote first).
    """
    _register_fonts()
    buf = BytesIO()
    c = canvas.Canvas(buf, pagesize=(width, height), invariant=1, pageCompression=1)
    pad = 7.0
    if framed:
        c.setStrokeColor(colors.HexColor("#8A939E"))
        c.setLineWidth(0.75)
        c.rect(0.5, 0.5, width - 1, height - 1, stroke=1, fill=0)
    c.setFillColor(NAVY)
    c.rect(pad, pad, 2.2, height - 2 * pad, stroke=0, fill=1)
    left = pad + 2.2 + 8
    right = width - pad
    image = _image(d.signature_png) if drawing else None
    if image is not None:
        w, h = _fit(image, min(100.0, (right - left) * 0.42), height - 2 * pad)
        c.drawImage(image, right - w, (height - h) / 2, w, h, mask="auto")
        right -= w + 8
    room = right - left

    def clipped(line: str, font: str, size: float) -> str:
        """``line``, or as many of its words (else letters) as fit, then an ellipsis."""
        if _width(line, font, size) <= room:
            return line
        words = line.split(" ")
        while len(words) > 1 and _width(" ".join(words) + "…", font, size) > room:
            words.pop()
        line = " ".join(words)
        while line and _width(line + "…", font, size) > room:
            line = line[:-1]
        return line.rstrip(" ,;:-–—(«") + "…"

    def fitted(text: str, font: str, size: float, smallest: float, most: int = 2) -> tuple[float, list[str]]:
        """Shrunk down to ``smallest`` to stay on one line, else wrapped on ``most`` lines, the last one cut."""
        while size > smallest and _width(text, font, size) > room:
            size -= 0.25
        lines = simpleSplit(text, font, size, room) or [""]
        lines = lines[:most - 1] + [" ".join(lines[most - 1:])]
        return size, [clipped(line, font, size) for line in lines if line]

    name_size, name_lines = fitted(d.signer_name, BOLD, 10, 8)
    day, zone = _short_date(d.signed_at, tz)
    date_size, date_lines = fitted(f"{day} {zone}", SANS, 8, 7.5)
    if len(date_lines) > 1:  # the time zone on a line of its own rather than cut anywhere
        date_size, date_lines = fitted(day, SANS, 8, 6.5, most=1)
        date_lines = [*date_lines, clipped(zone, SANS, date_size)]
    blocks = [(SANS, 7.5, GREY, ["Signé électroniquement par"], 2.0),
              (BOLD, name_size, colors.black, name_lines, 2.0),
              (SANS, date_size, colors.black, date_lines, 0.0)]
    if footnote:
        size, lines = fitted(footnote, SANS, 7, 6, most=1)
        blocks.append((SANS, size, GREY, lines, 0.0))

    def tall(parts) -> float:
        return sum(size * 1.25 * len(lines) + after for _, size, _, lines, after in parts)

    while len(blocks) > 3 and tall(blocks) > height - 2 * pad:
        blocks.pop()
    y = (height + tall(blocks)) / 2
    for font, size, color, lines, after in blocks:
        c.setFont(font, size)
        c.setFillColor(color)
        for line in lines:
            y -= size * 1.25
            _draw(c, left, y + size * 0.25, line, font, size)
        y -= after
    c.showPage()
    c.save()
    return buf.getvalue()


@dataclass(frozen=True)
class CertificatePage:
    pdf: bytes
    seal_box: tuple[int, int, int, int] | None   # where the visible seal goes, in page coordinates; None: not here


@_one_at_a_time
def certificate_page(d: SealDetails, width: float, height: float, tz: str = "Europe/Paris", *,
                     signature_page: int | None = None) -> CertificatePage:
    """One page, the size of the quote's last page: who signed what, when, and the drawn signature.

    ``signature_page`` (1-based): the quote shows the signature itself in its signature box on that page, so this
    page says where; without it this page keeps room for the visible seal (``seal_box``).
    """
    _register_fonts()
    buf = BytesIO()
    c = canvas.Canvas(buf, pagesize=(width, height), invariant=1, pageCompression=1)
    c.setTitle(f"Certificat de signature du devis {d.number}")
    left, right = 56.0, width - 56.0
    y = height - 72.0
    c.setFont(BOLD, 16)
    c.drawString(left, y, "Certificat de signature électronique")
    y -= 30
    label_w = 110.0

    def row(label: str, value: str) -> None:
        nonlocal y
        c.setFont(BOLD, 10)
        c.drawString(left, y, label)
        lines = simpleSplit(value, SANS, 10, right - left - label_w) or [""]
        c.setFont(SANS, 10)
        for line in lines:
            _draw(c, left + label_w, y, line, SANS, 10)
            y -= 15

    row("Devis", f"n° {d.number} (version {d.version})")
    row("Signé par", d.signer_name)
    row("Adresse e-mail", d.signer_email)
    row("Date", french_date(d.signed_at, tz))
    row("Référence", d.reference)
    if seal_level_text(d.level):
        row("Niveau du cachet", seal_level_text(d.level))
    if signature_page is not None:
        row("Signature visible", f"page {signature_page}, dans le cadre {FIELD_NOTE}")
    y -= 6
    c.setFont(SANS, 10)
    c.drawString(left, y, "Empreinte SHA-256 du devis envoyé :")
    y -= 14
    c.setFont(MONO, 9)
    c.drawString(left, y, d.document_sha256)
    y -= 20
    c.setFont(BOLD, 10)
    c.drawString(left, y, "Consentement")
    y -= 15
    c.setFont(SANS, 10)
    for line in simpleSplit(d.consent_text, SANS, 10, right - left):
        _draw(c, left, y, line, SANS, 10)
        y -= 14
    drawing = _image(d.signature_png)
    if drawing is not None:
        y -= 8
        c.setFont(BOLD, 10)
        c.drawString(left, y, "Signature manuscrite")
        w, h = _fit(drawing, 240, 90)
        y -= h + 6
        c.rect(left - 2, y - 2, w + 4, h + 4, stroke=1, fill=0)
        c.drawImage(drawing, left, y, w, h, mask="auto")
        y -= 10
    box = None
    if signature_page is None:
        bottom = max(40.0, y - 92)
        box = (int(left), int(bottom), int(min(left + 300, right)), int(bottom + 80))
        y = bottom - 16
    else:
        y -= 12
    c.setFont(SANS, 8)
    for line in simpleSplit(VERIFY_NOTE, SANS, 8, right - left):
        if y < 20:
            break
        c.drawString(left, y, line)
        y -= 11
    c.showPage()
    c.save()
    return CertificatePage(pdf=buf.getvalue(), seal_box=box)


# The proof file ---------------------------------------------------------------

def _styles():
    _register_fonts()
    body = ParagraphStyle("body", fontName=SANS, fontSize=9, leading=12, alignment=TA_LEFT)
    return {
        "title": ParagraphStyle("title", parent=body, fontName=BOLD, fontSize=17, leading=22, spaceAfter=4),
        "h2": ParagraphStyle("h2", parent=body, fontName=BOLD, fontSize=11.5, leading=15, spaceBefore=10,
                             spaceAfter=4, textColor=colors.HexColor("#1f3a5f")),
        "body": body,
        "small": ParagraphStyle("small", parent=body, fontSize=7.5, leading=9.5),
        "mono": ParagraphStyle("mono", parent=body, fontName=MONO, fontSize=7.5, leading=9.5, wordWrap="CJK"),
        "data": ParagraphStyle("data", parent=body, fontSize=7, leading=9, wordWrap="CJK"),
        "label": ParagraphStyle("label", parent=body, fontName=BOLD, fontSize=8.5, leading=11),
        "cell": ParagraphStyle("cell", parent=body, fontSize=7.5, leading=9.5),
        "cell_right": ParagraphStyle("cell_right", parent=body, fontSize=7.5, leading=9.5, alignment=TA_RIGHT),
        "cell_head": ParagraphStyle("cell_head", parent=body, fontName=BOLD, fontSize=7.5, leading=9.5,
                                    textColor=colors.white),
        "cell_head_right": ParagraphStyle("cell_head_right", parent=body, fontName=BOLD, fontSize=7.5, leading=9.5,
                                          textColor=colors.white, alignment=TA_RIGHT),
    }


def _p(text: str, style) -> Paragraph:
    if style.fontName == MONO:
        return Paragraph(escape(text or "—").replace("\n", "<br/>"), style)
    return Paragraph("<br/>".join(_markup(line, style.fontName) for line in (text or "—").split("\n")), style)


def _amount(amount: str, currency: str) -> str:
    value = decimal_or_none(amount or "0")
    return format_currency(value, currency or "EUR", locale="fr_FR") if value is not None else f"{amount} {currency}"


def _number(text: str, pattern: str) -> str:
    """A quantity or a rate as the quote PDF prints it ("1 234,5"); the text itself when it is not a number."""
    value = decimal_or_none(text or "0")
    return format_decimal(value, format=pattern, locale="fr_FR") if value is not None else text


def _rate(text: str) -> str:
    return _number(text, "#,##0.##") + "\u202f%"


# A table with a navy header row and thin rules, as the quote PDF draws its lines.
GRID = TableStyle([
    ("BACKGROUND", (0, 0), (-1, 0), NAVY), ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#C8CDD3")),
    ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ("LEFTPADDING", (0, 0), (-1, -1), 3), ("RIGHTPADDING", (0, 0), (-1, -1), 3)])
LINE_HEADERS = ("Désignation", "Qté", "Unité", "PU HT", "Remise", "TVA", "Total HT")  # as on the quote PDF
LINE_RIGHT = (False, True, False, True, True, True, True)
LINE_WIDTHS = (None, 14 * mm, 14 * mm, 22 * mm, 15 * mm, 13 * mm, 24 * mm)


def _lines_table(lines: list[dict], currency: str, s) -> Table:
    """The lines as the quote PDF showed them: designation, quantity, unit, unit price, discount, VAT, total."""
    def cells(line: dict) -> list:
        designation = line["description"] + (f" (réf.\u00a0{line['product_ref']})" if line["product_ref"] else "")
        discount = decimal_or_none(line["discount_percent"] or "0")
        texts = (_number(line["quantity"], "#,##0.###"), line["unit"], _amount(line["unit_price"], currency),
                 _rate(line["discount_percent"]) if discount else "", _rate(line["vat_rate"]),
                 _amount(line["total_ht"], currency))
        return [_p(text, s["cell_right" if right else "cell"]) if text else ""
                for text, right in zip((designation, *texts), LINE_RIGHT)]

    header = [_p(title, s["cell_head_right" if right else "cell_head"]) for title, right in zip(LINE_HEADERS, LINE_RIGHT)]
    table = Table([header] + [cells(line) for line in lines], colWidths=LINE_WIDTHS, repeatRows=1, hAlign="LEFT")
    table.setStyle(GRID)
    return table


def _lines_story(purchase: dict, s) -> list:
    """« Ce que le client a accepté »: the lines, the VAT and totals, the optional products, and their SHA-256."""
    lines = purchase.get("lines")
    story: list = [_p("Ce que le client a accepté : lignes du devis", s["h2"])]
    if not lines:
        return story + [_p("Cette demande a été ouverte avant que les lignes du devis n'entrent dans la chaîne de "
                           "preuve : ce dossier ne les reproduit pas. Elles figurent dans le PDF du devis envoyé, "
                           "dont l'empreinte SHA-256 est indiquée plus bas et inscrite dans la chaîne ; la preuve "
                           "reste vérifiable comme avant.", s["body"])]
    currency, totals = lines["currency"], lines["totals"]
    story += [_p("Les lignes telles que le devis envoyé les montrait au client, gelées à l'envoi :", s["body"]),
              Spacer(1, 3), _lines_table(lines["lines"], currency, s), Spacer(1, 4)]
    rows = [(f"Base HT TVA {_rate(v['rate'])}", f"{_amount(v['base_ht'], currency)} — TVA "
                                                  f"{_amount(v['vat'], currency)}", "body") for v in totals["vat"]]
    rows += [("Total HT", _amount(totals["total_ht"], currency), "body"),
             ("TVA", _amount(totals["total_vat"], currency), "body"),
             ("Total TTC", _amount(totals["total_ttc"], currency), "label")]
    story.append(_pairs(rows, s))
    if lines["optional_lines"]:
        story += [Spacer(1, 4), _p("Produits optionnels proposés (non compris dans le total ci-dessus, non acceptés "
                                   "par cette signature) :", s["body"]), Spacer(1, 3),
                  _lines_table(lines["optional_lines"], currency, s)]
    story += [Spacer(1, 4), _pairs([("Empreinte des lignes (SHA-256)", purchase["lines_sha256"], "mono")], s),
              _p("Cette empreinte, inscrite dans la première entrée du journal (lines_sha256), est celle du JSON "
                 "canonique des lignes (purchase.lines de la preuve JSON : clés triées, sans espaces, UTF-8, "
                 "montants tels que le devis les écrit) : une ligne changée ne donne plus la même empreinte.",
                 s["small"])]
    return story


def _timeline(entries: list[dict], tz: str, s) -> list:
    """« Chronologie »: each entry as a sentence, with its local time, IP address and browser."""
    def when(at: str) -> str:
        moment = datetime.fromisoformat(at.replace("Z", "+00:00"))
        return format_datetime(moment, "dd/MM/y HH:mm:ss", tzinfo=ZoneInfo(tz), locale="fr_FR")

    rows = [[_p(f"Date ({'heure de Paris' if tz == 'Europe/Paris' else tz})", s["cell_head"]),
             _p("Événement", s["cell_head"]), _p("Adresse IP et navigateur", s["cell_head"])]]
    for entry in entries:
        sentence = reading.step_sentence(entry["step"], entry["data"]) or STEP_LABELS.get(entry["step"], entry["step"])
        rows.append([_p(when(entry["at"]), s["cell"]), _p(f"{entry['seq']}. {sentence}", s["cell"]),
                     _p(" — ".join(part for part in (entry["ip"], entry["user_agent"]) if part) or "—", s["cell"])])
    table = Table(rows, colWidths=(32 * mm, 70 * mm, None), repeatRows=1, hAlign="LEFT")
    table.setStyle(GRID)
    return [_p("Chronologie", s["h2"]),
            _p(f"Heures de Paris ({tz}) ; le journal technique plus bas donne les mêmes en UTC (suffixe Z).",
               s["small"]), Spacer(1, 3), table]


def _checks(proof: dict, s) -> list:
    """« Vérifier ce dossier sans Quoteflow »: each check, what it means, and how to do it with common tools."""
    story = [_p("Vérifier ce dossier sans Quoteflow", s["h2"])]
    for n, (what, meaning, how) in enumerate(reading.checks(proof), start=1):
        story.append(KeepTogether([_p(f"{n}. {what}", s["label"]), _p(f"Ce que cela prouve : {meaning}", s["body"]),
                                   _p(f"Comment : {how}", s["body"]), Spacer(1, 3)]))
    return story


def _pairs(rows: list[tuple[str, str, str]], s) -> Table:
    """(label, value, style name) rows as a two-column table."""
    data = [[_p(label, s["label"]), _p(value, s[style])] for label, value, style in rows]
    table = Table(data, colWidths=[45 * mm, None], hAlign="LEFT")
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
                               ("TOPPADDING", (0, 0), (-1, -1), 1), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    return table


@_one_at_a_time
def proof_pdf(proof: dict, *, proof_json_sha256: str, signature_png: bytes | None = None,
              tz: str = "Europe/Paris") -> bytes:
    """The "Dossier de preuve": the request, the signer, the hashes, the consent, every evidence entry."""
    s = _styles()
    request, signer, document, consent = proof["request"], proof["signer"], proof["document"], proof["consent"]
    signed_at = datetime.fromisoformat(signer["signed_at"].replace("Z", "+00:00"))
    story: list = [
        _p("Dossier de preuve — signature électronique", s["title"]),
        _p(f"Devis n° {request['number']} (version {request['version']}) — signé le "
           f"{french_date(signed_at, tz)} par {signer['name']}.", s["body"]),
        _p("Nature de la signature", s["h2"]),
        _p(reading.LEVEL, s["label"]),
        _p(reading.LEVEL_MEANING, s["body"]),
        _p("Demande de signature", s["h2"]),
        _pairs([
            ("Référence", request["id"], "mono"),
            ("Devis", f"n° {request['number']}, version {request['version']} (id {request['quote_id']})", "body"),
            ("Montant TTC", _amount(request["amount_ttc"], request["currency"]), "body"),
            ("Validité", request.get("expires_at") or "—", "body"),
            ("Code à usage unique", {"email": "par e-mail", "sms": "par SMS"}.get(
                request.get("one_time_code", ""), "non demandé"), "body"),
        ], s),
        *_lines_story(proof.get("purchase") or {}, s),
        _p("Signataire", s["h2"]),
        _pairs([
            ("Nom saisi", signer["name"], "body"),
            ("Adresse e-mail", signer["email"], "body"),
            ("Contact (id CRM)", signer["contact_id"] or "—", "body"),
            ("Date (UTC)", signer["signed_at"], "body"),
            ("Adresse IP", signer["ip"], "body"),
            ("Navigateur", signer["user_agent"], "small"),
            *((label, text, "body") for label, text in reading.identification(proof)),
        ], s),
    ]
    drawing = _image(signature_png)
    if drawing is not None:
        w, h = _fit(drawing, 70 * mm, 30 * mm)
        story += [Spacer(1, 3), _p("Signature manuscrite :", s["label"]),
                  Image(BytesIO(signature_png), w, h, hAlign="LEFT", mask="auto")]
    doc_rows = [
        ("Devis envoyé (SHA-256)", document["sha256"], "mono"),
        ("PDF signé (SHA-256)", document["signed_pdf_sha256"], "mono"),
        ("Certificat du sceau (SHA-256)", document.get("seal_certificate_sha256", ""), "mono"),
        ("Preuve JSON (SHA-256)", proof_json_sha256, "mono"),
    ]
    if document.get("signature_png_sha256"):
        doc_rows.insert(2, ("Signature dessinée (SHA-256)", document["signature_png_sha256"], "mono"))
    if document.get("timestamp"):
        doc_rows.append(("Horodatage RFC 3161", document["timestamp"], "body"))
    if seal_level_text(document.get("seal_level", "")):
        doc_rows.append(("Niveau du cachet", seal_level_text(document["seal_level"]), "body"))
    story += [
        *_timeline(proof["evidence"], tz, s),
        _p("Documents et empreintes", s["h2"]), _pairs(doc_rows, s),
        _p("Consentement", s["h2"]),
        _pairs([("Texte affiché", consent["text"], "body"), ("SHA-256 du texte", consent["sha256"], "mono")], s),
        *_checks(proof, s),
        _p("Journal de preuve technique (append-only, chaîné par SHA-256)", s["h2"]),
        _p(f"{len(proof['evidence'])} entrées ; tête de chaîne : {proof['evidence_sha256']}", s["small"]),
    ]
    for entry in proof["evidence"]:
        rows = [("Date (UTC)", entry["at"], "body")]
        if entry["data"].get("sent_at"):  # a send: when the CRM sent it, besides when this service recorded it
            rows.append(("Envoyé par le CRM (UTC)", entry["data"]["sent_at"], "body"))
        rows += [
            ("Adresse IP", entry["ip"] or "—", "body"),
            ("Navigateur", entry["user_agent"] or "—", "small"),
            ("Données", canonical_json(entry["data"]), "data"),
            ("SHA-256", entry["sha256"], "mono"),
            ("SHA-256 précédent", entry["prev_sha256"], "mono"),
        ]
        title = f"{entry['seq']}. {STEP_LABELS.get(entry['step'], entry['step'])} ({entry['step']})"
        story.append(KeepTogether([Spacer(1, 4), _p(title, s["label"]), _pairs(rows, s)]))
    story += [_p("Règles de vérification (champ verification de la preuve JSON)", s["h2"])]
    story += [_p(step, s["body"]) for step in proof["verification"]]
    story += [
        Spacer(1, 4),
        _p("Ce dossier est lui-même signé électroniquement (PAdES) avec le même certificat : tout lecteur PDF "
           "(panneau Signatures) signale une modification postérieure à la signature. La preuve JSON (même "
           "contenu, lisible par machine) a pour SHA-256 celui indiqué plus haut.", s["body"]),
    ]

    buf = BytesIO()

    def footer(canv, doc_) -> None:
        canv.saveState()
        canv.setFont(SANS, 7)
        canv.drawString(18 * mm, 10 * mm, f"Dossier de preuve — devis {request['number']} — réf. {request['id']}")
        canv.drawRightString(A4[0] - 18 * mm, 10 * mm, f"Page {doc_.page}")
        canv.restoreState()

    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=16 * mm,
                            bottomMargin=18 * mm, title=f"Dossier de preuve — devis {request['number']}",
                            author="Quoteflow", invariant=1)
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return buf.getvalue()
