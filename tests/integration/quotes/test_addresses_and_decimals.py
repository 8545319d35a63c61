"""Over gRPC: addresses the notifier could not use and numbers with exponents are refused at once, naming the
field; decimals come back in canonical form."""
import grpc
import pytest

from quoteflow.v1 import quotes_pb2
from tests.integration.quotes.support import create, directory, error_of, line, violations


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
