"""Fixtures for the notifier's integration tests: a real SQLite file and tmp_path folders."""
from __future__ import annotations

import pytest

from quoteflow.envelope import Envelope
from quoteflow.v1 import common_pb2, events_pb2
from tests.support.notifier import (  # noqa: F401  (fixtures re-exported for pytest)
    app, cfg, make_config, party, party_fixture, portal_event, quote_sent, seal_test_code, tenant)


@pytest.fixture
def signature_code(tenant):
    def build(channel: str = "sms", code: str = "123456", quote_id: str = "q-otp") -> Envelope:
        event = events_pb2.SignatureCodeRequested(request_id="r1", quote_id=quote_id, number="DV-2026-0042",
                                                  channel=channel, expires_at="2999-01-01T00:00:00Z",
                                                  sealed_code=seal_test_code(code, tenant=tenant, request_id="r1",
                                                                             expires_at="2999-01-01T00:00:00Z"))
        event.recipient.CopyFrom(party("Zoé Lefèvre", "zoe@client.example", "+33 6 98 76 54 32"))
        event.assignee.CopyFrom(party("Jérôme Œuvre", "jerome@vendeur.example"))
        return Envelope.wrap(event, source="quoteflow/signature", subject=f"quote/{quote_id}", tenant=tenant)
    return build
