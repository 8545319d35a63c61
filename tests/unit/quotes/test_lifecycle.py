"""The life of a quote, in the domain alone: versions, locks, expiry, signature and decline, duplicates."""
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from quoteflow.errors import FailedPrecondition, InvalidArgument, NotFound
from services.quotes.domain import model
from services.quotes.domain.files import Document

NOW = datetime(2026, 11, 29, 10, 0, tzinfo=timezone.utc)
TODAY = NOW.date()


def line(i=0, **kw):
    values = dict(description="Audit", quantity="1", unit_price="100", vat_rate="20")
    values.update(kw)
    return model.Line.parse(i, **values)


def quote(**kw):
    values = dict(id="q", tenant="t", number="DV-2026-00001", account_id="a", contact_id="c", assignee_id="u",
                  title="T", lines=[line()], valid_until=date(2026, 12, 31), created_at=NOW)
    values.update(kw)
    return model.Quote(**values)


def send(q, at=NOW, recipient="c@x.fr"):
    number, fresh = q.next_version_number()
    version = model.Version(number=number, content_sha256=q.content_sha256(), pdf_sha256=f"pdf{number}",
                            sent_at=at, recipient_email=recipient, content=q.content.to_doc())
    return number, q.record_send(version=version, actor="crm", signature_requested=True)


def banner(version=1):
    return model.SignatureBanner("Jeanne", "j@x.fr", "2026-11-29T10:00:00Z", "r", "d", "e", version=version)


def test_editing_a_sent_quote_makes_a_draft_of_the_next_version():
    q = quote()
    assert send(q) == (1, "send")
    assert q.send_action == "Relancer par email" and not q.unsent_changes
    assert q.revise(NOW, "crm", lines=[line(unit_price="120")])
    assert q.status == model.Status.DRAFT and q.unsent_changes
    assert q.send_action == "Envoyer par email"
    assert "version 2 en préparation" in q.history[-1].detail
    assert send(q) == (2, "send")  # a new version is a send, not a relance
    assert send(q) == (2, "relance")
    assert [v.number for v in q.versions] == [1, 2]


def test_an_edit_that_changes_nothing_is_no_edit():
    q = quote()
    send(q)
    assert not q.revise(NOW, "crm", title="T", lines=[line()])
    assert q.status == model.Status.SENT and not q.history[-1].kind == "updated"


def test_changing_the_assignee_of_a_sent_quote_is_not_a_new_version():
    q = quote()
    send(q)
    assert q.revise(NOW, "crm", assignee_id="u2")
    assert q.status == model.Status.SENT and q.next_version_number() == (1, False)


def test_an_accepted_quote_is_locked():
    q = quote()
    send(q)
    q.accept(banner(), NOW)
    for attempt in (lambda: q.revise(NOW, "crm", title="X"),
                    lambda: q.add_document(Document("a.pdf", "application/pdf", "a" * 64, 10), NOW, "crm"),
                    lambda: q.check_sendable(TODAY)):
        with pytest.raises(FailedPrecondition, match="Accepté|closed"):
            attempt()


def test_a_signature_of_the_sent_version_wins_over_unsent_edits():
    q = quote()
    send(q)
    q.revise(NOW, "crm", lines=[line(unit_price="999")], title="Nouveau titre")
    q.accept(banner(version=1), NOW + timedelta(minutes=1))
    assert q.status == model.Status.ACCEPTED
    assert q.lines[0].unit_price == Decimal("100") and q.title == "T"
    assert any("version 1 a été signée" in h.detail for h in q.history)


def test_a_draft_never_sent_cannot_be_signed_or_declined():
    q = quote()
    with pytest.raises(FailedPrecondition):
        q.accept(banner(), NOW)
    with pytest.raises(FailedPrecondition):
        q.record_decline(model.DeclineInfo("J", "j@x.fr", "trop cher", ""), NOW)


def test_decline_keeps_the_reason_and_a_revision_can_be_sent_again():
    q = quote()
    send(q)
    q.record_decline(model.DeclineInfo("Jeanne", "j@x.fr", "Trop cher, désolée", "2026-11-29T11:00:00Z"), NOW)
    assert q.status == model.Status.DECLINED and q.decline.reason == "Trop cher, désolée"
    assert "« Trop cher, désolée »" in [h for h in q.history if h.kind == "declined"][0].detail
    with pytest.raises(FailedPrecondition, match="declined"):
        q.check_sendable(TODAY)
    q.revise(NOW, "crm", lines=[line(unit_price="90")])
    assert q.status == model.Status.DRAFT
    assert send(q) == (2, "send")
    declined = quote()
    send(declined)
    declined.record_decline(model.DeclineInfo("J", "j@x.fr", "", ""), NOW)
    with pytest.raises(FailedPrecondition, match="cannot become Accepté"):  # the rules refuse a later signature
        declined.accept(banner(), NOW)


def test_a_decline_arriving_while_a_revision_is_drafted_keeps_the_revision_sendable():
    q = quote()
    send(q)
    q.revise(NOW, "crm", lines=[line(unit_price="80")])
    q.record_decline(model.DeclineInfo("Jeanne", "j@x.fr", "trop cher", ""), NOW)
    assert q.status == model.Status.DECLINED and q.unsent_changes
    q.check_sendable(TODAY)
    assert send(q) == (2, "send") and q.status == model.Status.SENT


def test_expiry_applies_to_sent_quotes_past_their_validity_only():
    q = quote(valid_until=date(2026, 12, 1))
    assert not q.expire(date(2026, 12, 2), NOW)  # a draft does not expire
    send(q)
    assert not q.expire(date(2026, 12, 1), NOW)  # valid through its last day
    assert q.expire(date(2026, 12, 2), NOW)
    assert q.status == model.Status.EXPIRED and q.history[-1].kind == "status"
    q.accept(banner(), NOW)  # signed before the end, known after the sweep
    assert q.status == model.Status.ACCEPTED


def test_status_transitions_table_is_the_whole_rule():
    assert model.TRANSITIONS[model.Status.ACCEPTED] == frozenset()
    assert model.Status.EXPIRED not in model.TRANSITIONS[model.Status.DRAFT]
    q = quote()
    with pytest.raises(FailedPrecondition, match="cannot become"):
        q._move_to(model.Status.EXPIRED, NOW, "quotes", "expired")


def test_optional_lines_and_documents_change_the_fingerprint_only_when_present():
    q = quote()
    plain = q.content_sha256()
    assert plain == model.Content(title="T", valid_until=date(2026, 12, 31), terms="", lines=(line(),)).sha256()
    q.optional_lines = [line(description="Option")]
    assert q.content_sha256() != plain
    assert q.totals.total_ht == Decimal("100.00")  # options never in the totals
    restored = model.Content.from_doc(q.content.to_doc())
    assert restored == q.content


def test_documents_are_attached_once_and_at_most_twenty():
    q = quote()
    doc = Document("devis.pdf", "application/pdf", "a" * 64, 100)
    q.add_document(doc, NOW, "crm")
    with pytest.raises(FailedPrecondition, match="already attached"):
        q.add_document(doc, NOW, "crm")
    for i in range(19):
        q.add_document(Document(f"{i}.pdf", "application/pdf", f"{i:064d}", 1), NOW, "crm")
    with pytest.raises(FailedPrecondition, match="at most 20"):
        q.add_document(Document("x.pdf", "application/pdf", "f" * 64, 1), NOW, "crm")
    q.remove_document("a" * 64, NOW, "crm")
    with pytest.raises(NotFound):
        q.remove_document("a" * 64, NOW, "crm")
    assert len(q.documents) == 19


def test_duplicate_copies_content_but_not_history_versions_or_counters():
    q = quote(optional_lines=[line(description="Option")],
              documents=[Document("a.pdf", "application/pdf", "a" * 64, 1)])
    send(q)
    q.view_count, q.last_viewed_at = 1, NOW  # as the consumer's counter UPDATE leaves it
    copy = q.duplicate(new_id="q2", number="DV-2026-00002", now=NOW, valid_until=date(2027, 1, 1), actor="crm")
    assert (copy.status, copy.versions, copy.view_count, copy.signature) == (model.Status.DRAFT, [], 0, None)
    assert copy.lines == q.lines and copy.optional_lines == q.optional_lines and copy.documents == q.documents
    assert [h.kind for h in copy.history] == ["created"] and "copie de DV-2026-00001" in copy.history[0].detail


def test_invoice_and_order_copy_the_lines_and_refuse_declined_or_empty_quotes():
    q = quote(lines=[line(), line(1, unit_price="50", vat_rate="5.5")])
    invoice = model.SalesDocument.from_quote(q, kind="invoice", new_id="i", number="FA-2026-00001", now=NOW)
    assert invoice.lines == q.lines and invoice.totals == q.totals
    with pytest.raises(FailedPrecondition, match="without lines"):
        model.SalesDocument.from_quote(quote(lines=[]), kind="order", new_id="o", number="CO-1", now=NOW)
    send(q)
    q.record_decline(model.DeclineInfo("J", "j@x.fr", "", ""), NOW)
    with pytest.raises(FailedPrecondition, match="declined"):
        model.SalesDocument.from_quote(q, kind="order", new_id="o", number="CO-1", now=NOW)


def test_notification_history_says_when_in_french():
    q = quote()
    q.record_notification(datetime(2026, 7, 14, 8, 5, tzinfo=timezone.utc), channel="email", recipient="c@x.fr",
                          template="quote_send", subject="Votre devis")
    assert q.history[-1].kind == "notification"
    assert q.history[-1].detail == "email « Votre devis » envoyé le 14 juillet 2026 à 10:05 à c@x.fr (quote_send)"
    q.record_notification(NOW, channel="sms", recipient="+33600000000", template="viewed", error="timeout")
    assert q.history[-1].kind == "notification_failed" and "SMS" in q.history[-1].detail


def test_tenant_rates_extend_the_standard_ones():
    settings = model.Settings(tenant="t", extra_vat_rates=(Decimal("8.5"),))
    assert line(vat_rate="8.5", allowed_rates=settings.vat_rates).vat_rate == Decimal("8.5")
    with pytest.raises(InvalidArgument):
        line(vat_rate="8.5")


def test_a_line_reports_every_wrong_field_at_once():
    with pytest.raises(InvalidArgument) as error:
        model.Line.parse(3, description="", quantity="x", unit_price="1.234", vat_rate="7", prefix="optional_lines")
    assert set(error.value.violations) == {"optional_lines[3].description", "optional_lines[3].quantity",
                                           "optional_lines[3].unit_price", "optional_lines[3].vat_rate"}
