"""Real RabbitMQ (a private vhost per test) and PostgreSQL (private databases) for the fault tests."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.backends import private_databases, private_vhost

ROOT = Path(__file__).resolve().parents[2]
CONSUMER = Path(__file__).with_name("effect_consumer.py")


@pytest.fixture
def rabbit_url():
    with private_vhost("qf_fault") as url:
        yield url


@pytest.fixture
def databases():
    with private_databases(["producer", "consumer"], "qf_fault") as urls:
        yield urls


@pytest.fixture
def consumer_process(tmp_path):
    """Starts effect_consumer.py processes; kills whatever is left at the end."""
    started: list[subprocess.Popen] = []

    def spawn(broker_url: str, database_url: str, worker: str, work_ms: float = 0.0,
              service: str = "notifier") -> subprocess.Popen:
        log = open(tmp_path / f"{worker}.log", "ab")
        process = subprocess.Popen([sys.executable, str(CONSUMER), broker_url, database_url, service, worker,
                                    str(work_ms)], cwd=ROOT, stdout=subprocess.PIPE, stderr=log)
        assert process.stdout.readline().strip() == b"ready", (tmp_path / f"{worker}.log").read_text()
        started.append(process)
        return process

    yield spawn
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(10)


def pytest_configure(config):
    config.addinivalue_line("markers", "faults: fault-injection tests of the message backbone (RabbitMQ, PostgreSQL)")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/faults/" in str(item.fspath).replace("\\", "/"):
            item.add_marker("faults")
