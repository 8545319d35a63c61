"""A relance (« Relancer par email ») keeps the version's first send and tells the latest one beside it."""
from datetime import date, datetime, timedelta, timezone

from services.quotes.domain import model

FIRST = datetime(2026, 11, 29, 10, 0, tzinfo=timezone.utc)
LATER = FIRST + timedelta(days=3, hours=2)


def quote() -> model.Quote:
    return model.Quote(id="q", tenant="t", number="DV-2026-00001", account_id="a", contact_id="c",
                       assignee_id="u", title="T", created_at=FIRST, valid_until=date(2026, 12, 31),
                       lines=[model.Line.parse(0, description="Audit", quantity="1", unit_price="100",
                                               vat_rate="20")])


def send(q: model.Quote, at: datetime, recipient: str) -> str:
    number, _ = q.next_version_number()
    version = model.Version(number=number, content_sha256=q.content_sha256(), pdf_sha256=f"pdf{number}",
                            sent_at=at, recipient_email=recipient, content=q.content.to_doc())
    return q.record_send(version=version, actor="crm", signature_requested=True)


def test_a_version_sent_once_has_its_latest_send_equal_to_its_first():
    q = quote()
    assert send(q, FIRST, "chloe@x.fr") == "send"
    [v] = q.versions
    assert (v.sent_at, v.recipient_email) == (FIRST, "chloe@x.fr")
    assert (v.last_sent_at, v.last_recipient_email, v.send_count) == (FIRST, "chloe@x.fr", 1)


def test_a_relance_keeps_the_first_send_and_records_the_latest():
    q = quote()
    send(q, FIRST, "chloe@x.fr")
    assert send(q, LATER, "chloe@x.fr") == "relance"
    # another contact of the account, who never got it: a first send to him, of the same version
    assert send(q, LATER + timedelta(hours=1), "paul@x.fr") == "send"
    [v] = q.versions
    assert (v.sent_at, v.recipient_email) == (FIRST, "chloe@x.fr")
    assert (v.last_sent_at, v.last_recipient_email, v.send_count) == (LATER + timedelta(hours=1), "paul@x.fr", 3)
    sends = [(h.kind, h.at, h.detail) for h in q.history if h.kind in ("sent", "relance")]
    assert sends == [("sent", FIRST, "version 1 à chloe@x.fr, signature électronique demandée"),
                     ("relance", LATER, "version 1 à chloe@x.fr, signature électronique demandée"),
                     ("sent", LATER + timedelta(hours=1), "version 1 à paul@x.fr, signature électronique demandée")]
    assert q.updated_at == LATER + timedelta(hours=1)


def test_a_new_version_starts_its_own_sends():
    q = quote()
    send(q, FIRST, "chloe@x.fr")
    send(q, LATER, "chloe@x.fr")
    q.revise(LATER, "crm", title="T2")
    assert send(q, LATER + timedelta(days=1), "paul@x.fr") == "send"
    v1, v2 = q.versions
    assert (v1.sent_at, v1.last_sent_at, v1.send_count) == (FIRST, LATER, 2)
    assert (v2.sent_at, v2.last_sent_at, v2.recipient_email, v2.send_count) == (
        LATER + timedelta(days=1), LATER + timedelta(days=1), "paul@x.fr", 1)
