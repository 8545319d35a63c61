from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from quoteflow.errors import FailedPrecondition, InvalidArgument
from services.quotes.domain import model

NOW = datetime(2026, 11, 29, 10, 0, tzinfo=timezone.utc)


def line(i=0, **kw):
    values = dict(description="Audit", quantity="1", unit_price="100", vat_rate="20")
    values.update(kw)
    return model.Line.parse(i, **values)


def quote(lines=None):
    return model.Quote(id="q", tenant="t", number="DV-2026-00001", account_id="a", contact_id="c",
                       assignee_id="u", title="T", lines=lines if lines is not None else [line()],
                       valid_until=date(2026, 12, 31), created_at=NOW)


def test_line_total_with_discount_rounds_to_the_cent():
    assert line(quantity="3", unit_price="19.99", discount_percent="12.5").total_ht == Decimal("52.47")
    assert line(quantity="1.5", unit_price="0.05").total_ht == Decimal("0.08")  # 0.075 -> half up


def test_vat_is_computed_once_per_rate_on_rounded_line_totals():
    lines = [line(0, unit_price="0.05", quantity="1.5"), line(1, unit_price="0.05", quantity="1.5"),
             line(2, unit_price="1000", vat_rate="5.5")]
    totals = model.compute_totals(lines)
    assert totals.total_ht == Decimal("1000.16")
    by_rate = {v.rate: v for v in totals.vat}
    assert by_rate[Decimal("20")].base_ht == Decimal("0.16")
    assert by_rate[Decimal("20")].vat == Decimal("0.03")
    assert by_rate[Decimal("5.5")].vat == Decimal("55.00")
    assert totals.total_ttc == Decimal("1055.19")
    assert [v.rate for v in totals.vat] == [Decimal("20"), Decimal("5.5")]


@pytest.mark.parametrize("field,value,expected", [
    ("quantity", "abc", "lines[0].quantity"),
    ("quantity", "0", "lines[0].quantity"),
    ("unit_price", "1.234", "lines[0].unit_price"),
    ("vat_rate", "19.6", "lines[0].vat_rate"),
    ("discount_percent", "101", "lines[0].discount_percent"),
    ("description", "", "lines[0].description"),
    ("quantity", "NaN", "lines[0].quantity"),
])
def test_bad_line_fields_are_named(field, value, expected):
    with pytest.raises(InvalidArgument) as error:
        line(**{field: value})
    assert expected in error.value.violations


def test_send_moves_draft_to_sent_then_follow_up_is_a_relance():
    q = quote()
    assert q.send_action == "Envoyer par email"
    number, fresh = q.next_version_number()
    assert (number, fresh) == (1, True)
    v = model.Version(number=1, content_sha256=q.content_sha256(), pdf_sha256="x" * 64, sent_at=NOW,
                      recipient_email="c@example.fr")
    assert q.record_send(version=v, actor="crm", signature_requested=True) == "send"
    assert q.status == model.Status.SENT
    assert q.send_action == "Relancer par email"
    assert q.next_version_number() == (1, False)  # unchanged content: same version, same PDF
    assert q.record_send(version=v, actor="crm", signature_requested=False) == "relance"
    assert [h.kind for h in q.history] == ["sent", "status", "relance"]  # Brouillon → Envoyé, once


def test_a_quote_without_lines_cannot_be_sent():
    with pytest.raises(FailedPrecondition, match="without lines"):
        quote(lines=[]).check_sendable(date(2026, 11, 29))


def test_an_expired_quote_cannot_be_sent():
    with pytest.raises(FailedPrecondition, match="expired"):
        quote().check_sendable(date(2027, 1, 1))


def test_accepted_quote_is_locked():
    q = quote()
    q.record_send(version=model.Version(1, q.content_sha256(), "p", NOW, "c@x.fr"), actor="crm",
                  signature_requested=True)
    q.accept(model.SignatureBanner("Jeanne", "j@x.fr", "2026-11-29T10:00:00Z", "r", "d", "e"), NOW)
    assert q.status == model.Status.ACCEPTED
    with pytest.raises(FailedPrecondition):
        q.check_sendable(date(2026, 11, 29))
    q.accept(model.SignatureBanner("Autre", "o@x.fr", "", "r2", "d", "e"), NOW)  # a repeat changes nothing
    assert q.signature.signer_name == "Jeanne"


def test_views_count_and_keep_the_latest_time():
    q = model.AccessTally()  # what views and downloads add to a quote's counters (recorded set-based)
    later = datetime(2026, 11, 30, tzinfo=timezone.utc)
    q.add("viewed", later)
    q.add("viewed", NOW)
    q.add("downloaded", NOW)
    assert (q.views, q.downloads, q.last_viewed_at) == (2, 1, later)
