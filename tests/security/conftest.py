"""Fixtures of the security run: one in-process stack per module, two tenants, and the run's report."""
from __future__ import annotations

import pytest

from tests.security.report import REPORT, TALLY
from tests.security.stack import TENANT_A, TENANT_B, Stack


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/security/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.security)


@pytest.fixture(scope="session", autouse=True)
def security_report():
    """Collects every surface's counts; writes tests/security/REPORT.md when the run ends."""
    yield TALLY
    if TALLY.outcomes:
        REPORT.write_text(TALLY.markdown(), encoding="utf-8")


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """quotes + signature + notifier with tenants A and B seeded; A's sent quote reached signature and notifier."""
    built = Stack(tmp_path_factory.mktemp("stack"), fake_pdf=True)
    built.seeds = {t: built.seed_quotes(t) for t in (TENANT_A, TENANT_B)}
    for seed in built.seeds.values():
        built.deliver_to_signature_and_notifier(seed["sent_event"])
    yield built
    built.close()
