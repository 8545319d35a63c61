"""API keys made and revoked with the CLI: every service accepts the key, then refuses it once revoked."""
from __future__ import annotations

import re
import time

import grpc
import pytest

from quoteflow import cli, client
from quoteflow.v1 import notifier_pb2, quotes_pb2, signature_pb2

pytestmark = pytest.mark.e2e


def _code(call) -> grpc.StatusCode:
    try:
        call()
    except grpc.RpcError as error:
        return error.code()
    return grpc.StatusCode.OK


def _calls(suite, key: str) -> dict:
    """One tenant-scoped call per service; NOT_FOUND means the key was accepted."""
    return {
        "quotes": lambda: client.quotes(suite.quotes_target, key).GetSettings(quotes_pb2.GetSettingsRequest()),
        "signature": lambda: client.signature(suite.signature_target, key).GetRequest(
            signature_pb2.GetRequestRequest(quote_id="no-such-quote")),
        "notifier": lambda: client.notifier(suite.notifier_target, key).ListTemplates(
            notifier_pb2.ListTemplatesRequest()),
    }


def _eventually(suite, key: str, wanted: set, timeout: float = 20.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        codes = {name: _code(call) for name, call in _calls(suite, key).items()}
        if all((code in wanted) for code in codes.values()) or time.monotonic() > deadline:
            return codes
        time.sleep(0.2)


def test_a_key_made_by_the_cli_works_everywhere_and_stops_working_once_revoked(suite, capsys):
    url = suite.database_urls.get("quotes") or f"sqlite:///{suite.var}/quotes.db"
    assert cli.main(["apikey", "create", suite.tenant, "--label", "CRM", "--database-url", url]) == 0
    out = capsys.readouterr().out
    key = re.search(r"^\s+(qf_\S+)$", out, re.M).group(1)
    key_id = re.search(r"API key (ak_\w+)", out).group(1)

    accepted = {grpc.StatusCode.OK, grpc.StatusCode.NOT_FOUND}
    assert _code(_calls(suite, key)["quotes"]) == grpc.StatusCode.OK  # quotes reads its own table: at once
    codes = _eventually(suite, key, accepted)
    assert all(code in accepted for code in codes.values()), codes

    assert cli.main(["apikey", "list", suite.tenant, "--database-url", url]) == 0
    listing = capsys.readouterr().out
    assert key_id in listing and "active" in listing and key not in listing and key[10:] not in listing

    assert cli.main(["apikey", "revoke", key_id, "--database-url", url]) == 0
    assert _code(_calls(suite, key)["quotes"]) == grpc.StatusCode.UNAUTHENTICATED  # immediately
    started = time.monotonic()
    codes = _eventually(suite, key, {grpc.StatusCode.UNAUTHENTICATED})
    assert set(codes.values()) == {grpc.StatusCode.UNAUTHENTICATED}, codes
    print(f"revocation reached signature and notifier in {time.monotonic() - started:.2f} s ({suite.mode})")

    # The static bootstrap key of the same tenant is untouched.
    static = suite.api_keys[suite.tenant]
    assert _code(_calls(suite, static)["quotes"]) == grpc.StatusCode.OK
    assert _code(_calls(suite, static)["notifier"]) == grpc.StatusCode.OK
