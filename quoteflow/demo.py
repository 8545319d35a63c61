"""Seeds the demo tenant of ``make run`` through the CRM's gRPC API, once per var/ folder."""
from __future__ import annotations

import json
from pathlib import Path

from quoteflow import client
from quoteflow.v1 import common_pb2, quotes_pb2

LINES = [
    ("Audit du réseau existant", "1", "forfait", "1200.00", "0", "20"),
    ("Commutateur 24 ports PoE — Cœur de réseau", "4", "u", "389.90", "5", "20"),
    ("Installation et mise en service", "6", "h", "85.00", "0", "20"),
    ("Formation des équipes (½ journée)", "1", "forfait", "450.00", "0", "10"),
]


def seed(target: str, key: str, var: Path) -> dict:
    cache = var / "demo.json"
    if cache.exists():
        return json.loads(cache.read_text())
    stub = client.quotes(target, key)
    stub.UpdateSettings(quotes_pb2.Settings(
        esignature_enabled=True, default_validity_days=30,
        company=common_pb2.Company(name="Réseaux Dupont SARL", address="12 rue de la Paix, 75002 Paris",
                                   siret="123 456 789 00012", vat_number="FR12 123456789"),
        default_terms="Paiement à 30 jours fin de mois. Devis valable 30 jours."))
    stub.UpsertAccount(quotes_pb2.Account(id="acc-1", name="Boulangerie Lefèvre", address="3 place du Marché, 69001 Lyon"))
    stub.UpsertContact(quotes_pb2.Contact(id="ct-1", account_id="acc-1", name="Chloé Lefèvre",
                                          email="chloe.lefevre@example.fr", phone="+33600000001"))
    stub.UpsertUser(quotes_pb2.User(id="u-1", name="Antoine Martin", email="antoine.martin@example.com",
                                    mobile="+33600000002"))
    quote = stub.CreateQuote(quotes_pb2.CreateQuoteRequest(
        account_id="acc-1", contact_id="ct-1", assignee_id="u-1", title="Rénovation du réseau informatique",
        lines=[common_pb2.QuoteLine(description=d, quantity=q, unit=u, unit_price=p, discount_percent=r, vat_rate=v)
               for d, q, u, p, r, v in LINES]))
    sent = stub.SendQuote(quotes_pb2.SendQuoteRequest(quote_id=quote.id, attach_pdf=True, request_signature=True))
    demo = {"quote_id": quote.id, "number": quote.number, "recipient": "chloe.lefevre@example.fr",
            "link_url": sent.link_url}
    cache.write_text(json.dumps(demo, indent=2))
    return demo
