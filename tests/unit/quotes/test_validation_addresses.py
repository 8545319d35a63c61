"""Contacts' and users' addresses: refused at once with the field named, kept as written when taken."""
import pytest

from quoteflow.errors import InvalidArgument
from services.quotes.domain.validation import Check


def refused(run) -> dict[str, str]:
    check = Check()
    run(check)
    with pytest.raises(InvalidArgument) as caught:
        check.done()
    return caught.value.violations


@pytest.mark.parametrize("address", ["a@b@example.fr", "a..b@example..fr", "a@b.c", "zoé@exemple.fr", "a b@x.fr"])
def test_an_address_the_notifier_cannot_deliver_to_is_refused_naming_the_field(address):
    violations = refused(lambda check: check.email(address, "email"))
    assert list(violations) == ["email"] and "is not an email address: " in violations["email"]


def test_the_refusal_of_an_accented_address_says_accents_are_not_accepted_before_the_at():
    why = refused(lambda check: check.email("zoé@exemple.fr", "email"))["email"]
    assert why == "'zoé@exemple.fr' is not an email address: accents and other non-ASCII characters are not " \
                  "accepted before the @"


def test_an_address_is_kept_as_written():
    check = Check()
    assert check.email("  chloe.lefevre@example.fr ", "email") == "chloe.lefevre@example.fr"
    assert check.email("zoe@exémple.fr", "email") == "zoe@exémple.fr"  # the notifier sends it as xn--exmple-cva
    assert check.email("", "email", required=False) == ""
    check.done()
    assert refused(lambda c: c.email("", "email")) == {"email": "is required"}
    assert refused(lambda c: c.email("a" * 250 + "@x.fr", "email")) == {"email": "at most 254 characters"}


@pytest.mark.parametrize("number, why", [
    ("+33 (0)6 12 34 56 78 poste 2", "only digits"),
    ("6 12 34 56 78", "a French number starts with 0"),
    ("1234", "a French number starts with 0"),
    ("06 12 34 56", "a French number has 10 digits"),
])
def test_a_number_that_would_be_misrouted_is_refused_naming_the_field(number, why):
    violations = refused(lambda check: check.phone(number, "mobile"))
    assert list(violations) == ["mobile"]
    assert violations["mobile"].startswith(f"{number!r} is not a phone number: ") and why in violations["mobile"]


def test_numbers_that_become_e164_are_kept_as_written():
    check = Check()
    for number in ("+33 (0)6 12 34 56 78", "0696 12 34 56", "06 12 34 56 78", "+1 (415) 555-0100", ""):
        assert check.phone(number, "phone") == number
    check.done()
