"""Notifier fixtures shared by its unit and integration tests: a real SQLite file and tmp_path folders."""
from __future__ import annotations

import uuid
from dataclasses import replace
from pathlib import Path

import pytest

from quoteflow import sealing
from quoteflow.config import CommonConfig
from quoteflow.envelope import Envelope
from quoteflow.v1 import common_pb2, events_pb2
from services.notifier.bootstrap import bootstrap
from services.notifier.config import NotifierConfig


def make_config(tmp_path: Path, **overrides) -> NotifierConfig:
    common = CommonConfig(service="notifier", database_url=f"sqlite:///{tmp_path / 'notifier.db'}",
                          broker_url="memory://", blob_dir=tmp_path / "blobs", api_keys="",
                          service_key="test-service-key", max_attempts=3)
    cfg = NotifierConfig(common=common, mail_sink_dir=tmp_path / "mail", sms_log=tmp_path / "sms.log",
                         retry_base_seconds=0.01, sweep_seconds=0.5)
    return replace(cfg, **overrides)


@pytest.fixture
def tenant() -> str:
    return f"tenant-{uuid.uuid4().hex[:8]}"


def seal_test_code(code: str, *, tenant: str, request_id: str, expires_at: str) -> bytes:
    """A one-time code sealed as signature seals it, for the key make_config() gives the notifier."""
    return sealing.seal_code(sealing.seal_key("", "test-service-key"), code, tenant=tenant, request_id=request_id,
                             expires_at=expires_at)


@pytest.fixture
def cfg(tmp_path) -> NotifierConfig:
    return make_config(tmp_path)


@pytest.fixture
def app(cfg):
    notifier = bootstrap(cfg)
    yield notifier
    notifier.engine.dispose()


def party(name: str, email: str, phone: str = "", id_: str = "") -> common_pb2.Party:
    return common_pb2.Party(id=id_ or f"user-{uuid.uuid4().hex[:8]}", name=name, email=email, phone=phone)


@pytest.fixture(name="party")
def party_fixture():
    return party


@pytest.fixture
def quote_sent(tenant):
    def build(**fields) -> Envelope:
        quote_id = fields.pop("quote_id", f"q-{uuid.uuid4().hex[:8]}")
        event = events_pb2.QuoteSent(
            quote_id=quote_id, number="DV-2026-0042", version=1, kind="send",
            recipient=party("Zoé Lefèvre", "zoe@client.example"),
            assignee=party("Jérôme Œuvre", "jerome@vendeur.example", "+33612345678"),
            link_url=f"http://127.0.0.1:8080/d/{uuid.uuid4().hex}",
            snapshot=common_pb2.QuoteSnapshot(
                number="DV-2026-0042", title="Maintenance annuelle", valid_until="2026-03-31",
                company=common_pb2.Company(name="Acme & Fils"),
                totals=common_pb2.Totals(total_ht="1028.80", total_ttc="1234.56", currency="EUR")),
        )
        for key, value in fields.items():
            if isinstance(value, common_pb2.Party):
                getattr(event, key).CopyFrom(value)
            else:
                setattr(event, key, value)
        return Envelope.wrap(event, source="quoteflow/quotes", subject=f"quote/{quote_id}", tenant=tenant)
    return build


@pytest.fixture
def portal_event(tenant):
    def build(kind: str = "viewed", assignee: common_pb2.Party | None = None, **fields) -> Envelope:
        message = events_pb2.QuoteViewed if kind == "viewed" else events_pb2.QuoteDownloaded
        quote_id = fields.pop("quote_id", f"q-{uuid.uuid4().hex[:8]}")
        values = dict(number="DV-2026-0042", version=1, recipient_email="zoe@client.example", ip="203.0.113.7",
                      user_agent="Mozilla/5.0 Firefox/128.0", at="2026-04-03T12:05:00Z")
        event = message(quote_id=quote_id, **{**values, **fields})
        event.assignee.CopyFrom(assignee or party("Jérôme Œuvre", "jerome@vendeur.example", "+33612345678"))
        return Envelope.wrap(event, source="quoteflow/portal", subject=f"quote/{quote_id}", tenant=tenant)
    return build


