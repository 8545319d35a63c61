"""A signature request as a test starts from (shared by unit tests that need no other setup)."""
from datetime import datetime, timezone

from services.signature.domain import model

NOW = datetime(2026, 11, 29, 9, 30, tzinfo=timezone.utc)
ZOE = model.Party(id="c-1", name="Zoë Lœwy", email="zoe@example.fr", phone="+33612345678")


def request(**kw) -> model.SignatureRequest:
    values = dict(id="r-1", tenant="t", quote_id="q-1", number="DV-2026-00042", version=2, document_sha256="d" * 64,
                  signer=ZOE, assignee=model.Party(id="u-1", name="Hélène", email="helene@vendeur.fr"),
                  amount_ttc="1234.56", currency="EUR", at=NOW)
    values.update(kw)
    return model.SignatureRequest.open(**values)
