"""Over gRPC: addresses the notifier could not use and numbers in any but the contract's form are refused at
once, naming the field; decimals come back in canonical form."""
import grpc
import pytest

from quoteflow.decimals import HOW_TO_WRITE
from quoteflow.v1 import quotes_pb2
from services.quotes.adapters import orm
from tests.integration.quotes.support import count, create, directory, error_of, line, outbox_events, violations


@pytest.mark.parametrize("email", ["a@b@example.fr", "a..b@example..fr", "a@b.c", "zoé@exemple.fr"])
def test_a_contact_with_an_undeliverable_address_is_refused(service, email):
    _, stub = service
    crm = stub("tenant-a")
    directory(crm)
    error = error_of(crm.UpsertContact, quotes_pb2.Contact(id="c", account_id="acc", name="Zoé", email=email))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "is not an email address" in violations(error)["email"]


def test_misrouted_numbers_are_refused_naming_the_field_and_good_ones_are_kept_as_written(service):
    _, stub = service
    crm = stub("tenant-a")
    directory(crm)
    error = error_of(crm.UpsertUser, quotes_pb2.User(id="u3", name="N", email="n@example.fr", mobile="1234"))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and "mobile" in violations(error)
    error = error_of(crm.UpsertContact, quotes_pb2.Contact(id="c", account_id="acc", name="N", email="n@example.fr",
                                                           phone="6 12 34 56 78"))
    assert "a French number starts with 0" in violations(error)["phone"]
    user = crm.UpsertUser(quotes_pb2.User(id="u3", name="N", email="n@example.fr", mobile="0696 12 34 56"))
    assert user.mobile == "0696 12 34 56"  # the notifier sends to +596 696 12 34 56


def test_exponents_are_refused_and_rates_come_back_canonical(service):
    _, stub = service
    crm = stub("tenant-a")
    directory(crm)
    error = error_of(create, crm, lines=[line(quantity="1E+2", vat_rate="1e1")])
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(violations(error)) == {"lines[0].quantity", "lines[0].vat_rate"}
    assert "exponent" in violations(error)["lines[0].vat_rate"]

    quote = create(crm, lines=[line(quantity="2.50", unit_price="100.00", vat_rate="5.50", discount_percent="10.0")])
    [got] = quote.lines
    assert (got.quantity, got.unit_price, got.vat_rate, got.discount_percent) == ("2.5", "100.00", "5.5", "10")
    assert [v.rate for v in quote.totals.vat] == ["5.5"]

    settings = crm.UpdateSettings(quotes_pb2.Settings(default_validity_days=30, extra_vat_rates=["8.50", "30"]))
    assert list(settings.extra_vat_rates) == ["8.5", "30"]


def test_a_thousands_separator_is_refused_naming_the_line_and_nothing_is_written(service):
    app, stub = service
    crm = stub("tenant-a")
    directory(crm)
    events = len(outbox_events(app))
    error = error_of(create, crm, lines=[line(quantity="1,500")], idempotency_key="crm-1500")
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violations(error) == {"lines[0].quantity": f"'1,500' has a comma: {HOW_TO_WRITE}"}
    assert count(app, orm.quotes) == 0 and count(app, orm.idempotency_keys) == 0
    assert len(outbox_events(app)) == events and not crm.ListQuotes(quotes_pb2.ListQuotesRequest()).quotes

    quote = create(crm, lines=[line(quantity="1500")], idempotency_key="crm-1500")  # the same key, now right
    assert quote.lines[0].quantity == "1500" and quote.totals.total_ht == "925920.00"


def test_products_and_settings_take_only_the_wire_form(service):
    _, stub = service
    crm = stub("tenant-a")
    directory(crm)
    error = error_of(crm.UpsertProduct, quotes_pb2.Product(id="p", reference="R", label="L", unit_price="1 500,00",
                                                           vat_rate="20"))
    assert violations(error) == {"unit_price": f"'1 500,00' has a comma: {HOW_TO_WRITE}"}
    error = error_of(crm.UpdateSettings, quotes_pb2.Settings(default_validity_days=30, extra_vat_rates=["8", "5,5"]))
    assert violations(error) == {"extra_vat_rates[1]": f"'5,5' has a comma: {HOW_TO_WRITE}"}
    assert list(crm.GetSettings(quotes_pb2.GetSettingsRequest()).extra_vat_rates) == []
