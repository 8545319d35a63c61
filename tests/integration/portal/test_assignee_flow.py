"""A quote reassigned after it was sent, end to end in one process: the quotes service (SQLite), the portal
(the test World) and the notifier (SQLite, Maildir sink), the events of each handed to the others as the bus
would. The client's page, the view alert and the signature confirmation follow the assignee."""
from __future__ import annotations

import re
from dataclasses import replace
from urllib.parse import unquote

import pytest

from quoteflow.config import CommonConfig
from quoteflow.envelope import Envelope
from quoteflow.v1 import events_pb2
from services.notifier.adapters.mail import read_maildir
from services.notifier.bootstrap import bootstrap as notifier_bootstrap
from services.quotes.bootstrap import bootstrap as quotes_bootstrap
from services.quotes.config import Config as QuotesConfig
from services.quotes.domain import commands
from tests.integration.quotes.support import outbox_events
from tests.support.notifier import make_config as notifier_config


class Suite:
    """quotes → portal + notifier, portal → notifier: each event handed over once, in order."""

    def __init__(self, world, tmp_path):
        self.world = world
        self.tenant = world.tenant
        common = replace(CommonConfig.from_env("quotes"), database_url=f"sqlite:///{tmp_path / 'quotes.db'}",
                         blob_dir=world.config.common.blob_dir, api_keys="")
        self.quotes = quotes_bootstrap(
            QuotesConfig(common=common, grpc_address="127.0.0.1:0", portal_base_url="http://portal.test"),
            pdf=lambda frozen, logo=None: b"%PDF-1.7\n% " + frozen.quote_id.encode() + b"\n%%EOF\n")
        self.notifier = notifier_bootstrap(notifier_config(tmp_path / "notifier"))
        self.from_quotes = 0
        self.from_portal = 0

    def close(self):
        self.quotes.engine.dispose()
        self.notifier.engine.dispose()

    def do(self, command_type, **fields):
        return self.quotes.handle(command_type(tenant=self.tenant, **fields))

    def deliver(self) -> list[str]:
        """Hands every new event on; returns their types."""
        handed = []
        for envelope in outbox_events(self.quotes)[self.from_quotes:]:
            self.from_quotes += 1
            self.world.consume(envelope)
            self.notifier.handle_event(envelope)
            handed.append(envelope.type)
        for doc in self.world.outbox()[self.from_portal:]:
            self.from_portal += 1
            self.notifier.handle_event(Envelope.from_json(doc))
            handed.append(doc["type"])
        self.notifier.dispatch_due()
        return handed

    def mail_to(self, address: str) -> list[str]:
        return sorted(str(m["Subject"]) for m in read_maildir(self.notifier.cfg.mail_sink_dir)
                      if address in str(m["To"]))


@pytest.fixture
def suite(world, tmp_path):
    s = Suite(world, tmp_path)
    yield s
    s.close()


def test_a_reassigned_quote_alerts_and_shows_the_new_assignee_and_follows_their_new_address(suite):
    world = suite.world
    suite.do(commands.UpdateSettings, esignature_enabled=True, company_name="Chauffage Dupré")
    suite.do(commands.UpsertAccount, id="acc", name="Boulangerie Lefèvre")
    suite.do(commands.UpsertContact, id="ct", account_id="acc", name="Chloé Lefèvre", email="chloe@example.fr")
    suite.do(commands.UpsertUser, id="u1", name="Antoine Martin", email="antoine@dupre.example",
             mobile="06 12 34 56 78")
    suite.do(commands.UpsertUser, id="u2", name="Béatrice Roux", email="beatrice@dupre.example")
    quote = suite.do(commands.CreateQuote, account_id="acc", contact_id="ct", assignee_id="u1",
                     lines=(commands.LineInput(description="Chaudière", quantity="1", unit_price="1000",
                                               vat_rate="20"),))
    _, version, _, link = suite.do(commands.SendQuote, quote_id=quote.id)
    assert suite.deliver() == ["quote.sent", "quote.status_changed"]  # the portal and the notifier ignore the latter
    token = link.rsplit("/", 1)[1]
    [sent] = [e.payload() for e in outbox_events(suite.quotes) if e.type == "quote.sent"]
    assert sent.assignee.email == "antoine@dupre.example"

    suite.do(commands.UpdateQuote, quote_id=quote.id, fields=("assignee_id",), assignee_id="u2")
    assert suite.deliver() == ["quote.assignee_changed"]

    html = world.page(token)
    text = world.text(html)
    assert "Votre interlocuteur Béatrice Roux beatrice@dupre.example" in text
    assert "Antoine" not in text and "06 12 34 56 78" not in text and "tel:" not in html
    mailto = unquote(re.search(r'href="(mailto:[^"]+)"[^>]*>Envoyer un retour', html).group(1))
    assert mailto.startswith("mailto:beatrice@dupre.example?subject=")
    assert world.confirm_view(html).status_code in (200, 204)
    assert suite.deliver() == ["portal.quote_viewed"]
    viewed = f"Devis {quote.number} consulté par Chloé Lefèvre"
    assert suite.mail_to("beatrice@dupre.example") == [viewed]
    assert suite.mail_to("antoine@") == []

    # Béatrice's address changes in the CRM: the page and the signature confirmation follow
    suite.do(commands.UpsertUser, id="u2", name="Béatrice Roux", email="b.roux@dupre.example")
    assert suite.deliver() == ["quote.assignee_changed"]
    assert "b.roux@dupre.example" in world.text(world.page(token))
    completed = events_pb2.SignatureCompleted(  # as the signature service tells it: the assignee of quote.sent
        request_id="r-1", quote_id=quote.id, number=quote.number, version=version, signer_name="Chloé Lefèvre",
        signer_email="chloe@example.fr", signed_at="2026-04-03T08:30:00Z", ip="203.0.113.7")
    completed.assignee.CopyFrom(sent.assignee)
    suite.notifier.handle_event(Envelope.wrap(completed, source="quoteflow/signature", subject=f"quote/{quote.id}",
                                              tenant=suite.tenant))
    suite.notifier.dispatch_due()
    assert suite.mail_to("b.roux@dupre.example") == [f"Devis {quote.number} signé par Chloé Lefèvre – Accepté"]
    assert suite.mail_to("antoine@") == [] and suite.mail_to("beatrice@dupre.example") == [viewed]
