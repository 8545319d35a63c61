"""A content-addressed blob store (a folder by default): blobs are named by their SHA-256."""
from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class BlobNotFound(KeyError):
    pass


class FolderBlobStore:
    def __init__(self, root: Path | str):
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        if not _SHA256.match(sha256 or ""):
            raise BlobNotFound(sha256)
        return self.root / sha256[:2] / sha256

    def put(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        target = self.path(digest)
        if target.exists():
            return digest
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
        return digest

    def get(self, sha256: str) -> bytes:
        try:
            return self.path(sha256).read_bytes()
        except FileNotFoundError:
            raise BlobNotFound(sha256) from None

    def exists(self, sha256: str) -> bool:
        try:
            return self.path(sha256).exists()
        except BlobNotFound:
            return False
