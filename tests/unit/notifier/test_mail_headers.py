"""Every header a person reads comes back exactly as written, whatever its length and its characters: the
subject (« … Alice Client – Accepté » once came back « –Accepté ») and the names in From, To and Reply-To."""
from __future__ import annotations

import re

import pytest
from hypothesis import example, given, settings, strategies as st

from services.notifier.adapters.mail import compose_email, flatten, parse
from services.notifier.domain.model import clean_header

# What a header may hold once clean_header has passed: no control character, no line break, no surrogate.
_CHARS = st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"))
_WORDS = st.sampled_from(["Accepté", "–", "—", "Alice", "Client", "Zoé", "Lefèvre", "Œuvre", "DV-2026-00042",
                          "«", "»", "=?utf-8?q?x?=", "\"", "(", ")", ",", "<", "@", "a" * 40, "é" * 30, "日本語",
                          "👍", "\u00a0", "\u202e"])
_SEPARATORS = st.sampled_from([" ", "  ", " – ", " –", "– ", "\t", ""])


def _composed(words: list[str], separators: list[str]) -> str:
    return "".join(word + sep for word, sep in zip(words, separators + [""] * len(words)))


TEXT = st.one_of(
    st.text(_CHARS, max_size=250),
    st.builds(_composed, st.lists(_WORDS, max_size=30), st.lists(_SEPARATORS, max_size=30)),
).map(lambda text: clean_header(text, 250))


def _message(**fields):
    values = dict(mail_from="Quoteflow <devis@quoteflow.example>", to_name="Zoé", to_email="zoe@client.example",
                  subject="Devis", text="t", html="<p>h</p>")
    values.update(fields)
    raw = flatten(compose_email(**values))
    return raw, parse(raw)


def _head(raw: bytes) -> list[bytes]:
    return raw.split(b"\n\n", 1)[0].split(b"\n")


@settings(max_examples=400, deadline=None)
@given(TEXT)
@example("Devis DV-2026-00042 signé par Alice Client – Accepté")
@example("Devis DV-2026-42 signé par Zoé Lefèvre – Accepté")
@example("Devis DV-2026-000042 signé par Zoé Lefèvre – Accepté")
def test_the_subject_reads_back_as_written(subject):
    raw, message = _message(subject=subject)
    assert message["Subject"] == subject
    assert all(len(line) <= 78 for line in _head(raw) if line.startswith((b"Subject", b" ")))


@settings(max_examples=300, deadline=None)
@given(TEXT.map(lambda name: re.sub(r"[ \t]\s*", " ", name[:120]).strip()))  # words, one space between
@example("Alice Client – Accepté")
@example("Jérôme Œuvre, « Service commercial » (Acme)")
@example("Dupont, Jean \"JD\" \\ Acme")
@example("Société Générale des Établissements Industriels du Sud-Ouest – Direction des achats – Zoé Lefèvre")
def test_display_names_read_back_as_written(name):
    raw, message = _message(from_name=name, to_name=name, reply_to=(name, "jerome@vendeur.example"))
    for header, addr in (("From", "devis@quoteflow.example"), ("To", "zoe@client.example"),
                         ("Reply-To", "jerome@vendeur.example")):
        (address,) = message[header].addresses
        assert (address.display_name, address.addr_spec) == (name or ("Quoteflow" if header == "From" else ""),
                                                              addr)


def test_a_run_of_spaces_in_a_name_is_one_space():
    _, message = _message(to_name="Zoé \t \u00a0Lefèvre «\u00a0Achats\u00a0»")
    assert message["To"].addresses[0].display_name == "Zoé Lefèvre «\u00a0Achats\u00a0»"


@pytest.mark.parametrize("subject", ["Devis DV-1", "Votre devis DV-2026-00042 - Acme SARL"])
def test_a_short_ascii_subject_stays_readable_in_the_raw_message(subject):
    raw, _ = _message(subject=subject)
    assert f"Subject: {subject}".encode() in _head(raw)
