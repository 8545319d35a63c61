"""The browser tests' fixtures: one Chromium and one portal for the session.

Playwright drives Debian's Chromium (``scripts/ensure-browser.sh`` installs it; the tests are
skipped, saying why, only when it cannot be installed). The portal runs in this process
(werkzeug, threaded) on a seeded read model, with a gRPC server standing in for the signature
service. A screenshot of each page state is saved under tests/artifacts/ (gitignored).
"""
from __future__ import annotations

import subprocess
import threading
from pathlib import Path

import pytest

from tests.browser.support import ARGS, ARTIFACTS, CHROMIUM, ROOT
from tests.integration.portal.world import World
from tests.support.children import real_clock_env


def _chromium_or_skip() -> None:
    if not Path(CHROMIUM).exists():
        subprocess.run(["bash", str(ROOT / "scripts" / "ensure-browser.sh")], check=False, timeout=900)
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium could not be installed (scripts/ensure-browser.sh needs root and apt)")


@pytest.fixture(scope="session")
def browser():
    _chromium_or_skip()
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS, env=real_clock_env())  # the client's machine; the preload breaks Chromium's zygote
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def portal(tmp_path_factory):
    """A test World (seeds quotes, reads the outbox) served over HTTP on a free port at ``portal.url``."""
    from werkzeug.serving import make_server

    world = World(tmp_path_factory.mktemp("portal"), {"view_dwell_seconds": 1})
    server = make_server("127.0.0.1", 0, world.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    world.url = f"http://127.0.0.1:{server.server_port}"
    yield world
    server.shutdown()
    thread.join(5)
    world.close()
