"""Revision 0005: published quote.sent rows of the outbox lose the clear link they carried; waiting ones keep it."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import command

from quoteflow.db import make_engine
from quoteflow.migrations import _config
from services.quotes.bootstrap import MIGRATIONS

LINK = "http://127.0.0.1:8080/d/" + "T0k3n-" * 8


def body(event_id: str) -> str:
    return json.dumps({"specversion": "1.0", "id": event_id, "type": "quote.sent", "source": "quoteflow/quotes",
                       "data": {"quote_id": "q1", "version": 1, "link_url": LINK, "link_token_sha256": "a" * 64}})


def test_revision_0005_blanks_the_links_of_published_quote_sent(empty_database_url):
    engine = make_engine(empty_database_url)
    outbox = sa.table("outbox", sa.column("event_id"), sa.column("type"), sa.column("body"),
                      sa.column("created_at", sa.DateTime(timezone=True)),
                      sa.column("published_at", sa.DateTime(timezone=True)), sa.column("attempts"))
    now = datetime(2026, 11, 29, 17, 0, tzinfo=timezone.utc)
    try:
        command.upgrade(_config(engine, MIGRATIONS), "0004")
        with engine.begin() as conn:
            for event_id, published in (("published", now), ("waiting", None)):
                conn.execute(outbox.insert().values(event_id=event_id, type="quote.sent", body=body(event_id),
                                                    created_at=now, published_at=published, attempts=0))
        command.upgrade(_config(engine, MIGRATIONS), "0005")
        with engine.connect() as conn:
            rows = dict(conn.execute(sa.select(outbox.c.event_id, outbox.c.body)).all())
    finally:
        engine.dispose()
    published, waiting = json.loads(rows["published"]), json.loads(rows["waiting"])
    assert published["data"]["link_url"] == "" and published["data"]["link_token_sha256"] == "a" * 64
    assert "T0k3n" not in rows["published"]
    assert waiting["data"]["link_url"] == LINK  # its email has yet to go out, with its link
