"""Quote snapshots for the PDF tests and bench, totals computed here (not by the renderer)."""

from __future__ import annotations

import io
import uuid
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

from babel.numbers import format_currency

from quoteflow.v1 import common_pb2

CENT = Decimal("0.01")
RATES = ("20", "10", "5.5", "2.1", "0")
DESCRIPTION = "Cœur de réseau — €uro <b>test</b>"


def _q(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def make_snapshot(n_lines: int, number: str | None = None) -> common_pb2.QuoteSnapshot:
    number = number or f"D-2026-{uuid.uuid4().hex[:6].upper()}"
    snap = common_pb2.QuoteSnapshot(
        quote_id=str(uuid.uuid4()),
        number=number,
        title="Renouvellement de l'infrastructure réseau — siège de Nantes",
        version=1,
        issued_on="2026-11-29",
        valid_until="2026-12-29",
        company=common_pb2.Company(
            name="Réseaux & Cœurs SAS",
            address="12 rue de l'Église\n44000 Nantes",
            siret="123 456 789 00012",
            vat_number="FR12 123456789",
        ),
        account=common_pb2.Party(
            id=str(uuid.uuid4()),
            name="Bœuf & Œufs SARL",
            address="3 place du Marché\n69002 Lyon",
        ),
        contact=common_pb2.Party(id=str(uuid.uuid4()), name="Hélène Lefèvre", email="helene@boeuf-oeufs.fr"),
        assignee=common_pb2.Party(
            id=str(uuid.uuid4()),
            name="François Çelik",
            email="francois@reseaux-coeurs.fr",
            phone="+33 6 12 34 56 78",
        ),
        terms=(
            "Paiement à 30 jours fin de mois. Acompte de 30 % à la commande.\n"
            "Pénalités de retard : trois fois le taux d'intérêt légal. Indemnité forfaitaire de 40 € pour frais de recouvrement."
        ),
    )
    bases: dict[str, Decimal] = defaultdict(Decimal)
    for i in range(n_lines):
        qty = Decimal(1 + i % 7) + (Decimal("0.5") if i % 5 == 0 else 0)
        unit_price = Decimal("1234.56") + Decimal(i * 17) + Decimal("0.07") * (i % 3)
        discount = Decimal((i % 4) * 5)
        rate = RATES[i % len(RATES)]
        total = _q(qty * unit_price * (1 - discount / 100))
        bases[rate] += total
        description = f"{DESCRIPTION} n°{i + 1}"
        if i % 6 == 3:
            description += " — prestation d'installation, de paramétrage et de mise en service sur site, déplacement inclus"
        snap.lines.append(
            common_pb2.QuoteLine(
                description=description,
                product_ref=f"REF-{i:04d}",
                quantity=str(qty),
                unit="u" if i % 2 else "jour",
                unit_price=str(unit_price),
                discount_percent=str(discount),
                vat_rate=rate,
                total_ht=str(total),
            )
        )
    total_ht = sum(bases.values(), Decimal(0))
    total_vat = Decimal(0)
    for rate in sorted(bases, key=Decimal, reverse=True):
        vat = _q(bases[rate] * Decimal(rate) / 100)
        total_vat += vat
        snap.totals.vat.append(common_pb2.VatAmount(rate=rate, base_ht=str(bases[rate]), vat=str(vat)))
    snap.totals.total_ht = str(total_ht)
    snap.totals.total_vat = str(total_vat)
    snap.totals.total_ttc = str(total_ht + total_vat)
    snap.totals.currency = "EUR"
    return snap


def norm(text: str) -> str:
    """No-break spaces (U+202F, U+00A0) as plain spaces, to compare extracted text."""
    return text.replace("\u202f", " ").replace("\u00a0", " ")


def eur(amount: str) -> str:
    return norm(format_currency(Decimal(amount), "EUR", locale="fr_FR"))


def pdf_pages(data: bytes) -> list[str]:
    import pypdf

    return [norm(page.extract_text()) for page in pypdf.PdfReader(io.BytesIO(data)).pages]
