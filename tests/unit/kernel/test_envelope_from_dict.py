"""The envelope's fast dict -> protobuf parser ends as json_format.ParseDict does: the same message, or
ParseDict's own error because it handed the data over."""
from __future__ import annotations

import copy
import json
from unittest import mock

import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory, text_format
from google.protobuf.descriptor import FieldDescriptor as FD
from hypothesis import given, strategies as st

from quoteflow.envelope import EVENT_TYPES, Envelope, MalformedEvent, _from_dict, _to_dict
from quoteflow.v1 import common_pb2, events_pb2
from tests.unit.kernel.test_envelope_to_dict import SYNTHETIC, messages

ALL_KINDS = SYNTHETIC["AllKinds"]  # every field kind the plans know, a oneof, proto3 optionals, recursion
PAYLOADS = sorted(EVENT_TYPES.values(), key=lambda m: m.DESCRIPTOR.name)


def _outcome(doc, message_class):
    """What ParseDict makes of doc, and whether _from_dict gave the same without calling it."""
    try:
        expected = json_format.ParseDict(doc, message_class())
    except Exception as error:  # noqa: BLE001 (whatever ParseDict raises, the fast path must raise it)
        with pytest.raises(type(error)) as raised:
            _from_dict(doc, message_class)
        assert str(raised.value) == str(error)  # ParseDict's words: it fell back
        return "refused"
    with mock.patch.object(json_format, "ParseDict", wraps=json_format.ParseDict) as parse_dict:
        got = _from_dict(doc, message_class)
    assert type(got) is message_class and got == expected
    # == may overlook an empty nested message set on one side only: the bytes do not.
    assert got.SerializeToString(deterministic=True) == expected.SerializeToString(deterministic=True)
    return "fell back" if parse_dict.called else "fast"


def _sets_a_oneof(message) -> bool:
    """Whether the message, or one it nests, has a member of a oneof of several set (ParseDict's)."""
    for field, value in message.ListFields():
        if field.containing_oneof is not None and len(field.containing_oneof.fields) > 1:
            return True
        if field.type == FD.TYPE_MESSAGE and any(map(_sets_a_oneof, value if field.is_repeated else [value])):
            return True
    return False


@given(st.sampled_from(PAYLOADS + [ALL_KINDS]).flatmap(messages))
def test_what_to_dict_writes_parses_fast_to_the_same_message(message):
    bytes_field = type(message) is events_pb2.SignatureCodeRequested
    assert _outcome(_to_dict(message), type(message)) == (
        "fell back" if bytes_field or _sets_a_oneof(message) else "fast")
    assert _from_dict(_to_dict(message), type(message)) == message


# Values json_format coerces, refuses, or takes as they are, beside random ones of every JSON type.
TRICKY = [
    None, True, False, 0, 1, -1, 2**31 - 1, 2**31, -2**31, -2**31 - 1, 2**32, 2**63 - 1, 2**63, -2**63 - 1,
    2**64, 1.0, -0.0, 1.5, 1e20, float("nan"), float("inf"), "", "0", "12", "-12", "+12", " 12", "12 ", "\t12",
    "1e3", "1.0", "1.5", "-", "--1", "1_000", "١٢", "²", "0x10", "9" * 30, "1" + "0" * 5000, "true", "false",
    "\ud800", "a\udfffb", "\ud83d\ude00", "é😀", [], [None], [1], ["x"], [{}], [[]], {}, {"s": "x"}, {"nope": 1},
    (), ("x",), ({},),
]
HOSTILE = st.one_of(
    st.sampled_from(TRICKY).map(copy.deepcopy),  # each its own: mutations change them
    st.integers(),
    st.floats(),
    st.text(max_size=4),
    st.text(st.characters(min_codepoint=0xD7F0, max_codepoint=0xE010), max_size=3),  # surrogates
    st.from_regex(r"-?[0-9]{1,21}", fullmatch=True),
    st.lists(st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=3), st.builds(dict)), max_size=3),
)
KEYS = st.one_of(st.sampled_from(["nope", "s_", "[ext]", "choice", "_os", "QuoteId", "quoteId", "linkUrl",
                                  "pdfSha256", "i64", "I64", "ri64", "riG4"]), st.text(max_size=6))


def _slots(doc, path=()):
    """Every place in the doc a value sits: (path to its container, key or index)."""
    items = doc.items() if isinstance(doc, dict) else enumerate(doc)
    for key, value in items:
        yield path, key
        if isinstance(value, (dict, list)):
            yield from _slots(value, path + (key,))


def _at(doc, path):
    for key in path:
        doc = doc[key]
    return doc


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _mutate(data, doc) -> None:
    slots = list(_slots(doc))
    how = data.draw(st.sampled_from(["replace", "wrap", "unwrap", "tuple", "add key", "camel", "twin"]))
    if not slots or how == "add key":
        containers = [()] + [path + (key,) for path, key in slots if isinstance(_at(doc, path + (key,)), dict)]
        _at(doc, data.draw(st.sampled_from(containers)))[data.draw(KEYS)] = data.draw(HOSTILE)
        return
    path, key = data.draw(st.sampled_from(slots))
    container = _at(doc, path)
    value = container[key]
    if how == "replace":
        container[key] = data.draw(HOSTILE)
    elif how == "wrap":  # a list where one value is expected, or a list of lists
        container[key] = [value]
    elif how == "unwrap" and isinstance(value, list) and value:  # one value where a list is expected
        container[key] = value[0]
    elif how == "tuple" and isinstance(value, list):
        container[key] = tuple(value)
    elif how in ("camel", "twin") and isinstance(container, dict):  # the field's JSON name, or both names
        camel = _camel(key)
        if how == "camel":
            del container[key]
        container[camel] = value
    else:
        container[key] = data.draw(HOSTILE)


@given(st.sampled_from(PAYLOADS + [ALL_KINDS]).flatmap(messages), st.data())
def test_any_other_data_ends_as_parse_dict_ends(message, data):
    doc = json.loads(json.dumps(_to_dict(message)))  # a copy to mutate
    for _ in range(data.draw(st.integers(1, 3))):
        _mutate(data, doc)
    _outcome(doc, type(message))


def _nest(depth: int) -> dict:
    doc = {"s": "leaf"}
    for _ in range(depth - 1):
        doc = {"child": doc}
    return doc


@pytest.mark.parametrize("message_class,doc,outcome", [
    (events_pb2.QuoteViewed, {"quote_id": "q1", "version": 3, "assignee": {"name": "é"}}, "fast"),
    (events_pb2.QuoteViewed, {}, "fast"),
    (events_pb2.QuoteViewed, {"assignee": {}}, "fast"),  # the field set, empty
    (common_pb2.Totals, {"vat": []}, "fast"),
    (common_pb2.Attachment, {"size": "12"}, "fast"),  # int64 as _to_dict writes it
    (common_pb2.Attachment, {"size": 12}, "fast"),  # and as a number, which ParseDict takes too
    (common_pb2.Attachment, {"size": "-0012"}, "fast"),
    (common_pb2.Attachment, {"size": str(2**63)}, "refused"),
    (common_pb2.Attachment, {"size": "1e3"}, "fell back"),  # ParseDict's coercions stay its own
    (common_pb2.Attachment, {"size": " 12"}, "refused"),
    (common_pb2.Attachment, {"size": "\t12"}, "fell back"),
    (common_pb2.Attachment, {"size": "1_2"}, "fell back"),
    (common_pb2.Attachment, {"size": "١٢"}, "fell back"),
    (common_pb2.Attachment, {"size": "1" + "0" * 5000}, "refused"),
    (common_pb2.Attachment, {"size": "0" * 5000 + "1"}, "fell back"),  # too long for int(), not for float()
    (events_pb2.QuoteViewed, {"version": 1.0}, "fell back"),
    (events_pb2.QuoteViewed, {"version": 1.5}, "refused"),
    (events_pb2.QuoteViewed, {"version": "12"}, "fell back"),
    (events_pb2.QuoteViewed, {"version": True}, "refused"),
    (events_pb2.QuoteViewed, {"version": 2**31}, "refused"),
    (events_pb2.QuoteSent, {"signature_requested": 1}, "refused"),
    (events_pb2.QuoteSent, {"signature_requested": "true"}, "refused"),
    (events_pb2.QuoteViewed, {"quote_id": 1}, "refused"),
    (events_pb2.QuoteViewed, {"quote_id": None}, "fell back"),  # null clears the field
    (events_pb2.QuoteViewed, {"quote_id": "\ud800"}, "refused"),
    (events_pb2.QuoteViewed, {"quoteId": "q1"}, "fell back"),
    (events_pb2.QuoteViewed, {"quote_id": "a", "quoteId": "b"}, "fell back"),  # the last one wins
    (events_pb2.QuoteViewed, {"nope": "x"}, "refused"),
    (events_pb2.QuoteViewed, {"assignee": ""}, "fell back"),  # ParseDict walks the string's characters
    (events_pb2.QuoteViewed, {"assignee": []}, "fell back"),
    (events_pb2.QuoteViewed, {"assignee": ["x"]}, "refused"),
    (events_pb2.QuoteSent, {"snapshot": {"lines": ({"description": "x"},)}}, "fell back"),
    (events_pb2.QuoteSent, {"snapshot": {"lines": [None]}}, "refused"),
    (events_pb2.QuoteSent, {"snapshot": {"lines": {"description": "x"}}}, "refused"),
    (ALL_KINDS, {"rs": ["a", "b"], "ri64": [1, "-2"], "ru32": [2**32 - 1], "rb": [True]}, "fast"),
    (ALL_KINDS, {"rs": "ab"}, "refused"),
    (ALL_KINDS, {"ru32": [-1]}, "refused"),
    (ALL_KINDS, {"u64": "-1"}, "refused"),
    (ALL_KINDS, {"os": "", "oi64": "0"}, "fast"),  # proto3 optionals: present, at the default
    (ALL_KINDS, {"cs": "x"}, "fell back"),  # a member of a oneof
    (ALL_KINDS, {"cs": "x", "cm": {}}, "refused"),
    (ALL_KINDS, _nest(100), "fast"),
    (ALL_KINDS, _nest(101), "refused"),  # deeper than ParseDict's max_recursion_depth
])
def test_each_case_ends_as_parse_dict_ends(message_class, doc, outcome):
    assert _outcome(doc, message_class) == outcome


def test_a_proto_field_name_that_is_another_fields_json_name_goes_to_that_field():
    """Proto2 (or a proto3 file with deprecated_legacy_json_field_conflicts) lets one field's JSON name
    be another's proto name; ParseDict then gives the key to the field of that JSON name."""
    proto = text_format.Parse("""
        name: "envelope_from_dict_test.proto" package: "envelope_from_dict_test" syntax: "proto2"
        message_type { name: "Clash"
                       field { name: "a_b" number: 1 type: TYPE_STRING label: LABEL_OPTIONAL }
                       field { name: "y" number: 2 type: TYPE_STRING label: LABEL_OPTIONAL json_name: "a_b" } }
    """, descriptor_pb2.FileDescriptorProto())
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    clash = message_factory.GetMessageClass(pool.FindMessageTypeByName("envelope_from_dict_test.Clash"))
    assert _outcome({"a_b": "x"}, clash) == "fell back"
    assert _from_dict({"a_b": "x"}, clash).y == "x"
    assert _outcome({"y": "x"}, clash) == "fast"


def test_payload_still_says_what_parse_dict_says():
    doc = json.loads(Envelope.wrap(events_pb2.QuoteViewed(quote_id="q1"), source="s", subject="quote/q1",
                                   tenant="t1").to_json())
    doc["data"] = {"quote_id": "q1", "version": "deux"}
    with pytest.raises(MalformedEvent, match="portal.quote_viewed data does not match its schema: Failed to "
                                             "parse version field: invalid literal for int"):
        Envelope.from_json(json.dumps(doc))
    doc["data"] = {"quoteId": "q1", "version": 2.0}
    envelope = Envelope.from_json(json.dumps(doc))
    assert envelope.payload() == events_pb2.QuoteViewed(quote_id="q1", version=2)
    assert envelope.payload() is not envelope.payload()
