"""What a process a test starts inherits."""
from __future__ import annotations

import os
from pathlib import Path


def pythonpath(root: Path) -> str:
    """The project first, then the parent's own PYTHONPATH (scripts/far-ahead.sh puts its shim there)."""
    return os.pathsep.join(p for p in (str(root), os.environ.get("PYTHONPATH", "")) if p)


def real_clock_env() -> dict[str, str]:
    """The environment without libfaketime (scripts/far-ahead.sh): for a program that stands for another
    machine with its own clock (the client's browser, the broker's own tools), or that the preload breaks."""
    return {k: v for k, v in os.environ.items() if k != "LD_PRELOAD" and not k.startswith("FAKETIME")}
