"""What a process a test starts inherits."""
from __future__ import annotations

import os
from pathlib import Path


def pythonpath(root: Path) -> str:
    """The project first, then the parent's own PYTHONPATH (scripts/far-ahead.sh puts its shim there)."""
    return os.pathsep.join(p for p in (str(root), os.environ.get("PYTHONPATH", "")) if p)
