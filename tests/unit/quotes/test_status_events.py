"""Every change of a quote's status records exactly one QuoteStatusChanged, with what it left, what it became and
why; a withdrawal also records a QuoteWithdrawn. In the domain alone."""
import re
from datetime import date, datetime, timedelta, timezone

import pytest

from quoteflow.errors import FailedPrecondition
from services.quotes.domain import events, model

NOW = datetime(2026, 11, 29, 10, 0, tzinfo=timezone.utc)
LATER = NOW + timedelta(hours=2)
S = model.Status


def line(price="100"):
    return model.Line.parse(0, description="Audit", quantity="1", unit_price=price, vat_rate="20")


def quote() -> model.Quote:
    return model.Quote(id="q-1", tenant="acme", number="DV-2026-00042", account_id="a", contact_id="c",
                       assignee_id="u", title="Réseau", lines=[line()], valid_until=date(2026, 12, 31),
                       created_at=NOW)


def send(q: model.Quote, at: datetime = NOW) -> str:
    number, _ = q.next_version_number()
    version = model.Version(number=number, content_sha256=q.content_sha256(), pdf_sha256=f"pdf{number}",
                            sent_at=at, recipient_email="chloe@example.fr", content=q.content.to_doc())
    return q.record_send(version=version, actor="crm", signature_requested=True)


def banner(version=1):
    return model.SignatureBanner("Chloé", "chloe@example.fr", "2026-11-29T12:00:00Z", "r-1", "d" * 64, "e" * 64,
                                 version=version)


def decline_info(version=1):
    return model.DeclineInfo("Chloé", "chloe@example.fr", "Trop cher", "2026-11-29T12:00:00Z", "r-1", version)


def taken(q: model.Quote) -> list[events.Event]:
    """What the quote recorded since the last call (as the repository takes them when it saves it)."""
    recorded, q.new_events = q.new_events, []
    return recorded


def sent_quote() -> model.Quote:
    q = quote()
    send(q)
    taken(q)
    return q


def only_change(q: model.Quote) -> events.QuoteStatusChanged:
    recorded = [e for e in taken(q) if isinstance(e, events.QuoteStatusChanged)]
    assert len(recorded) == 1, recorded
    return recorded[0]


def test_the_first_send_is_brouillon_to_envoye_caused_by_sent():
    q = quote()
    send(q)
    assert only_change(q) == events.QuoteStatusChanged(
        tenant="acme", quote_id="q-1", number="DV-2026-00042", previous_status=S.DRAFT, status=S.SENT,
        cause="sent", at=NOW, version=1, actor="crm")


def test_a_relance_changes_no_status_and_records_nothing():
    q = sent_quote()
    assert send(q, LATER) == "relance"
    assert taken(q) == []


def test_an_edit_of_the_content_of_a_sent_quote_is_revised_then_the_new_version_is_sent():
    q = sent_quote()
    q.revise(LATER, "crm", lines=[line("120")])
    change = only_change(q)
    assert (change.previous_status, change.status, change.cause, change.at, change.version) == (
        S.SENT, S.DRAFT, "revised", LATER, 1)
    send(q, LATER)
    change = only_change(q)
    assert (change.previous_status, change.status, change.cause, change.version) == (S.DRAFT, S.SENT, "sent", 2)


def test_an_edit_that_keeps_the_content_changes_no_status():
    q = sent_quote()
    q.revise(LATER, "crm", assignee_id="u2")
    assert taken(q) == []


def test_a_signature_is_signed_by_the_signature_service():
    q = sent_quote()
    q.accept(banner(), LATER)
    change = only_change(q)
    assert (change.previous_status, change.status, change.cause, change.actor, change.at) == (
        S.SENT, S.ACCEPTED, "signed", "signature", LATER)
    q.accept(banner(), LATER)  # told twice: nothing more
    assert taken(q) == []


def test_a_signature_landing_on_a_revision_leaves_brouillon():
    q = sent_quote()
    q.revise(NOW, "crm", lines=[line("999")])
    taken(q)
    q.accept(banner(version=1), LATER)
    change = only_change(q)
    assert (change.previous_status, change.status, change.version) == (S.DRAFT, S.ACCEPTED, 1)


def test_a_decline_is_declined():
    q = sent_quote()
    q.record_decline(decline_info(), LATER)
    change = only_change(q)
    assert (change.previous_status, change.status, change.cause, change.actor) == (
        S.SENT, S.DECLINED, "declined", "signature")


def test_the_sweep_makes_expired_by_quotes():
    q = sent_quote()
    assert q.expire(date(2027, 1, 1), LATER)
    change = only_change(q)
    assert (change.previous_status, change.status, change.cause, change.actor) == (
        S.SENT, S.EXPIRED, "expired", "quotes")


def test_a_withdrawal_records_the_change_and_the_withdrawal_with_its_reason():
    q = sent_quote()
    assert q.withdraw(LATER, "crm", "Erreur de tarif")
    recorded = taken(q)
    assert recorded == [
        events.QuoteStatusChanged(tenant="acme", quote_id="q-1", number="DV-2026-00042", previous_status=S.SENT,
                                  status=S.WITHDRAWN, cause="withdrawn", at=LATER, version=1, actor="crm"),
        events.QuoteWithdrawn(tenant="acme", quote_id="q-1", number="DV-2026-00042", version=1,
                              reason="Erreur de tarif", at=LATER, actor="crm"),
    ]
    assert q.status == S.WITHDRAWN
    assert [(h.kind, h.detail) for h in q.history[-2:]] == [
        ("withdrawn", "version 1 retirée : « Erreur de tarif »"), ("status", "Envoyé → Retiré")]


def test_withdrawing_again_changes_nothing():
    q = sent_quote()
    q.withdraw(NOW, "crm")
    taken(q)
    history = list(q.history)
    assert not q.withdraw(LATER, "crm", "encore")
    assert taken(q) == [] and q.history == history


@pytest.mark.parametrize("prepare, says", [
    (lambda q: None, "Brouillon never sent: there is nothing to withdraw"),
    (lambda q: (send(q), q.revise(NOW, "crm", lines=[line("5")])), "Brouillon (version 2 in preparation)"),
    (lambda q: (send(q), q.accept(banner(), NOW)), "Accepté: a signed quote cannot be withdrawn"),
    (lambda q: (send(q), q.record_decline(decline_info(), NOW)), "Refusé: the client declined it"),
    (lambda q: (send(q), q.expire(date(2027, 1, 1), NOW)), "Expiré: its validity ended"),
])
def test_only_a_sent_quote_can_be_withdrawn(prepare, says):
    q = quote()
    prepare(q)
    taken(q)
    status, history = q.status, list(q.history)
    with pytest.raises(FailedPrecondition, match=re.escape(says)):
        q.withdraw(LATER, "crm")
    assert q.status == status and q.history == history and taken(q) == []


def test_a_withdrawn_quote_is_revised_into_a_new_version_and_cannot_be_sent_unchanged():
    q = sent_quote()
    q.withdraw(NOW, "crm")
    taken(q)
    with pytest.raises(FailedPrecondition, match="withdrawn"):
        q.check_sendable(NOW.date())
    q.revise(LATER, "crm", lines=[line("90")])
    change = only_change(q)
    assert (change.previous_status, change.status, change.cause) == (S.WITHDRAWN, S.DRAFT, "revised")
    send(q, LATER)
    assert only_change(q).status == S.SENT and q.last_version == 2


def test_a_signature_the_signature_service_took_before_the_withdrawal_still_lands():
    q = sent_quote()
    q.withdraw(NOW, "crm")
    taken(q)
    q.accept(banner(), LATER)
    change = only_change(q)
    assert (change.previous_status, change.status, change.cause) == (S.WITHDRAWN, S.ACCEPTED, "signed")


def test_a_withdrawn_quote_is_not_expired_by_the_sweep_nor_invoiced():
    q = sent_quote()
    q.withdraw(NOW, "crm")
    taken(q)
    assert not q.expire(date(2027, 1, 1), LATER) and taken(q) == []
    with pytest.raises(FailedPrecondition, match="withdrawn quote cannot become a facture"):
        model.SalesDocument.from_quote(q, kind="invoice", new_id="i", number="FA-2026-00001", now=LATER)


def test_creating_or_duplicating_a_quote_is_no_change_of_status():
    q = sent_quote()
    copy = q.duplicate(new_id="q-2", number="DV-2026-00043", now=LATER, valid_until=date(2027, 1, 31), actor="crm")
    assert copy.status == S.DRAFT and copy.new_events == [] and taken(q) == []
