"""Every rpc of the contract declares who may call it (options.proto); only the service key acts for a client."""
from __future__ import annotations

from quoteflow.auth import Principal
from quoteflow.grpcserver import declared_caller
from quoteflow.v1.options_pb2 import CALLER_ANY, CALLER_CRM, CALLER_SERVICE, CALLER_UNSPECIFIED
from tests.support.contract import contract_methods, path_of

# What the portal does for a client who holds a valid link: never a CRM key's to do.
ACTS_FOR_A_CLIENT = {"SignatureService/Sign", "SignatureService/Decline", "SignatureService/RequestCode",
                     "SignatureService/RecordOpened"}


def _declared() -> dict[str, int]:
    return {f"{m.containing_service.name}/{m.name}": declared_caller(path_of(m)) for m in contract_methods()}


def test_every_rpc_of_every_service_declares_its_caller():
    declared = _declared()
    assert {name.split("/")[0] for name in declared} >= {"QuoteService", "SignatureService", "NotifierService"}
    undeclared = sorted(name for name, caller in declared.items() if caller not in (CALLER_CRM, CALLER_SERVICE,
                                                                                       CALLER_ANY))
    assert not undeclared, f"add `option (caller) = ...` to these rpcs in proto/: {undeclared}"


def test_only_the_rpcs_that_act_for_a_client_are_the_service_keys_alone():
    service_only = {name for name, caller in _declared().items() if caller == CALLER_SERVICE}
    assert service_only == ACTS_FOR_A_CLIENT


def test_an_rpc_no_descriptor_describes_declares_no_caller():
    assert declared_caller("/quoteflow.v1.SignatureService/SignForAnyone") == CALLER_UNSPECIFIED
    assert declared_caller("/nowhere.Service/Method") == CALLER_UNSPECIFIED


def test_which_key_each_declaration_lets_through():
    crm, service = Principal(tenant="acme"), Principal(tenant=None, service=True)
    assert [crm.may_call(c) for c in (CALLER_CRM, CALLER_SERVICE, CALLER_ANY, CALLER_UNSPECIFIED)] == [
        True, False, True, False]
    assert [service.may_call(c) for c in (CALLER_CRM, CALLER_SERVICE, CALLER_ANY, CALLER_UNSPECIFIED)] == [
        False, True, True, False]
    assert not crm.may_call(99), "an unknown declaration lets nobody through"
