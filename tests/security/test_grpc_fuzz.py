"""Hostile requests on every method of every gRPC service: always a deliberate status, and a refusal changes nothing."""
from __future__ import annotations

import grpc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quoteflow.grpcserver import declared_caller
from quoteflow.v1.options_pb2 import CALLER_ANY, CALLER_CRM, CALLER_SERVICE
from tests.security.hostile import message
from tests.security.report import TALLY
from tests.security.stack import TENANT_A, TENANT_B, all_methods, method_name
from tests.support.contract import path_of

# The keys each method is fuzzed with, by the caller it declares (options.proto): tenant A's CRM key, and/or
# "service", the portal's service key naming a tenant.
KEYS = {CALLER_CRM: [TENANT_A], CALLER_SERVICE: ["service"], CALLER_ANY: [TENANT_A, "service"]}
EXAMPLES = 80

DELIBERATE = {grpc.StatusCode.OK, grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND,
              grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.PERMISSION_DENIED,
              grpc.StatusCode.ALREADY_EXISTS, grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.ABORTED}
# Refusals that commit on purpose: a wrong one-time code spends an attempt (brute-force limit).
COMMITS_WHEN_REFUSED = {("SignatureService/Sign", "otp_code")}

METHODS = all_methods()
# What only tenant B's seed wrote: no answer to tenant A (or to the service key naming A) may carry it.
B_MARKERS = [b"Compte b", b"Contact b", b"contact-b@client.example", b"Vendeur b", b"u-b@vendeur.example"]


def _pool(stack) -> list[str]:
    """Ids worth trying: the caller's own, the other tenant's, tenant names, and nothing at all."""
    own, foreign = stack.seeds[TENANT_A], stack.seeds[TENANT_B]
    return [*own["ids"], *foreign["ids"], TENANT_A, TENANT_B, "", "quote_send", "signature_code", "proof_pdf",
            "signed_pdf", "proof_json", "email", "sms"]


@pytest.mark.parametrize("method", METHODS, ids=method_name)
def test_hostile_requests_get_a_deliberate_status_and_refusals_change_nothing(stack, method):
    name = method_name(method)
    keys = KEYS.get(declared_caller(path_of(method)))
    assert keys, f"{name} declares no caller"
    service = method.containing_service.name

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(request=message(method.input_type, _pool(stack)), who=st.sampled_from(keys))
    def attempt(request, who):
        before = stack.snapshot(service)
        answer = stack.call(method, request, stack.bearer(who))
        TALLY.record(f"gRPC fuzz: {service}", answer.code.name, f"{name} {str(request)[:120]} {answer.details[:100]}")
        assert answer.code in DELIBERATE, f"{name} answered {answer.code.name}: {answer.details[:300]}"
        if answer.response is not None:
            leaked = [m for m in B_MARKERS if m in answer.response.SerializeToString()]
            assert not leaked, f"{name} showed tenant B's {leaked} to tenant A"
        if answer.code == grpc.StatusCode.INVALID_ARGUMENT:
            assert answer.violations and all(f.strip() for f in answer.violations), (
                f"{name}: INVALID_ARGUMENT without field violations naming the field: {answer.details[:200]}")
        if answer.code != grpc.StatusCode.OK and not any(
                (name, field) in COMMITS_WHEN_REFUSED for field in answer.violations):
            assert stack.snapshot(service) == before, f"{name} refused ({answer.code.name}) but changed the database"

    attempt()
