"""Fixtures for the portal's integration tests: a real SQLite file, a real blob folder, quote.sent envelopes."""
from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from quoteflow.blobs import FolderBlobStore
from quoteflow.config import CommonConfig
from quoteflow.envelope import Envelope, rfc3339, utcnow
from quoteflow.v1 import common_pb2, events_pb2
from services.portal.adapters import orm
from services.portal.config import PortalConfig
from services.portal.entrypoints.consumer import make_handler
from services.portal.entrypoints.web import create_app

PDF = b"%PDF-1.7\n% Devis fictif \xe2\x82\xac\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def make_config(tmp_path: Path, **overrides) -> PortalConfig:
    common = CommonConfig(service="portal", database_url=f"sqlite:///{tmp_path / 'portal.db'}",
                          broker_url="memory://", blob_dir=tmp_path / "blobs", api_keys="",
                          service_key="svc-" + secrets.token_hex(8), max_attempts=3)
    return PortalConfig(common=common, secret_key="csrf-" + secrets.token_hex(16), **overrides)


def snapshot(number: str, version: int, **changes) -> common_pb2.QuoteSnapshot:
    fields = dict(
        quote_id="", number=number, title="Rénovation de la chaufferie", version=version,
        issued_on="2025-03-05", valid_until="2099-04-04",
        company=common_pb2.Company(name="Chauffage Dupré & Fils", address="12 rue de l'Œuvre\n69002 Lyon",
                                   siret="12345678900011", vat_number="FR12345678900"),
        account=common_pb2.Party(id="acc-1", name="Boulangerie Lætitia", address="3 place du Marché\n38000 Grenoble"),
        contact=common_pb2.Party(id="ct-1", name="Zoé Bérénice", email="zoe@example.fr"),
        assignee=common_pb2.Party(id="u-1", name="Hélène Martin", email="helene.martin@dupre.example",
                                  phone="+33600000001"),
        lines=[
            common_pb2.QuoteLine(description="Chaudière à condensation", quantity="1", unit="u",
                                 unit_price="1000", discount_percent="0", vat_rate="20", total_ht="1000.00"),
            common_pb2.QuoteLine(description="Main-d'œuvre <script>alert(1)</script>", quantity="2", unit="h",
                                 unit_price="117.28", discount_percent="0", vat_rate="5.5", total_ht="234.56"),
        ],
        totals=common_pb2.Totals(
            total_ht="1234.56",
            vat=[common_pb2.VatAmount(rate="20", base_ht="1000.00", vat="200.00"),
                 common_pb2.VatAmount(rate="5.5", base_ht="234.56", vat="12.90")],
            total_vat="212.90", total_ttc="1447.46", currency="EUR"),
        terms="Acompte de 30 % à la commande.\nSolde à la livraison.",
    )
    fields.update(changes)
    return common_pb2.QuoteSnapshot(**fields)


class World:
    """One test's portal: the app, its consumer callback, its blob store and sent quotes."""

    def __init__(self, tmp_path: Path, **deps):
        self.tmp_path = tmp_path
        tmp_path.mkdir(parents=True, exist_ok=True)
        self.config = make_config(tmp_path)
        self.blobs = FolderBlobStore(self.config.common.blob_dir)
        self.app = create_app(self.config, **deps)
        self.portal = self.app.extensions["portal"]
        self.client = self.app.test_client()
        self.consume = make_handler(self.portal.handle)
        self.tenant = "t-" + uuid.uuid4().hex[:8]

    def send(self, *, quote_id: str | None = None, version: int = 1, number: str | None = None,
             signature_requested: bool = True, expires_in: timedelta = timedelta(days=30),
             pdf: bytes | None = None, **snapshot_changes) -> dict:
        quote_id = quote_id or "q-" + uuid.uuid4().hex[:10]
        number = number or f"DEV-2025-{secrets.randbelow(10000):04d}"
        token = secrets.token_urlsafe(32)
        pdf_sha = self.blobs.put(pdf or PDF + quote_id.encode() + bytes([version]))
        snap = snapshot(number, version, **snapshot_changes)
        snap.quote_id = quote_id
        sent = events_pb2.QuoteSent(
            quote_id=quote_id, number=number, version=version, kind="send" if version == 1 else "relance",
            recipient=common_pb2.Party(id="ct-1", name="Zoé Bérénice", email="zoe@example.fr"),
            assignee=snap.assignee, link_url=f"http://127.0.0.1:8080/d/{token}",
            link_token_sha256=hashlib.sha256(token.encode()).hexdigest(),
            expires_at=rfc3339(utcnow() + expires_in), pdf_sha256=pdf_sha,
            signature_requested=signature_requested, snapshot=snap, subject=f"Devis {number}", template="envoi")
        envelope = Envelope.wrap(sent, source="quoteflow/quotes", subject=f"quote/{quote_id}", tenant=self.tenant)
        self.consume(envelope)
        return {"token": token, "quote_id": quote_id, "number": number, "version": version,
                "pdf_sha256": pdf_sha, "envelope": envelope}

    @staticmethod
    def text(html: str) -> str:
        return text_of(html)

    def outbox(self) -> list[dict]:
        with self.portal.engine.connect() as conn:
            rows = conn.execute(select(orm.outbox).order_by(orm.outbox.c.id)).mappings().all()
        return [json.loads(row["body"]) for row in rows]


@pytest.fixture
def world(tmp_path):
    w = World(tmp_path)
    yield w
    w.portal.close()


def text_of(html: str) -> str:
    """Page text with Babel's (narrow) no-break spaces as plain spaces, tags dropped."""
    import html as html_lib
    import re

    plain = html_lib.unescape(re.sub(r"<[^>]+>", " ", html))
    plain = plain.replace("\u202f", " ").replace("\u00a0", " ")
    return re.sub(r"\s+", " ", plain)


@pytest.fixture
def make_world(tmp_path):
    """Builds a World with its own dependencies (e.g. ``signer=``); closed after the test."""
    built: list[World] = []

    def make(**deps) -> World:
        w = World(tmp_path / f"w{len(built)}", **deps)
        built.append(w)
        return w

    yield make
    for w in built:
        w.portal.close()
