"""Who may call each rpc (``option (caller)``, options.proto), tried with every kind of key on every method.

The methods come from the service descriptors (every service of quoteflow/v1), so a new rpc is in the matrix
the day it is declared. A refused call is UNAUTHENTICATED (no valid key) or PERMISSION_DENIED (a valid key of a
kind the rpc does not declare) and writes nothing in any service's database, outbox included; an allowed call
is never refused for its caller.
"""
from __future__ import annotations

import grpc
import pytest
from google.protobuf import message_factory

from quoteflow.grpcserver import declared_caller
from quoteflow.v1.options_pb2 import CALLER_ANY, CALLER_CRM, CALLER_SERVICE
from tests.security.report import TALLY
from tests.security.stack import TENANT_A, TENANT_B, all_methods, method_name
from tests.support.contract import path_of

METHODS = all_methods()
AUTH_REFUSALS = {grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED}
# The oracle: which kinds of valid key each declaration lets through.
ACCEPTS = {CALLER_CRM: {"crm"}, CALLER_SERVICE: {"service"}, CALLER_ANY: {"crm", "service"}}


def _credentials(stack) -> dict[str, tuple[tuple, str]]:
    """label -> (metadata, the kind of valid key it is, "" when it is none)."""
    return {
        "CRM key of the tenant": (stack.bearer(TENANT_A), "crm"),
        "CRM key of another tenant": (stack.bearer(TENANT_B), "crm"),
        "service key": (stack.bearer("service"), "service"),
        "revoked key": (stack.bearer("revoked"), ""),
        "unknown key": (stack.bearer("unknown"), ""),
        "malformed key": ((("authorization", "Bearer qf_" + "%" * 40),), ""),
        "no key": ((), ""),
    }


def _aimed_at_tenant_a(method, seed):
    """The method's request naming tenant A and A's sent quote where it has such fields; empty otherwise."""
    fields = method.input_type.fields_by_name
    values = {"tenant_id": TENANT_A, "quote_id": seed["sent"]}
    return message_factory.GetMessageClass(method.input_type)(**{k: v for k, v in values.items() if k in fields})


@pytest.mark.parametrize("method", METHODS, ids=method_name)
def test_every_key_gets_what_the_method_declares_and_a_refusal_writes_nothing(stack, method):
    name = method_name(method)
    accepts = ACCEPTS.get(declared_caller(path_of(method)))
    assert accepts, f"{name} declares no caller: add option (caller) in proto/"
    request = _aimed_at_tenant_a(method, stack.seeds[TENANT_A])
    for label, (metadata, kind) in _credentials(stack).items():
        expected = None if kind in accepts else (
            grpc.StatusCode.PERMISSION_DENIED if kind else grpc.StatusCode.UNAUTHENTICATED)
        before = stack.snapshot()
        answer = stack.call(method, request, metadata)
        TALLY.record("gRPC callers", answer.code.name, f"{name} with {label}")
        if expected is None:
            assert answer.code not in AUTH_REFUSALS, (name, label, answer.code, answer.details)
            assert answer.code not in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN), (name, label, answer.details)
        else:
            assert answer.code == expected, (name, label, answer.code, answer.details)
            assert stack.snapshot() == before, f"{name} refused {label} but changed a database"
