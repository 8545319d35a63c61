"""Helpers shared by the signature service's integration tests (fixtures live in conftest.py)."""
from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime, timedelta
from io import BytesIO
from pathlib import Path

import grpc
import pytest
from PIL import Image, ImageDraw
from reportlab.pdfgen import canvas
from sqlalchemy import select

from quoteflow import sealing
from quoteflow.config import CommonConfig
from quoteflow.envelope import Envelope, utcnow
from quoteflow.v1 import signature_pb2
from services.signature.adapters import orm
from services.signature.config import Config

SERVICE_KEY = "test-service-key"
AUTH = (("authorization", f"Bearer {SERVICE_KEY}"),)


class Clock:
    """The real time, plus whatever a test moved it forward by."""

    def __init__(self):
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return utcnow() + self.offset

    def advance(self, **delta) -> None:
        self.offset += timedelta(**delta)


def make_config(tmp_path: Path, database_url: str = "", **overrides) -> Config:
    common = CommonConfig(service="signature",
                          database_url=database_url or f"sqlite:///{tmp_path / 'signature.db'}",
                          broker_url=f"filesystem://{tmp_path / 'bus'}", blob_dir=tmp_path / "blobs",
                          api_keys="", service_key=SERVICE_KEY, max_attempts=3)
    return replace(Config(common=common, key_dir=tmp_path / "keys"), **overrides)


def quote_pdf(text: str = "Devis DV-2026-00042") -> bytes:
    buf = BytesIO()
    page = canvas.Canvas(buf)
    page.drawString(72, 760, text)
    page.drawString(72, 740, f"ref {uuid.uuid4()}")
    page.showPage()
    page.save()
    return buf.getvalue()


def drawn_signature(width: int = 600, height: int = 200) -> bytes:
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    ImageDraw.Draw(image).line([(20, 150), (120, 40), (200, 160), (320, 50), (450, 150), (580, 60)],
                               fill=(10, 20, 120, 255), width=6)
    buf = BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


def outbox(app, type_: str | None = None) -> list[Envelope]:
    with app.engine.connect() as conn:
        rows = conn.execute(select(orm.outbox.c.body).order_by(orm.outbox.c.id)).scalars().all()
    found = [Envelope.from_json(body) for body in rows]
    return [e for e in found if type_ is None or e.type == type_]


def sent_code(app, envelope: Envelope) -> str:
    """Opens the sealed one-time code of a signature.code_requested, as the notifier does."""
    c = envelope.payload()
    return sealing.open_code(app.config.seal_key, c.sealed_code, tenant=envelope.tenant, request_id=c.request_id,
                             expires_at=c.expires_at)


def sign_request(sent: Envelope, **kw) -> signature_pb2.SignRequest:
    p = sent.payload()
    values = dict(tenant_id=sent.tenant, quote_id=p.quote_id, version=p.version, document_sha256=p.pdf_sha256,
                  signer_name="Zoë Lœwy", consent=True, ip="203.0.113.9", user_agent="Mozilla/5.0 Firefox/133",
                  signer_email="zoe@client.fr")
    values.update(kw)
    return signature_pb2.SignRequest(**values)


def error_of(call) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as raised:
        call()
    return raised.value


def reason_of(error: grpc.RpcError) -> tuple[str, dict[str, str]]:
    """The google.rpc.ErrorInfo of a refusal: (reason, metadata), or ("", {}) without one."""
    from google.rpc import error_details_pb2
    from grpc_status import rpc_status

    for detail in rpc_status.from_call(error).details:
        info = error_details_pb2.ErrorInfo()
        if detail.Unpack(info):
            assert info.domain == "quoteflow"
            return info.reason, dict(info.metadata)
    return "", {}


def violations(error: grpc.RpcError) -> dict[str, str]:
    from google.rpc import error_details_pb2
    from grpc_status import rpc_status

    found = {}
    for detail in rpc_status.from_call(error).details:
        bad = error_details_pb2.BadRequest()
        if detail.Unpack(bad):
            found.update({v.field: v.description for v in bad.field_violations})
    return found
