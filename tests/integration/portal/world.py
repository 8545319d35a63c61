"""A test portal: a real SQLite file, a real blob folder, quote.sent envelopes, and a real gRPC server
standing in for the signature service (the portal's outside boundary). Used by the integration tests
(through conftest.py) and the browser tests."""
from __future__ import annotations

import hashlib
import html as html_lib
import json
import re
import secrets
import threading
import uuid
from datetime import timedelta
from pathlib import Path

import grpc
from sqlalchemy import select

from quoteflow import auth
from quoteflow.blobs import FolderBlobStore
from quoteflow.config import CommonConfig
from quoteflow.envelope import Envelope, rfc3339, utcnow
from quoteflow.grpcserver import build_server
from quoteflow.v1 import common_pb2, events_pb2, signature_pb2, signature_pb2_grpc
from services.portal.adapters import orm
from services.portal.adapters.signature import GrpcSigner
from services.portal.config import PortalConfig
from services.portal.entrypoints.consumer import make_handler
from services.portal.entrypoints.web import create_app

PDF = b"%PDF-1.7\n% Devis fictif \xe2\x82\xac\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
UA = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Mobile Safari/537.36"
CLIENT_IP = "203.0.113.7"
SIGNED_AT = "2025-03-06T09:30:00.000000Z"


def make_config(tmp_path: Path, database_url: str = "", **overrides) -> PortalConfig:
    common = CommonConfig(service="portal", database_url=database_url or f"sqlite:///{tmp_path / 'portal.db'}",
                          broker_url="memory://", blob_dir=tmp_path / "blobs", api_keys="",
                          service_key="svc-" + secrets.token_hex(8), max_attempts=3)
    overrides.setdefault("spool_dir", tmp_path / "spool")
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


class RecordingSignatureService(signature_pb2_grpc.SignatureServiceServicer):
    """Answers like the signature service; keeps what it received.

    ``refuse[method] = DomainError(...)`` fails through the kernel's error table;
    ``refuse[method] = grpc.StatusCode.X`` aborts with that status.
    """

    def __init__(self):
        self.calls: dict[str, list] = {"Sign": [], "Decline": [], "RequestCode": [], "RecordOpened": [],
                                       "GetRequest": []}
        self.signed: dict[tuple[str, str], tuple[int, str]] = {}  # (tenant, quote) -> (version, signed PDF)
        self.tenants: list[str] = []
        self.refuse: dict[str, Exception] = {}
        self.lock = threading.Lock()

    def _record(self, method, request, context):
        tenant = auth.tenant(request.tenant_id)  # a service caller must name the tenant
        with self.lock:
            self.calls[method].append(request)
            self.tenants.append(tenant)
        refusal = self.refuse.get(method)
        if isinstance(refusal, grpc.StatusCode):
            context.abort(refusal, f"{method} refused")
        if refusal is not None:
            raise refusal

    @property
    def requests(self) -> list:
        return self.calls["Sign"]

    def Sign(self, request, context):
        self._record("Sign", request, context)
        signed_pdf_sha256 = getattr(self, "signed_pdf_sha256", "f" * 64)
        self.signed[(request.tenant_id, request.quote_id)] = (request.version, signed_pdf_sha256)
        return signature_pb2.SignResponse(request_id="req-" + secrets.token_hex(4), signed_at=SIGNED_AT,
                                          signer_name=request.signer_name, evidence_sha256="e" * 64,
                                          signed_pdf_sha256=signed_pdf_sha256, proof_sha256="a" * 64)

    def Decline(self, request, context):
        self._record("Decline", request, context)
        return signature_pb2.DeclineResponse(request_id="req-d", declined_at="2025-03-07T08:15:00Z")

    def RequestCode(self, request, context):
        self._record("RequestCode", request, context)
        return signature_pb2.RequestCodeResponse(channel="email", masked_recipient="z***@example.fr",
                                                 expires_at=rfc3339(utcnow() + timedelta(minutes=10)))

    def RecordOpened(self, request, context):
        self._record("RecordOpened", request, context)
        return signature_pb2.RecordOpenedResponse()

    def GetRequest(self, request, context):
        self._record("GetRequest", request, context)
        found = self.signed.get((request.tenant_id, request.quote_id))
        if found is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"no signature request for quote {request.quote_id!r}")
        return signature_pb2.SignatureRequest(quote_id=request.quote_id, version=found[0], status="signed",
                                              signed_pdf_sha256=found[1])


class SignatureServer:
    def __init__(self):
        self.service_key = "svc-" + secrets.token_hex(8)
        self.servicer = RecordingSignatureService()
        self.server, self.port, _ = build_server(
            "127.0.0.1:0", [lambda s: signature_pb2_grpc.add_SignatureServiceServicer_to_server(self.servicer, s)],
            ["quoteflow.v1.SignatureService"], auth.KeyRing({}, self.service_key))
        self.server.start()

    def signer(self) -> GrpcSigner:
        return GrpcSigner(f"127.0.0.1:{self.port}", self.service_key, timeout=5)

    def stop(self):
        self.server.stop(0).wait()


class World:
    """One test's portal: the app, its consumer callback, its blob store, a signature service, sent quotes."""

    def __init__(self, tmp_path: Path, config_overrides: dict | None = None, database_url: str = "", **deps):
        self.tmp_path = tmp_path
        tmp_path.mkdir(parents=True, exist_ok=True)
        self.config = make_config(tmp_path, database_url, **(config_overrides or {}))
        self.blobs = FolderBlobStore(self.config.common.blob_dir)
        self.signature = None
        if "signer" not in deps:
            self.signature = SignatureServer()
            deps["signer"] = self.signature.signer()
        self.app = create_app(self.config, **deps)
        self.portal = self.app.extensions["portal"]
        self.client = self.app.test_client()
        self.consume = make_handler(self.portal.handle)
        self.tenant = "t-" + uuid.uuid4().hex[:8]

    @property
    def servicer(self) -> RecordingSignatureService:
        return self.signature.servicer

    def close(self):
        self.portal.close()
        if self.signature is not None:
            self.signature.stop()

    def send(self, *, quote_id: str | None = None, version: int = 1, number: str | None = None,
             signature_requested: bool = True, expires_in: timedelta = timedelta(days=30),
             pdf: bytes | None = None, recipient: str = "zoe@example.fr", signature_otp: str = "",
             **snapshot_changes) -> dict:
        quote_id = quote_id or "q-" + uuid.uuid4().hex[:10]
        number = number or f"DV-2026-{secrets.randbelow(100000):05d}"
        token = secrets.token_urlsafe(32)
        pdf_sha = self.blobs.put(pdf or PDF + quote_id.encode() + bytes([version]))
        snap = snapshot(number, version, **snapshot_changes)
        snap.quote_id = quote_id
        sent = events_pb2.QuoteSent(
            quote_id=quote_id, number=number, version=version, kind="send" if version == 1 else "relance",
            recipient=common_pb2.Party(id="ct-1", name="Zoé Bérénice", email=recipient),
            assignee=snap.assignee, link_url=f"http://127.0.0.1:8080/d/{token}",
            link_token_sha256=hashlib.sha256(token.encode()).hexdigest(),
            expires_at=rfc3339(utcnow() + expires_in), pdf_sha256=pdf_sha,
            signature_requested=signature_requested, snapshot=snap, subject=f"Devis {number}", template="envoi",
            signature_otp=signature_otp)
        envelope = Envelope.wrap(sent, source="quoteflow/quotes", subject=f"quote/{quote_id}", tenant=self.tenant)
        self.consume(envelope)
        return {"token": token, "quote_id": quote_id, "number": number, "version": version,
                "pdf_sha256": pdf_sha, "envelope": envelope}

    def completed(self, sent: dict, *, signer_name="Zoé Bérénice", signed_at="2025-07-14T16:05:00Z",
                  signed_pdf: bytes | None = None) -> Envelope:
        signed_sha = self.blobs.put(signed_pdf) if signed_pdf is not None else "b" * 64
        if self.signature is not None:  # what the signature service holds: the copy it will vouch for
            self.servicer.signed[(self.tenant, sent["quote_id"])] = (sent["version"], signed_sha)
        done = events_pb2.SignatureCompleted(
            request_id="r-1", quote_id=sent["quote_id"], number=sent["number"], version=sent["version"],
            signer_name=signer_name, signer_email="zoe@example.fr", signed_at=signed_at,
            document_sha256=sent["pdf_sha256"], signed_pdf_sha256=signed_sha)
        envelope = Envelope.wrap(done, source="quoteflow/signature", subject=f"quote/{sent['quote_id']}",
                                 tenant=self.tenant)
        self.consume(envelope)
        return envelope

    def declined(self, sent: dict, *, reason: str, declined_at="2025-07-15T08:00:00Z") -> Envelope:
        payload = events_pb2.SignatureDeclined(
            request_id="r-1", quote_id=sent["quote_id"], number=sent["number"], version=sent["version"],
            signer_name="Zoé Bérénice", signer_email="zoe@example.fr", reason=reason, declined_at=declined_at)
        envelope = Envelope.wrap(payload, source="quoteflow/signature", subject=f"quote/{sent['quote_id']}",
                                 tenant=self.tenant)
        self.consume(envelope)
        return envelope

    def withdrawn(self, sent: dict, *, reason: str = "Erreur de tarif") -> Envelope:
        """quote.withdrawn of the quote ``sent`` belongs to, up to its version."""
        payload = events_pb2.QuoteWithdrawn(quote_id=sent["quote_id"], number=sent["number"], version=sent["version"],
                                            reason=reason, withdrawn_at=rfc3339(utcnow()), actor="crm")
        envelope = Envelope.wrap(payload, source="quoteflow/quotes", subject=f"quote/{sent['quote_id']}",
                                 tenant=self.tenant)
        self.consume(envelope)
        return envelope

    # --- as a browser would -----------------------------------------------------------------

    def get(self, path: str, ua: str = UA, **kw):
        headers = {"User-Agent": ua, **kw.pop("headers", {})}
        return self.client.get(path, headers=headers, environ_base={"REMOTE_ADDR": CLIENT_IP}, **kw)

    def post(self, path: str, data: dict, ua: str = UA, **kw):
        headers = {"User-Agent": ua, **kw.pop("headers", {})}
        return self.client.post(path, data=data, headers=headers, environ_base={"REMOTE_ADDR": CLIENT_IP}, **kw)

    def page(self, token: str) -> str:
        response = self.get(f"/d/{token}")
        assert response.status_code == 200, response.status_code
        return response.get_data(as_text=True)

    @staticmethod
    def beacon_of(html: str) -> dict:
        """What portal.js posts: the view URL, the view id and the CSRF token, read from the page."""
        main = re.search(r'<main[^>]*data-view-url="([^"]+)"[^>]*data-view-id="([^"]+)"[^>]*data-csrf="([^"]+)"',
                         html)
        assert main, "the page carries no view beacon"
        return {"url": html_lib.unescape(main.group(1)), "vue": main.group(2), "csrf_token": main.group(3)}

    def confirm_view(self, html: str, ua: str = UA, headers: dict | None = None):
        beacon = self.beacon_of(html)
        return self.post(beacon["url"], {"vue": beacon["vue"], "csrf_token": beacon["csrf_token"]}, ua=ua,
                         headers=headers or {})

    @staticmethod
    def text(html: str) -> str:
        return text_of(html)

    def outbox(self, kind: str | None = None) -> list[dict]:
        """The portal's outbox, once the downloads spooled so far are in it (FactWriter sends them a moment
        after the request)."""
        assert self.portal.facts.flush(10)
        with self.portal.engine.connect() as conn:
            rows = conn.execute(select(orm.outbox).order_by(orm.outbox.c.id)).mappings().all()
        events = [json.loads(row["body"]) for row in rows]
        return [e for e in events if kind is None or e["type"] == kind]


def text_of(html: str) -> str:
    """Page text with Babel's (narrow) no-break spaces as plain spaces, tags dropped."""
    plain = html_lib.unescape(re.sub(r"<[^>]+>", " ", html))
    plain = plain.replace("\u202f", " ").replace("\u00a0", " ")
    return re.sub(r"\s+", " ", plain)
