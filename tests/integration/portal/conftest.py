"""Fixtures for the portal's integration tests (the test portal itself is in world.py)."""
from __future__ import annotations

import pytest

from tests.integration.portal.world import (CLIENT_IP, PDF, UA, RecordingSignatureService, SignatureServer,  # noqa: F401
                                            World, make_config, snapshot, text_of)


@pytest.fixture
def world(tmp_path):
    w = World(tmp_path)
    yield w
    w.close()


@pytest.fixture
def make_world(tmp_path):
    """Builds a World with its own dependencies (e.g. ``signer=``) or settings; closed after the test."""
    built: list[World] = []

    def make(config_overrides: dict | None = None, **deps) -> World:
        w = World(tmp_path / f"w{len(built)}", config_overrides, **deps)
        built.append(w)
        return w

    yield make
    for w in built:
        w.close()
