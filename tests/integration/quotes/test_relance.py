"""« Relancer par email »: a relance keeps the version's first send; GetQuote shows both; 0004 repairs old rows."""
import hashlib
import uuid
from datetime import date, datetime, timedelta, timezone

import sqlalchemy as sa
from alembic import command
from google.protobuf import field_mask_pb2
from sqlalchemy import select

from quoteflow.db import make_engine
from quoteflow.envelope import rfc3339
from quoteflow.migrations import _config, differences, upgrade
from quoteflow.v1 import quotes_pb2
from services.quotes.adapters import orm
from services.quotes.bootstrap import MIGRATIONS
from tests.integration.quotes.support import send_and_relance, sent_events


def test_a_relance_keeps_the_first_send_and_getquote_shows_the_latest_beside_it(service):
    app, stub = service
    crm, quote, first, again = send_and_relance(stub)
    other = crm.SendQuote(quotes_pb2.SendQuoteRequest(quote_id=quote.id, recipient_contact_id="ct2"))
    assert first.version == again.version == other.version == 1
    assert len({first.link_url, again.link_url, other.link_url}) == 3  # a new link for each send

    detail = crm.GetQuote(quotes_pb2.GetQuoteRequest(quote_id=quote.id))
    sends = [h for h in detail.history if h.kind in ("sent", "relance")]
    assert [h.kind for h in sends] == ["sent", "relance", "sent"]  # Paul never had it: a first send to him
    [version] = detail.versions
    assert (version.sent_at, version.recipient_email) == (sends[0].at, "chloe@example.fr")
    assert (version.last_sent_at, version.last_recipient_email, version.send_count) == (
        sends[-1].at, "paul@example.fr", 3)
    assert version.sent_at < version.last_sent_at
    assert [e.payload().kind for e in sent_events(app)] == ["send", "relance", "send"]

    with app.uow() as uow:  # the command path reads the same thing as the detail
        [loaded] = uow.quotes.get("tenant-a", quote.id).versions
    assert rfc3339(loaded.sent_at) == version.sent_at and rfc3339(loaded.last_sent_at) == version.last_sent_at
    with app.engine.connect() as conn:  # every send kept its own link to the same version
        links = conn.execute(select(orm.quote_links.c.token_sha256, orm.quote_links.c.version,
                                    orm.quote_links.c.recipient_email).where(
            orm.quote_links.c.quote_id == quote.id).order_by(orm.quote_links.c.created_at)).all()
    tokens = [url.rsplit("/", 1)[1] for url in (first.link_url, again.link_url, other.link_url)]
    assert links == [(hashlib.sha256(t.encode()).hexdigest(), 1, email) for t, email in
                     zip(tokens, ["chloe@example.fr", "chloe@example.fr", "paul@example.fr"])]

    crm.UpdateQuote(quotes_pb2.UpdateQuoteRequest(quote_id=quote.id, title="Autre titre",
                                                  update_mask=field_mask_pb2.FieldMask(paths=["title"])))
    crm.SendQuote(quotes_pb2.SendQuoteRequest(quote_id=quote.id))
    v1, v2 = crm.GetQuote(quotes_pb2.GetQuoteRequest(quote_id=quote.id)).versions
    assert (v1.sent_at, v1.last_sent_at, v1.send_count) == (version.sent_at, version.last_sent_at, 3)
    assert (v2.number, v2.send_count, v2.last_sent_at) == (2, 1, v2.sent_at)


def test_revision_0004_gives_old_versions_their_first_send_back_from_their_links(empty_database_url):
    """Before 0004 a relance overwrote sent_at and recipient_email; each send had stored one link."""
    engine = make_engine(empty_database_url)
    t0 = datetime(2026, 11, 2, 9, 30, tzinfo=timezone.utc)
    quote_id = str(uuid.uuid4())
    quotes = sa.table("quotes", *(sa.column(c) for c in (
        "id", "tenant", "number", "status", "account_id", "contact_id", "assignee_id", "title", "terms",
        "view_count", "download_count")), sa.column("lines", sa.JSON), sa.column("valid_until", sa.Date),
                      sa.column("created_at", sa.DateTime(timezone=True)))
    versions = sa.table("quote_versions", sa.column("quote_id"), sa.column("number"), sa.column("content_sha256"),
                        sa.column("pdf_sha256"), sa.column("sent_at", sa.DateTime(timezone=True)),
                        sa.column("recipient_email"))
    links = sa.table("quote_links", sa.column("token_sha256"), sa.column("quote_id"), sa.column("version"),
                     sa.column("recipient_email"), sa.column("created_at", sa.DateTime(timezone=True)))
    sends = [(1, t0, "chloe@example.fr"), (1, t0 + timedelta(days=3), "chloe@example.fr"),
             (1, t0 + timedelta(days=5), "paul@example.fr"), (2, t0 + timedelta(days=9), "paul@example.fr")]
    try:
        command.upgrade(_config(engine, MIGRATIONS), "0003")
        with engine.begin() as conn:
            conn.execute(quotes.insert().values(
                id=quote_id, tenant="t", number="DV-2026-00007", status="Envoyé", account_id="a", contact_id="c",
                assignee_id="u", title="T", lines=[], valid_until=date(2026, 12, 31), terms="",
                created_at=t0 - timedelta(days=1), view_count=0, download_count=0))
            for number, latest, email in ((1, sends[2][1], sends[2][2]), (2, sends[3][1], sends[3][2])):
                conn.execute(versions.insert().values(quote_id=quote_id, number=number, content_sha256="c" * 64,
                                                      pdf_sha256=f"{number}" * 64, sent_at=latest,
                                                      recipient_email=email))
            conn.execute(links.insert(), [dict(token_sha256=f"{i}" * 64, quote_id=quote_id, version=number,
                                               recipient_email=email, created_at=at)
                                          for i, (number, at, email) in enumerate(sends)])
        upgrade(engine, MIGRATIONS)
        assert differences(engine, orm.metadata) == []
        with engine.connect() as conn:
            rows = conn.execute(select(orm.quote_versions).where(orm.quote_versions.c.quote_id == quote_id)
                                .order_by(orm.quote_versions.c.number)).mappings().all()
        got = [(r["number"], _utc(r["sent_at"]), r["recipient_email"], _utc(r["last_sent_at"]),
                r["last_recipient_email"], r["send_count"]) for r in rows]
        assert got == [(1, t0, "chloe@example.fr", t0 + timedelta(days=5), "paul@example.fr", 3),
                       (2, t0 + timedelta(days=9), "paul@example.fr", t0 + timedelta(days=9), "paul@example.fr", 1)]
    finally:
        engine.dispose()


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
