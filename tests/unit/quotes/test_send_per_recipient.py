"""Send or relance is decided per recipient: a follow-up only to an address that already got this version."""
from datetime import date, datetime, timedelta, timezone

from services.quotes.domain import model

T0 = datetime(2026, 11, 29, 10, 0, tzinfo=timezone.utc)


def quote() -> model.Quote:
    return model.Quote(id="q", tenant="t", number="DV-2026-00001", account_id="a", contact_id="c",
                       assignee_id="u", title="T", created_at=T0, valid_until=date(2026, 12, 31),
                       lines=[model.Line.parse(0, description="Audit", quantity="1", unit_price="100",
                                               vat_rate="20")])


def send(q: model.Quote, hours: int, recipient: str, received=()) -> str:
    number, _ = q.next_version_number()
    version = model.Version(number=number, content_sha256=q.content_sha256(), pdf_sha256=f"pdf{number}",
                            sent_at=T0 + timedelta(hours=hours), recipient_email=recipient,
                            content=q.content.to_doc())
    return q.record_send(version=version, actor="crm", signature_requested=False, received=received)


def test_the_same_version_to_someone_who_never_got_it_is_a_first_send_but_the_button_stays_relancer():
    q = quote()
    assert send(q, 0, "chloe@x.fr") == "send"
    assert q.send_action == "Relancer par email"
    assert send(q, 1, "paul@x.fr") == "send"
    assert send(q, 2, "paul@x.fr") == "relance"
    assert send(q, 3, "chloe@x.fr") == "relance"
    assert [h.kind for h in q.history if h.kind in ("sent", "relance")] == ["sent", "sent", "relance", "relance"]
    [version] = q.versions
    assert (version.recipient_email, version.last_recipient_email, version.send_count) == (
        "chloe@x.fr", "chloe@x.fr", 4)
    assert q.send_action == "Relancer par email" and q.status == model.Status.SENT


def test_who_got_it_is_read_from_the_versions_links_not_only_its_first_and_latest_send():
    q = quote()
    send(q, 0, "chloe@x.fr")
    send(q, 1, "paul@x.fr")
    send(q, 2, "chloe@x.fr")  # first and latest: Chloé; Paul got it in between
    assert send(q, 3, "paul@x.fr", received={"chloe@x.fr", "paul@x.fr"}) == "relance"
    assert send(q, 4, "zoe@x.fr", received={"chloe@x.fr", "paul@x.fr"}) == "send"


def test_addresses_compare_without_case_or_surrounding_spaces():
    q = quote()
    send(q, 0, "Chloe@X.fr")
    assert send(q, 1, " chloe@x.FR ") == "relance"
    assert send(q, 2, "PAUL@x.fr", received={"paul@x.fr"}) == "relance"


def test_a_new_version_is_a_first_send_to_everyone():
    q = quote()
    send(q, 0, "chloe@x.fr")
    q.revise(T0 + timedelta(hours=1), "crm", title="T2")
    assert send(q, 2, "chloe@x.fr", received={"chloe@x.fr"}) == "send"
    assert [v.number for v in q.versions] == [1, 2]
