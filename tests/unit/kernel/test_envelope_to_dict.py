"""The envelope's fast protobuf -> dict converter gives json_format's dict, or hands over to json_format."""
from __future__ import annotations

import json

import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory, text_format
from google.protobuf import struct_pb2, timestamp_pb2
from google.protobuf.descriptor import FieldDescriptor as FD
from hypothesis import given, strategies as st

from quoteflow.envelope import EVENT_TYPES, _plan, _to_dict
from quoteflow.v1 import events_pb2

_INT32 = st.integers(-2**31, 2**31 - 1)
_UINT32 = st.integers(0, 2**32 - 1)
_INT64 = st.integers(-2**63, 2**63 - 1)
_UINT64 = st.integers(0, 2**64 - 1)
SCALARS = {
    FD.TYPE_STRING: st.text(),  # "" often, any plane of unicode (no lone surrogates: protobuf refuses them)
    FD.TYPE_BOOL: st.booleans(),
    FD.TYPE_INT32: _INT32, FD.TYPE_SINT32: _INT32, FD.TYPE_SFIXED32: _INT32,
    FD.TYPE_UINT32: _UINT32, FD.TYPE_FIXED32: _UINT32,
    FD.TYPE_INT64: _INT64, FD.TYPE_SINT64: _INT64, FD.TYPE_SFIXED64: _INT64,
    FD.TYPE_UINT64: _UINT64, FD.TYPE_FIXED64: _UINT64,
    FD.TYPE_BYTES: st.binary(),
}


def _fill(draw, message, depth: int = 0) -> None:
    """Sets a random subset of the message's fields, to zero values too; a nested message may be set
    while empty (json_format then writes {})."""
    for field in message.DESCRIPTOR.fields:
        if not draw(st.booleans()):
            continue
        if field.type == FD.TYPE_MESSAGE:
            if depth >= 3:
                continue
            if field.is_repeated:
                container = getattr(message, field.name)
                for _ in range(draw(st.integers(0, 3))):
                    _fill(draw, container.add(), depth + 1)
            else:
                nested = getattr(message, field.name)
                nested.SetInParent()
                _fill(draw, nested, depth + 1)
        elif field.is_repeated:
            getattr(message, field.name).extend(draw(st.lists(SCALARS[field.type], max_size=4)))
        else:
            setattr(message, field.name, draw(SCALARS[field.type]))


@st.composite
def messages(draw, message_class):
    message = message_class()
    _fill(draw, message)
    return message


def _same(message) -> None:
    expected = json_format.MessageToDict(message, preserving_proto_field_name=True)
    got = _to_dict(message)
    assert got == expected
    # == takes True for 1: the JSON text also checks the types and the order of the keys.
    assert json.dumps(got, ensure_ascii=False) == json.dumps(expected, ensure_ascii=False)


@given(st.sampled_from(sorted(EVENT_TYPES.values(), key=lambda m: m.DESCRIPTOR.name)).flatmap(messages))
def test_every_event_payload_converts_as_json_format_does(message):
    _same(message)


def test_only_payloads_with_a_field_kind_it_does_not_know_leave_the_fast_path():
    assert {t for t, m in EVENT_TYPES.items() if _plan(m.DESCRIPTOR) is None} == {"signature.code_requested"}


def test_bytes_go_to_json_format_as_base64():
    message = events_pb2.SignatureCodeRequested(request_id="r1", sealed_code=b"\x00\xffcode")
    _same(message)
    assert _to_dict(message)["sealed_code"] == "AP9jb2Rl"


def test_well_known_types_go_to_json_format():
    moment = timestamp_pb2.Timestamp(seconds=1_700_000_000, nanos=5_000_000)
    structure = struct_pb2.Struct()
    structure.update({"a": 1.5, "b": [True, None, "x"]})
    assert _to_dict(moment) == "2023-11-14T22:13:20.005Z"
    assert _to_dict(structure) == {"a": 1.5, "b": [True, None, "x"]}


# Types our protos do not have (yet): every kind the fast path handles, with explicit presence, a
# oneof and recursion; and one type per kind it leaves to json_format.
_SYNTHETIC = text_format.Parse("""
    name: "envelope_to_dict_test.proto" package: "envelope_to_dict_test" syntax: "proto3"
    dependency: "google/protobuf/timestamp.proto"
    message_type {
      name: "AllKinds"
      field { name: "s" number: 1 type: TYPE_STRING label: LABEL_OPTIONAL }
      field { name: "b" number: 2 type: TYPE_BOOL label: LABEL_OPTIONAL }
      field { name: "i32" number: 3 type: TYPE_INT32 label: LABEL_OPTIONAL }
      field { name: "si32" number: 4 type: TYPE_SINT32 label: LABEL_OPTIONAL }
      field { name: "sf32" number: 5 type: TYPE_SFIXED32 label: LABEL_OPTIONAL }
      field { name: "u32" number: 6 type: TYPE_UINT32 label: LABEL_OPTIONAL }
      field { name: "f32" number: 7 type: TYPE_FIXED32 label: LABEL_OPTIONAL }
      field { name: "i64" number: 8 type: TYPE_INT64 label: LABEL_OPTIONAL }
      field { name: "si64" number: 9 type: TYPE_SINT64 label: LABEL_OPTIONAL }
      field { name: "sf64" number: 10 type: TYPE_SFIXED64 label: LABEL_OPTIONAL }
      field { name: "u64" number: 11 type: TYPE_UINT64 label: LABEL_OPTIONAL }
      field { name: "f64" number: 12 type: TYPE_FIXED64 label: LABEL_OPTIONAL }
      field { name: "rs" number: 13 type: TYPE_STRING label: LABEL_REPEATED }
      field { name: "rb" number: 14 type: TYPE_BOOL label: LABEL_REPEATED }
      field { name: "ru32" number: 15 type: TYPE_UINT32 label: LABEL_REPEATED }
      field { name: "ri64" number: 16 type: TYPE_INT64 label: LABEL_REPEATED }
      field { name: "rf64" number: 17 type: TYPE_FIXED64 label: LABEL_REPEATED }
      field { name: "cs" number: 18 type: TYPE_STRING label: LABEL_OPTIONAL oneof_index: 0 }
      field { name: "cm" number: 19 type: TYPE_MESSAGE type_name: ".envelope_to_dict_test.AllKinds"
              label: LABEL_OPTIONAL oneof_index: 0 }
      field { name: "os" number: 20 type: TYPE_STRING label: LABEL_OPTIONAL oneof_index: 1 proto3_optional: true }
      field { name: "oi64" number: 21 type: TYPE_INT64 label: LABEL_OPTIONAL oneof_index: 2 proto3_optional: true }
      field { name: "child" number: 22 type: TYPE_MESSAGE type_name: ".envelope_to_dict_test.AllKinds"
              label: LABEL_OPTIONAL }
      field { name: "children" number: 23 type: TYPE_MESSAGE type_name: ".envelope_to_dict_test.AllKinds"
              label: LABEL_REPEATED }
      oneof_decl { name: "choice" } oneof_decl { name: "_os" } oneof_decl { name: "_oi64" }
    }
    enum_type { name: "Colour" value { name: "COLOUR_UNSPECIFIED" number: 0 } value { name: "RED" number: 1 } }
    message_type { name: "WithDouble" field { name: "s" number: 1 type: TYPE_STRING label: LABEL_OPTIONAL }
                   field { name: "d" number: 2 type: TYPE_DOUBLE label: LABEL_OPTIONAL } }
    message_type { name: "WithEnum" field { name: "s" number: 1 type: TYPE_STRING label: LABEL_OPTIONAL }
                   field { name: "c" number: 2 type: TYPE_ENUM type_name: ".envelope_to_dict_test.Colour"
                           label: LABEL_OPTIONAL } }
    message_type { name: "WithMap"
                   nested_type { name: "TallyEntry" options { map_entry: true }
                                 field { name: "key" number: 1 type: TYPE_STRING label: LABEL_OPTIONAL }
                                 field { name: "value" number: 2 type: TYPE_INT32 label: LABEL_OPTIONAL } }
                   field { name: "tally" number: 1 type: TYPE_MESSAGE label: LABEL_REPEATED
                           type_name: ".envelope_to_dict_test.WithMap.TallyEntry" } }
    message_type { name: "WithTimestamp" field { name: "s" number: 1 type: TYPE_STRING label: LABEL_OPTIONAL }
                   field { name: "at" number: 2 type: TYPE_MESSAGE type_name: ".google.protobuf.Timestamp"
                           label: LABEL_OPTIONAL } }
    message_type { name: "Nesting" field { name: "s" number: 1 type: TYPE_STRING label: LABEL_OPTIONAL }
                   field { name: "inner" number: 2 type: TYPE_MESSAGE type_name: ".envelope_to_dict_test.WithDouble"
                           label: LABEL_REPEATED } }
""", descriptor_pb2.FileDescriptorProto())


def _synthetic_classes() -> dict:
    pool = descriptor_pool.DescriptorPool()
    pool.Add(descriptor_pb2.FileDescriptorProto.FromString(timestamp_pb2.DESCRIPTOR.serialized_pb))
    pool.Add(_SYNTHETIC)
    found = (pool.FindMessageTypeByName(f"{_SYNTHETIC.package}.{message.name}") for message in _SYNTHETIC.message_type)
    return {descriptor.name: message_factory.GetMessageClass(descriptor) for descriptor in found}


SYNTHETIC = _synthetic_classes()


@given(messages(SYNTHETIC["AllKinds"]))
def test_every_kind_it_handles_converts_as_json_format_does(message):
    assert _plan(message.DESCRIPTOR) is not None
    _same(message)


@pytest.mark.parametrize("name,doc", [
    ("WithDouble", {"s": "é", "d": "Infinity"}),
    ("WithDouble", {"d": 0.1}),
    ("WithEnum", {"s": "x", "c": "RED"}),
    ("WithEnum", {"c": 7}),  # an unknown value of an open enum: json_format writes the number
    ("WithMap", {"tally": {"a": 1, "": 0}}),
    ("WithTimestamp", {"s": "x", "at": "1970-01-02T00:00:00Z"}),
    ("Nesting", {"s": "x", "inner": [{"s": "y", "d": "NaN"}, {}]}),
])
def test_a_type_with_a_field_kind_it_does_not_know_converts_as_json_format_does(name, doc):
    message = json_format.ParseDict(doc, SYNTHETIC[name]())
    assert _plan(message.DESCRIPTOR) is None
    _same(message)
