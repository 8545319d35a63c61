"""Brokers and databases for the kernel's tests: a fresh folder, vhost or database per test."""
from __future__ import annotations

import pytest

from tests.support.backends import private_databases, private_vhost


@pytest.fixture(params=["filesystem", "rabbitmq"])
def broker_url(request, tmp_path):
    if request.param == "filesystem":
        yield f"filesystem://{tmp_path / 'bus'}"
        return
    with private_vhost() as url:  # a fresh virtual host: runs never see each other's messages
        yield url


@pytest.fixture
def rabbit_url():
    with private_vhost() as url:
        yield url


@pytest.fixture
def pg_url():
    with private_databases(["kernel"]) as urls:
        yield urls["kernel"]
