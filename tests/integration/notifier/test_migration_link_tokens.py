"""Revision 0005 takes the link tokens the notifier kept in clear out of its database (SQLite and PostgreSQL):
the read model's link_url, the drafts of emails that are over, subjects and its events; queued emails keep theirs."""
import contextlib
import hashlib
import json
import uuid
from datetime import datetime, timezone

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import insert, select

from quoteflow.db import make_engine
from quoteflow.migrations import differences
from services.notifier.adapters import orm
from services.notifier.bootstrap import MIGRATIONS, migrate
from tests.support.backends import private_databases

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=timezone.utc)


def secret() -> str:
    return uuid.uuid4().hex + uuid.uuid4().hex[:12]


def ref(token: str) -> str:
    return "h:" + hashlib.sha256(token.encode()).hexdigest()[:12]


def draft(token: str) -> bytes:
    link = f"https://devis.example/d/{token}"
    return json.dumps({"mail_from": "devis@x.example", "to_name": "Zoé", "subject": "Votre devis",
                       "text": f"Accéder au document : {link}", "html": f'<a href="{link}">Accéder au document</a>',
                       "reply_to": None, "attachments": [["Devis-DV-1.pdf", "ab" * 32, "application/pdf"]],
                       "from_name": "Acme", "partial": False}, ensure_ascii=False, separators=(",", ":")).encode()


def delivery(id_, status, payload, *, channel="email", payload_format="draft", subject="Votre devis"):
    return dict(id=id_, tenant="t", event_id=f"e-{id_}", channel=channel, recipient="zoe@client.example",
                template="quote_send", quote_id="q", subject=subject, status=status, error="", attempts=1,
                created_at=NOW, payload=payload, correlation_id="", sensitive=False, traceparent="",
                payload_format=payload_format)


def check(engine):
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    command.upgrade(config, "0004")
    tokens = {name: secret() for name in ("read", "sent", "queued", "failed", "sms", "message", "subject", "event")}
    with engine.begin() as conn:
        conn.execute(insert(orm.sent_quotes).values(
            tenant="t", quote_id="q", version=1, number="DV-1", total_ttc="12.00", currency="EUR", sent_at=NOW,
            variables=json.dumps({"quote_number": "DV-1", "link_url": f"https://devis.example/d/{tokens['read']}"})))
        conn.execute(insert(orm.deliveries), [
            delivery("sent", "sent", draft(tokens["sent"])),
            delivery("queued", "queued", draft(tokens["queued"]),
                     subject=f"Devis https://devis.example/d/{tokens['subject']}"),
            delivery("failed", "failed", draft(tokens["failed"])),
            delivery("sms", "sent", f"Devis : https://devis.example/d/{tokens['sms']}".encode(), channel="sms",
                     payload_format="message"),
            delivery("message", "sent", f"Subject: x\r\n\r\nhttps://devis.example/d/{tokens['message']}".encode(),
                     payload_format="message"),
        ])
        conn.execute(insert(orm.outbox).values(
            event_id="ev-1", type="notification.sent", created_at=NOW, attempts=0,
            body=json.dumps({"data": {"subject": f"Devis https://devis.example/d/{tokens['event']}"}})))
    migrate(engine)
    assert differences(engine, orm.metadata) == []
    with engine.connect() as conn:
        variables = json.loads(conn.execute(select(orm.sent_quotes.c.variables)).scalar_one())
        rows = {row.id: row for row in conn.execute(select(orm.deliveries)).all()}
        body = conn.execute(select(orm.outbox.c.body)).scalar_one()
    assert variables == {"quote_number": "DV-1"}
    for name in ("sent", "failed"):
        kept = json.loads(bytes(rows[name].payload))
        assert tokens[name] not in json.dumps(kept) and ref(tokens[name]) in kept["text"] + kept["html"]
        assert kept["attachments"] == [["Devis-DV-1.pdf", "ab" * 32, "application/pdf"]] and kept["from_name"] == "Acme"
    assert tokens["queued"] in bytes(rows["queued"].payload).decode()  # still to be sent, with its link
    assert rows["queued"].subject == f"Devis https://devis.example/d/{ref(tokens['subject'])}"
    assert bytes(rows["sms"].payload).decode() == f"Devis : https://devis.example/d/{ref(tokens['sms'])}"
    assert bytes(rows["message"].payload) == b""
    assert tokens["event"] not in body and ref(tokens["event"]) in body
    dump = json.dumps([[str(v) for v in row] for row in rows.values()]) + body + json.dumps(variables)
    assert [name for name, token in tokens.items() if token in dump] == ["queued"]


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    with contextlib.ExitStack() as stack:
        url = (f"sqlite:///{tmp_path / 'notifier.db'}" if request.param == "sqlite"
               else stack.enter_context(private_databases(["notifier"]))["notifier"])
        engine = make_engine(url)
        stack.callback(engine.dispose)
        yield engine


def test_the_tokens_kept_in_clear_are_taken_out(engine):
    check(engine)
