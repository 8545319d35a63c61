from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, strategies as st

from services.signature.domain import evidence
from services.signature.domain.evidence import GENESIS, BrokenChain, verify_chain

T0 = datetime(2026, 11, 29, 9, 30, tzinfo=timezone.utc)


def chain() -> list[evidence.Entry]:
    entries: list[evidence.Entry] = []
    evidence.append(entries, step="sent", at=T0, data={"document_sha256": "a" * 64})
    evidence.append(entries, step="consented", at=T0 + timedelta(minutes=5), ip="203.0.113.7",
                    user_agent="Firefox/133", data={"consent_text": "J'accepte le devis n° DV-1 : 1 234,56 € TTC"})
    evidence.append(entries, step="signed", at=T0 + timedelta(minutes=5), ip="203.0.113.7",
                    user_agent="Firefox/133", data={"signer_name": "Zoë Lœwy"})
    return entries


def test_entries_link_to_the_previous_one_from_genesis():
    entries = chain()
    assert [e.seq for e in entries] == [1, 2, 3]
    assert entries[0].prev_sha256 == GENESIS
    assert entries[1].prev_sha256 == entries[0].sha256 and entries[2].prev_sha256 == entries[1].sha256
    assert verify_chain(entries) == entries[-1].sha256
    assert entries[1].at == "2026-11-29T09:35:00.000000Z"


def test_hash_is_sha256_of_canonical_json():
    import hashlib
    import json

    e = chain()[0]
    doc = {"seq": e.seq, "at": e.at, "step": e.step, "ip": e.ip, "user_agent": e.user_agent, "data": e.data,
           "prev_sha256": e.prev_sha256}
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert e.sha256 == hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_editing_one_entry_breaks_the_chain():
    entries = chain()
    entries[1] = replace(entries[1], data={"consent_text": "J'accepte le devis n° DV-1 : 1,00 € TTC"})
    with pytest.raises(BrokenChain, match="entry 2"):
        verify_chain(entries)


def test_editing_an_entry_and_rehashing_it_breaks_the_next_link():
    entries = chain()
    forged = replace(entries[1], ip="198.51.100.1")
    entries[1] = replace(forged, sha256=forged.computed_sha256())
    with pytest.raises(BrokenChain, match="entry 3"):
        verify_chain(entries)


def test_removing_an_entry_breaks_the_chain():
    entries = chain()
    del entries[1]
    with pytest.raises(BrokenChain):
        verify_chain(entries)
    with pytest.raises(BrokenChain):
        verify_chain(chain()[1:])


def test_reordering_entries_breaks_the_chain():
    entries = chain()
    entries[1], entries[2] = entries[2], entries[1]
    with pytest.raises(BrokenChain):
        verify_chain(entries)


def test_removing_the_last_entry_is_caught_by_the_published_head():
    entries = chain()
    published = entries[-1].sha256
    with pytest.raises(BrokenChain, match="removed"):
        verify_chain(entries[:-1], expected_head=published)
    assert verify_chain(entries, expected_head=published) == published


def test_an_empty_log_does_not_verify():
    with pytest.raises(BrokenChain):
        verify_chain([])


def test_naive_times_are_refused():
    with pytest.raises(ValueError):
        evidence.append([], step="sent", at=datetime(2026, 1, 1))


@given(st.lists(st.tuples(st.sampled_from(["sent", "consented", "signed"]), st.text(max_size=30),
                          st.dictionaries(st.text(max_size=10), st.text(max_size=20), max_size=3)),
                min_size=1, max_size=6), st.data())
def test_any_single_field_change_is_detected(steps, data):
    entries: list[evidence.Entry] = []
    for step, ua, payload in steps:
        evidence.append(entries, step=step, at=T0, user_agent=ua, data=payload)
    verify_chain(entries)
    index = data.draw(st.integers(0, len(entries) - 1))
    entries[index] = replace(entries[index], user_agent=entries[index].user_agent + "x")
    with pytest.raises(BrokenChain):
        verify_chain(entries)
