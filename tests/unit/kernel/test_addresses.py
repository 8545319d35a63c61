"""The one email and phone rule quotes checks input with and the notifier sends with."""
import pytest

from quoteflow.addresses import AddressError, ascii_email, e164, email_problem, phone_problem, valid_email


@pytest.mark.parametrize("address", [
    "chloe.lefevre@example.fr", "o'brien+devis@example.co.uk", "a_b-c@sous-domaine.example.com",
    "x@quoteflow.localhost", "UPPER@EXAMPLE.FR", "a@" + ".".join(["b" * 63] * 3) + ".fr",
])
def test_addresses_every_mail_server_takes(address):
    assert valid_email(address) and ascii_email(address) == address


@pytest.mark.parametrize("address, why", [
    ("a@b@example.fr", "only one @"),
    ("example.fr", "@ is missing"),
    ("@example.fr", "nothing before the @"),
    ("a..b@example.fr", "two dots in a row"),
    (".a@example.fr", "start or end with a dot"),
    ("a.@example.fr", "start or end with a dot"),
    ("zoé@exemple.fr", "accents and other non-ASCII characters are not accepted before the @"),
    ('"a b"@example.fr', "only letters, digits, dots"),
    ("a<b>@example.fr", "only letters, digits, dots"),
    ("a@b.fr\r\nBcc: c@d.fr", "only one @"),
    ("a" * 65 + "@example.fr", "more than 64 characters"),
    ("a@example..fr", "must look like example.fr"),
    ("a@example.fr.", "must look like example.fr"),
    ("a@localhost", "must look like example.fr"),
    ("a@b.c", "top-level domain"),
    ("a@1.2.3.4", "top-level domain"),
    ("a@[192.0.2.1]", "letters, digits and hyphens"),
    ("a@-b.fr", "letters, digits and hyphens"),
    ("a@b_c.fr", "letters, digits and hyphens"),
    ("a@" + "b" * 64 + ".fr", "not a valid domain name"),
    ("a@xn--zz.fr", "not a valid domain name"),
    ("a@" + ".".join(["b" * 62] * 4) + ".fr", "longer than 254"),
])
def test_addresses_refused_say_why(address, why):
    assert why in email_problem(address)
    with pytest.raises(AddressError):
        ascii_email(address)
    assert not valid_email(address)


def test_an_international_domain_is_sent_as_its_ascii_name():
    assert valid_email("zoe@exémple.fr")
    assert ascii_email("zoe@exémple.fr") == "zoe@xn--exmple-cva.fr"
    assert ascii_email("zoe@xn--exmple-cva.fr") == "zoe@xn--exmple-cva.fr"


@pytest.mark.parametrize("typed, number", [
    ("+33 6 12 34 56 78", "+33612345678"),
    ("+33612345678", "+33612345678"),
    ("06 12 34 56 78", "+33612345678"),
    ("06.12.34.56.78", "+33612345678"),
    ("06-12-34-56-78", "+33612345678"),
    ("0033 6 12 34 56 78", "+33612345678"),
    ("+33 (0)6 12 34 56 78", "+33612345678"),
    ("+33 (0) 6 12 34 56 78", "+33612345678"),
    ("+33 06 12 34 56 78", "+33612345678"),
    ("330612345678", "+33612345678"),         # was sent to Vonage as is, and refused
    ("01 23 45 67 89", "+33123456789"),
    ("33612345678", "+33612345678"),           # an MSISDN without its + (11 digits and more)
    ("+1 (415) 555-0100", "+14155550100"),
    ("+44 (0)20 7946 0958", "+442079460958"),
    ("0044 20 7946 0958", "+442079460958"),
    # the overseas departments have their own country codes
    ("0690 12 34 56", "+590690123456"),     # Guadeloupe
    ("0691 12 34 56", "+590691123456"),
    ("0694 12 34 56", "+594694123456"),     # Guyane
    ("0696 12 34 56", "+596696123456"),     # Martinique
    ("0697 12 34 56", "+596697123456"),
    ("0692 12 34 56", "+262692123456"),     # La Réunion
    ("0693 12 34 56", "+262693123456"),
    ("0639 12 34 56", "+262639123456"),     # Mayotte
    ("0590 12 34 56", "+590590123456"),     # a Guadeloupe landline
    ("0262 12 34 56", "+262262123456"),     # a Réunion landline
    ("+33 6 96 12 34 56", "+596696123456"),  # a Martinique mobile written with +33 does not exist at +33
    ("+596 (0)696 12 34 56", "+596696123456"),
    ("+262 692 12 34 56", "+262692123456"),
])
def test_numbers_become_e164(typed, number):
    assert e164(typed) == number and phone_problem(typed) == ""


@pytest.mark.parametrize("typed, why", [
    ("", "empty"),
    ("1234", "a French number starts with 0"),
    ("6 12 34 56 78", "a French number starts with 0"),       # would be +61 (Australia)
    ("612345678", "a French number starts with 0"),
    ("0612 34 56 7", "a French number has 10 digits"),
    ("06 12 34 56 78 9", "a French number has 10 digits"),
    ("+33 6 12 34 56", "9 digits after 33"),
    ("+33 6 12 34 56 78 90", "9 digits after 33"),
    ("+590 690 12 34", "9 digits after 590"),
    ("+0612345678", "country code"),
    ("+49 301", "too short"),
    ("+1234567890123456", "too long"),
    ("appelez-moi", "only digits"),
    ("+33 6 12 34 56 78 poste 12", "only digits"),
    ("+33 6 12 34\n56 78", "only digits"),
    ("++33612345678", "only digits"),
    ("06 12 34 56 7８", "only digits"),
])
def test_numbers_refused_say_why(typed, why):
    assert why in phone_problem(typed)
    with pytest.raises(AddressError):
        e164(typed)
