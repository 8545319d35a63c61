"""Fixtures for the notifier's unit tests: a real SQLite file, the Maildir sink and the SMS log in tmp_path."""
from __future__ import annotations

import pytest

from quoteflow.envelope import Envelope
from quoteflow.v1 import common_pb2, events_pb2
from tests.support.notifier import (  # noqa: F401  (fixtures re-exported for pytest)
    app, cfg, make_config, party, party_fixture, portal_event, quote_sent, seal_test_code, tenant)


@pytest.fixture
def signature_event(tenant):
    """signature.completed / signature.declined / signature.code_requested envelopes for a quote."""
    def build(kind: str, quote_id: str, assignee: common_pb2.Party | None = None, **fields) -> Envelope:
        assignee = assignee or party("Jérôme Œuvre", "jerome@vendeur.example", "+33612345678")
        if kind == "completed":
            event = events_pb2.SignatureCompleted(
                request_id="r1", quote_id=quote_id, number="DV-2026-0042", version=1, signer_name="Zoé Lefèvre",
                signer_email="zoe@client.example", signed_at="2026-04-03T08:30:00Z", ip="203.0.113.7")
        elif kind == "declined":
            event = events_pb2.SignatureDeclined(
                request_id="r1", quote_id=quote_id, number="DV-2026-0042", version=1, signer_name="Zoé Lefèvre",
                signer_email="zoe@client.example", declined_at="2026-04-03T08:30:00Z", ip="203.0.113.7",
                reason="Trop cher")
        else:
            event = events_pb2.SignatureCodeRequested(
                request_id="r1", quote_id=quote_id, number="DV-2026-0042", channel="email",
                expires_at=fields.pop("expires_at", "2999-01-01T00:00:00Z"))
            event.sealed_code = seal_test_code(fields.pop("code", "482913"), tenant=tenant, request_id="r1",
                                               expires_at=event.expires_at)
            event.recipient.CopyFrom(party("Zoé Lefèvre", "zoe@client.example", "+33 6 98 76 54 32"))
        event.assignee.CopyFrom(assignee)
        for key, value in fields.items():
            setattr(event, key, value)
        return Envelope.wrap(event, source="quoteflow/signature", subject=f"quote/{quote_id}", tenant=tenant)
    return build
