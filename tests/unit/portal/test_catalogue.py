"""Every text the portal shows comes from the catalogue, so another language is one more module."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from services.portal.i18n import catalogue, fr

PORTAL = Path(__file__).resolve().parents[3] / "services" / "portal"


def keys_used() -> set[str]:
    used = set()
    for template in (PORTAL / "entrypoints" / "templates").glob("*.html"):
        source = template.read_text(encoding="utf-8")
        used |= set(re.findall(r"\bt\('([a-z_.]+)'", source))
        for first, second in re.findall(r"t\('([a-z_.]+)' if [^']+ else '([a-z_.]+)'", source):
            used |= {first, second}
    for module in PORTAL.rglob("*.py"):
        source = module.read_text(encoding="utf-8")
        used |= set(re.findall(r'texts\("([a-z_.]+)"', source))
        used |= set(re.findall(r'"((?:error|state|field|sign|decline)\.[a-z_]+\.?[a-z_]*)"', source))
    return {key for key in used if not key.endswith(".") and not key.endswith(".html")}


def test_every_key_used_is_in_the_french_catalogue():
    missing = sorted(keys_used() - set(fr.TEXTS))
    assert missing == []


def test_dynamic_keys_exist_for_every_state_and_refusal_reason():
    texts = catalogue("fr")
    for state in ("signed", "declined", "superseded", "expired", "revoked"):
        assert f"state.{state}.title" in texts and f"state.{state}.next" in texts
    for reason in ("signed", "declined", "superseded", "expired", "not_requested", "no_code"):
        assert f"error.not_signable.{reason}" in texts, reason
    for field in ("signer_name", "signer_name_long", "consent", "otp_code", "otp_missing", "signature_png",
                  "reason", "reason_long"):
        assert f"field.{field}" in texts


def test_texts_fill_their_placeholders():
    texts = catalogue("fr")
    assert texts("consent.text", number="DV-2026-00001", total="12,00 €") == (
        "En signant, j'accepte le devis n° DV-2026-00001 d'un montant de 12,00 € TTC.")
    assert texts("actions.download") == "Télécharger PDF"
    assert texts("actions.feedback") == "Envoyer un retour"
    with pytest.raises(KeyError):
        texts("no.such.key")
    with pytest.raises(ValueError):
        catalogue("../etc")


def test_no_template_holds_french_outside_the_catalogue():
    accented = re.compile(r">[^<{}]*[éèêàçôûœÉ][^<{}]*<")
    for template in (PORTAL / "entrypoints" / "templates").glob("*.html"):
        assert not accented.search(template.read_text(encoding="utf-8")), template.name
