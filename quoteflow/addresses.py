"""Email addresses and phone numbers: the one rule quotes checks input with and the notifier sends with.

An email address is a practical subset of RFC 5321/5322 that every mail server takes: one ``@``, a
dot-atom local part in ASCII (at most 64 characters), a domain of letter-digit-hyphen labels with at
least one dot (internationalised names are accepted and sent as IDNA A-labels), 254 characters in all.

A phone number becomes E.164 (``+33612345678``) with French defaults: a national number starts with 0,
the overseas departments' numbers (0690 Guadeloupe, 0696 Martinique, 0692 La Réunion...) get their own
country code, a ``(0)`` after a country code is dropped. A number without ``+``, ``00`` or ``0`` is only
taken when it is long enough to hold a country code (``33612345678``); a shorter one (``612345678``)
would be sent to another country, so it is refused.
"""
from __future__ import annotations

import re


class AddressError(ValueError):
    """Not an address we can deliver to; the message says why, for a person to fix it."""


# --- email -------------------------------------------------------------------------------------

_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+")
_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_TLD = re.compile(r"[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59}")
_DOTS = re.compile("[.\u3002\uff0e\uff61]")  # the dots IDNA treats as label separators


def ascii_email(address: str) -> str:
    """``address`` checked, its domain in ASCII (IDNA A-labels, as SMTP and mail headers want it).

    Raises AddressError saying what is wrong.
    """
    address = address or ""
    if len(address) > 254:
        raise AddressError("longer than 254 characters")
    if address.count("@") != 1:
        raise AddressError("only one @ is allowed" if address.count("@") > 1 else "the @ is missing")
    local, _, domain = address.partition("@")
    _check_local(local)
    ascii_domain = _ascii_domain(domain)
    if len(local) + 1 + len(ascii_domain) > 254:
        raise AddressError("longer than 254 characters")
    return f"{local}@{ascii_domain}"


def email_problem(address: str) -> str:
    """Why ``address`` is not an email address we can deliver to; '' when it is one."""
    return _why_not(ascii_email, address)


def valid_email(address: str) -> bool:
    return not email_problem(address)


def _check_local(local: str) -> None:
    if not local:
        raise AddressError("nothing before the @")
    if not local.isascii():
        raise AddressError("accents and other non-ASCII characters are not accepted before the @")
    if len(local) > 64:
        raise AddressError("more than 64 characters before the @")
    if local.startswith(".") or local.endswith(".") or ".." in local:
        raise AddressError("the part before the @ cannot start or end with a dot, nor have two dots in a row")
    if not all(_ATOM.fullmatch(atom) for atom in local.split(".")):
        raise AddressError("only letters, digits, dots and !#$%&'*+-/=?^_`{|}~ are allowed before the @")


def _ascii_domain(domain: str) -> str:
    labels = _DOTS.split(domain)
    if len(labels) < 2 or not all(labels):
        raise AddressError("the domain after the @ must look like example.fr")
    try:
        ascii_domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise AddressError("the domain after the @ is not a valid domain name") from None
    labels = ascii_domain.split(".")
    if not all(_LABEL.fullmatch(label) for label in labels):
        raise AddressError("the domain after the @ may only have letters, digits and hyphens between its dots "
                           "(like example.fr)")
    if not _TLD.fullmatch(labels[-1]):
        raise AddressError("the domain after the @ must end in a top-level domain like .fr or .com")
    for label in labels:
        if label.lower().startswith("xn--"):
            try:
                label.encode("ascii").decode("idna")
            except UnicodeError:
                raise AddressError("the domain after the @ is not a valid domain name") from None
    return ascii_domain


# --- phone -------------------------------------------------------------------------------------

_PHONE_CHARACTERS = re.compile(r"\+?[0-9 \t\u00a0\u202f.()/\-]+")
_SEPARATORS = re.compile(r"[ \t\u00a0\u202f.()/\-]")
_TRUNK_ZERO = re.compile(r"\(\s*0\s*\)")
# Country codes of the French numbering plan (numbers of 9 digits after the code, written 0 + 9 digits at home).
FRENCH_PLAN = ("33", "262", "590", "594", "596")
# Numbers of the French plan that belong to an overseas department's own country code.
_OVERSEAS = {
    "690": "590", "691": "590", "590": "590",   # Guadeloupe, Saint-Martin, Saint-Barthélemy
    "694": "594", "594": "594",                 # Guyane
    "696": "596", "697": "596", "596": "596",   # Martinique
    "692": "262", "693": "262", "262": "262", "263": "262",  # La Réunion
    "639": "262", "269": "262",                 # Mayotte
}
_EXAMPLES = "(06 12 34 56 78, or +33 6 12 34 56 78 from abroad)"


def e164(phone: str) -> str:
    """``phone`` in E.164 (``+33612345678``); raises AddressError saying what is wrong."""
    text = (phone or "").strip()
    if not text:
        raise AddressError("empty")
    if not _PHONE_CHARACTERS.fullmatch(text):
        raise AddressError("only digits, spaces, dots, dashes, slashes, parentheses and a leading + are allowed")
    international = text.startswith("+") or _SEPARATORS.sub("", text).startswith("00")
    if international:
        text = _TRUNK_ZERO.sub("", text)  # '+33 (0)6 12...': the 0 is only dialled at home
    digits = _SEPARATORS.sub("", text).lstrip("+")
    if not text.startswith("+"):
        digits = _international(digits)
    if not digits:
        raise AddressError("too short for a phone number with its country code")
    if digits[0] == "0":
        raise AddressError("a country code (after + or 00) cannot start with 0")
    code = next((c for c in FRENCH_PLAN if digits.startswith(c)), "")
    if code:
        national = digits[len(code):]
        if len(national) == 10 and national.startswith("0"):
            national = national[1:]  # '+33 06 12 34 56 78'
        if len(national) != 9 or national.startswith("0"):
            example = f" {_EXAMPLES}" if code == "33" else ""
            raise AddressError(f"a number with +{code} has 9 digits after {code}{example}")
        digits = _OVERSEAS.get(national[:3], code) + national
    if len(digits) < 8:
        raise AddressError("too short for a phone number with its country code")
    if len(digits) > 15:
        raise AddressError("too long: at most 15 digits with the country code")
    return "+" + digits


def _international(digits: str) -> str:
    """The digits after the '+' of a number written without it."""
    if digits.startswith("00"):
        return digits[2:]
    if digits.startswith("0"):
        if len(digits) != 10:
            raise AddressError(f"a French number has 10 digits {_EXAMPLES}")
        return "33" + digits[1:]
    if len(digits) < 11:  # '612345678' would go to +61 (Australia); '33612345678' is an MSISDN without its +
        raise AddressError(f"a French number starts with 0, a number abroad with + or 00 {_EXAMPLES}")
    return digits


def phone_problem(phone: str) -> str:
    """Why ``phone`` is not a number we can send an SMS to or call; '' when it is one."""
    return _why_not(e164, phone)


def _why_not(rule, value: str) -> str:
    try:
        rule(value)
    except AddressError as error:
        return str(error)
    return ""
