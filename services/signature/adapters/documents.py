"""The pages the signature service writes (reportlab): the signature certificate page and the proof file.

Text is drawn with an embedded DejaVu Sans so every name prints as typed
(accents, œ, €, other scripts); user text in Paragraph markup is escaped.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from io import BytesIO
from pathlib import Path
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from babel.numbers import format_currency
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader, simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas
from reportlab.platypus import (Image, KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table,
                                TableStyle)

from services.signature.domain.evidence import canonical_json
from services.signature.domain.model import SealDetails

FONTS = Path(__file__).parent / "fonts"
SANS, BOLD, MONO = "QuoteflowSans", "QuoteflowSans-Bold", "Courier"
_fonts_lock = threading.Lock()

STEP_LABELS = {
    "sent": "Envoi du devis pour signature",
    "opened": "Ouverture du document par le signataire",
    "code_sent": "Envoi d'un code à usage unique",
    "code_verified": "Code à usage unique vérifié",
    "consented": "Consentement au texte affiché",
    "signed": "Signature",
    "declined": "Refus du devis",
    "superseded": "Remplacé par une version plus récente",
}


def _register_fonts() -> None:
    with _fonts_lock:
        registered = pdfmetrics.getRegisteredFontNames()
        if SANS not in registered:
            pdfmetrics.registerFont(TTFont(SANS, str(FONTS / "DejaVuSans.ttf")))
        if BOLD not in registered:
            pdfmetrics.registerFont(TTFont(BOLD, str(FONTS / "DejaVuSans-Bold.ttf")))


def french_date(moment: datetime, tz: str = "Europe/Paris") -> str:
    return format_datetime(moment, "d MMMM y 'à' HH:mm:ss", tzinfo=ZoneInfo(tz), locale="fr_FR") + f" ({tz})"


def _image(png: bytes | None) -> ImageReader | None:
    return ImageReader(BytesIO(png)) if png else None


def _fit(reader: ImageReader, max_w: float, max_h: float) -> tuple[float, float]:
    w, h = reader.getSize()
    scale = min(max_w / w, max_h / h)
    return w * scale, h * scale


@dataclass(frozen=True)
class CertificatePage:
    pdf: bytes
    seal_box: tuple[int, int, int, int]   # where the visible seal goes, in page coordinates


def certificate_page(d: SealDetails, width: float, height: float, tz: str = "Europe/Paris") -> CertificatePage:
    """One page, the size of the quote's last page: who signed what, when, and the drawn signature."""
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
            c.drawString(left + label_w, y, line)
            y -= 15

    row("Devis", f"n° {d.number} (version {d.version})")
    row("Signé par", d.signer_name)
    row("Adresse e-mail", d.signer_email)
    row("Date", french_date(d.signed_at, tz))
    row("Référence", d.reference)
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
        c.drawString(left, y, line)
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
    bottom = max(40.0, y - 92)
    box = (int(left), int(bottom), int(min(left + 300, right)), int(bottom + 80))
    y = bottom - 16
    c.setFont(SANS, 8)
    note = ("Ce document est scellé électroniquement (PAdES) : toute modification postérieure au scellement "
            "invalide le sceau. Le dossier de preuve (journal horodaté et chaîné par SHA-256) accompagne ce "
            "document ; vérification : python -m services.signature verify FICHIER.pdf.")
    for line in simpleSplit(note, SANS, 8, right - left):
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
    }


def _p(text: str, style) -> Paragraph:
    return Paragraph(escape(text or "—").replace("\n", "<br/>"), style)


def _amount(amount: str, currency: str) -> str:
    try:
        return format_currency(Decimal(amount or "0"), currency or "EUR", locale="fr_FR")
    except (InvalidOperation, ValueError):
        return f"{amount} {currency}"


def _pairs(rows: list[tuple[str, str, str]], s) -> Table:
    """(label, value, style name) rows as a two-column table."""
    data = [[_p(label, s["label"]), _p(value, s[style])] for label, value, style in rows]
    table = Table(data, colWidths=[45 * mm, None], hAlign="LEFT")
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
                               ("TOPPADDING", (0, 0), (-1, -1), 1), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    return table


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
        _p("Demande de signature", s["h2"]),
        _pairs([
            ("Référence", request["id"], "mono"),
            ("Devis", f"n° {request['number']}, version {request['version']} (id {request['quote_id']})", "body"),
            ("Montant TTC", _amount(request["amount_ttc"], request["currency"]), "body"),
            ("Validité", request.get("expires_at") or "—", "body"),
            ("Code à usage unique", {"email": "par e-mail", "sms": "par SMS"}.get(
                request.get("one_time_code", ""), "non demandé"), "body"),
        ], s),
        _p("Signataire", s["h2"]),
        _pairs([
            ("Nom saisi", signer["name"], "body"),
            ("Adresse e-mail", signer["email"], "body"),
            ("Contact (id CRM)", signer["contact_id"] or "—", "body"),
            ("Date (UTC)", signer["signed_at"], "body"),
            ("Adresse IP", signer["ip"], "body"),
            ("Navigateur", signer["user_agent"], "small"),
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
    story += [
        _p("Documents et empreintes", s["h2"]), _pairs(doc_rows, s),
        _p("Consentement", s["h2"]),
        _pairs([("Texte affiché", consent["text"], "body"), ("SHA-256 du texte", consent["sha256"], "mono")], s),
        _p("Journal de preuve (append-only, chaîné par SHA-256)", s["h2"]),
        _p(f"{len(proof['evidence'])} entrées ; tête de chaîne : {proof['evidence_sha256']}", s["small"]),
    ]
    for entry in proof["evidence"]:
        rows = [
            ("Date (UTC)", entry["at"], "body"),
            ("Adresse IP", entry["ip"] or "—", "body"),
            ("Navigateur", entry["user_agent"] or "—", "small"),
            ("Données", canonical_json(entry["data"]), "data"),
            ("SHA-256", entry["sha256"], "mono"),
            ("SHA-256 précédent", entry["prev_sha256"], "mono"),
        ]
        title = f"{entry['seq']}. {STEP_LABELS.get(entry['step'], entry['step'])} ({entry['step']})"
        story.append(KeepTogether([Spacer(1, 4), _p(title, s["label"]), _pairs(rows, s)]))
    story += [_p("Vérification", s["h2"])]
    story += [_p(step, s["body"]) for step in proof["verification"]]
    story += [
        Spacer(1, 4),
        _p("Ce dossier est lui-même scellé (PAdES) avec le même certificat : « python -m services.signature "
           "verify » sur ce fichier doit répondre « intact ». La preuve JSON (même contenu, lisible par "
           "machine) a pour SHA-256 celui indiqué plus haut.", s["body"]),
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
