"""Starts the four services as OS processes, on the embedded default or on RabbitMQ + PostgreSQL."""
from __future__ import annotations

import contextlib
import uuid

import pytest

from quoteflow.auth import new_key
from quoteflow.launcher import SERVICES, Suite, free_port
from tests.support.backends import private_databases, private_vhost


@pytest.fixture(params=["embedded", "rabbitmq+postgresql"])
def suite(request, tmp_path):
    tenant = f"t-{uuid.uuid4().hex[:8]}"
    with contextlib.ExitStack() as stack:
        kwargs = {}
        if request.param != "embedded":
            kwargs["broker_url"] = stack.enter_context(private_vhost("qf_e2e"))
            kwargs["database_urls"] = stack.enter_context(private_databases(SERVICES, "qf_e2e"))
        suite = Suite(var=tmp_path / "var", ports={name: free_port() for name in SERVICES},
                      api_keys={tenant: new_key()}, **kwargs)
        suite.tenant = tenant
        suite.mode = request.param
        suite.start()
        try:
            suite.wait_healthy(90)
            yield suite
        finally:
            codes = suite.stop()
            for name in SERVICES:
                print(f"--- {name} log (last lines) ---\n{suite.tail(name, 15)}")
        assert all(code == 0 for code in codes.values()), f"a service did not stop cleanly: {codes}"
