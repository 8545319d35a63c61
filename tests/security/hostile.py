"""Hypothesis strategies for hostile gRPC requests, built from the message descriptors.

Protobuf makes wrong types impossible on the wire, so hostility is in the values: huge and empty
strings, NUL and control characters, right-to-left and emoji text, markup and template payloads,
negative and absurd amounts, too many decimals, impossible dates, unknown and foreign-tenant ids.
"""
from __future__ import annotations

from google.protobuf import descriptor, message_factory
from hypothesis import strategies as st

FD = descriptor.FieldDescriptor

PAYLOADS = [
    "", " ", "\x00", "a\x00b", "\r\nBcc: victim@example.com", "\u202egnp.exe", "مرحبا بالعالم", "שלום",
    "🙂👨‍👩‍👧‍👦", "<script>alert(1)</script>", "{{7*7}}", "{{ ''.__class__.__mro__ }}", "${7*7}", "{% raw %}",
    "../../etc/passwd", "..\\..\\boot.ini", "%00", "' OR 1=1 --", "\"; DROP TABLE quotes; --", "\ufeff",
    "\t\v\f\x1b[31m", "\ud7ff\ue000\U0010ffff", "Ω≈ç√∫", "null", "NaN", "-0", "x" * 300,
]
HUGE = ["A" * 100_000, "é" * 70_000, "\x00" * 10_000, "<b>" * 20_000]
DECIMALS = ["-1", "-0.01", "0", "0.001", "1.005", "1e3", "1E+999", "NaN", "Infinity", "-Infinity", "1,5",
            " 2 ", "٣", "９", "99999999999999999999999999", "0x10", "1_000", "+5", ".5", "5.", "1.2.3",
            "12345678901234.123456789", "100.01", "101", "-100"]
DATES = ["", "2026-02-30", "2026-13-01", "0000-00-00", "9999-12-31", "1900-01-01", "2026-1-1", "tomorrow",
         "2026-03-01T10:00:00Z", "20260301", "-2026-03-01"]
INTS = [0, 1, -1, 2, 7, 200, 201, 2**31 - 1, -(2**31)]
BINARY = [b"", b"\x00" * 64, b"%PDF-1.7\n%%EOF\n", b"\x89PNG\r\n\x1a\n" + b"\x00" * 32, b"GIF89a" + b"\xff" * 16,
          b"PK\x03\x04" + b"\x00" * 40, b"\xff" * 2_000_000, b"<script>alert(1)</script>"]

DECIMAL_FIELDS = {"quantity", "unit_price", "discount_percent", "vat_rate", "total_ht", "extra_vat_rates"}
DATE_FIELDS = {"valid_until", "due_date", "install_date", "warranty_end"}
ID_FIELD_ENDINGS = ("_id", "sha256", "id", "product_ref", "reference", "page_token", "template", "name")


def text() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(PAYLOADS),
        st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40),
        st.text(st.sampled_from("\x00\x01\x07\x08\x1b\x7f\u200b\u202e\u2066 é€<>{}$%/\\\r\n\t"), max_size=20),
        st.sampled_from(HUGE),
    )


def _is_id(name: str) -> bool:
    return name == "id" or name.endswith(ID_FIELD_ENDINGS)


def scalar(field: descriptor.FieldDescriptor, ids: list[str]) -> st.SearchStrategy:
    name = field.name
    if field.type == FD.TYPE_STRING:
        if name in DECIMAL_FIELDS:
            return st.one_of(st.sampled_from(DECIMALS), st.decimals(allow_nan=False, places=4).map(str), text())
        if name in DATE_FIELDS:
            return st.one_of(st.sampled_from(DATES), st.dates().map(str), text())
        if _is_id(name) and ids:
            return st.one_of(st.sampled_from(ids), text())
        return text()
    if field.type == FD.TYPE_BYTES:
        return st.one_of(st.sampled_from(BINARY), st.binary(max_size=64))
    if field.type == FD.TYPE_BOOL:
        return st.booleans()
    if field.type in (FD.TYPE_INT32, FD.TYPE_SINT32, FD.TYPE_SFIXED32):
        return st.one_of(st.sampled_from(INTS), st.integers(-(2**31), 2**31 - 1))
    if field.type in (FD.TYPE_INT64, FD.TYPE_SINT64, FD.TYPE_SFIXED64):
        return st.one_of(st.sampled_from(INTS), st.integers(-(2**63), 2**63 - 1))
    if field.type in (FD.TYPE_UINT32, FD.TYPE_FIXED32):
        return st.integers(0, 2**32 - 1)
    if field.type in (FD.TYPE_UINT64, FD.TYPE_FIXED64):
        return st.integers(0, 2**64 - 1)
    if field.type in (FD.TYPE_DOUBLE, FD.TYPE_FLOAT):
        return st.floats(allow_nan=True, width=32)
    if field.type == FD.TYPE_ENUM:
        return st.sampled_from([v.number for v in field.enum_type.values])
    raise TypeError(f"no hostile values for field {field.full_name} of type {field.type}")


def _is_map(field: descriptor.FieldDescriptor) -> bool:
    return field.message_type is not None and field.message_type.GetOptions().map_entry


def message(desc: descriptor.Descriptor, ids: list[str], depth: int = 0) -> st.SearchStrategy:
    """Messages of ``desc`` with every field hostile or left unset; nested messages to depth 2."""
    cls = message_factory.GetMessageClass(desc)
    if desc.full_name == "google.protobuf.FieldMask":
        paths = st.lists(st.one_of(st.sampled_from(["title", "lines", "optional_lines", "valid_until", "terms",
                                                    "contact_id", "assignee_id", "deal_id", "id", "status",
                                                    "number", "lines.0.quantity"]), text()), max_size=4)
        return paths.map(lambda p: cls(paths=p))
    parts = {}
    for field in desc.fields:
        if _is_map(field):
            key, value = field.message_type.fields_by_name["key"], field.message_type.fields_by_name["value"]
            parts[field.name] = st.dictionaries(scalar(key, ids), scalar(value, ids), max_size=4)
        elif field.type == FD.TYPE_MESSAGE:
            if depth >= 2:
                continue
            inner = message(field.message_type, ids, depth + 1)
            parts[field.name] = st.lists(inner, max_size=3) if _repeated(field) else inner
        else:
            inner = scalar(field, ids)
            parts[field.name] = st.lists(inner, max_size=4) if _repeated(field) else inner
    optional = {name: st.one_of(st.none(), strategy) for name, strategy in parts.items()}
    return st.fixed_dictionaries({}, optional=optional).map(lambda values: _build(cls, values))


def _repeated(field: descriptor.FieldDescriptor) -> bool:
    return field.is_repeated


def _build(cls, values: dict):
    msg = cls()
    for name, value in values.items():
        if value is None:
            continue
        field = cls.DESCRIPTOR.fields_by_name[name]
        target = getattr(msg, name)
        if _is_map(field):
            target.update(value)
        elif _repeated(field):
            if field.type == FD.TYPE_MESSAGE:
                for item in value:
                    target.add().CopyFrom(item)
            else:
                target.extend(value)
        elif field.type == FD.TYPE_MESSAGE:
            target.CopyFrom(value)
        else:
            setattr(msg, name, value)
    return msg
