"""The download and view events carry the salesperson as a Party built field by field: the same message
json_format.ParseDict makes of the read model's dict, unknown keys left out."""
from __future__ import annotations

import pytest
from google.protobuf import json_format

from quoteflow.v1 import common_pb2
from services.portal.adapters.messages import _party


@pytest.mark.parametrize("doc", [
    {},
    None,
    {"id": "u-1", "name": "Hélène Martin", "email": "helene.martin@example.fr"},
    {"id": "u-2", "name": "", "email": "a@b.fr", "phone": "+33600000001", "address": "1 rue X"},
    {"name": "Zoé", "team": "Ventes", "nested": {"x": 1}},  # unknown keys: left out
])
def test_party_is_what_parse_dict_makes(doc):
    expected = json_format.ParseDict(doc or {}, common_pb2.Party(), ignore_unknown_fields=True)
    assert _party(doc) == expected
