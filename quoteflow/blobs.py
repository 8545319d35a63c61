"""A content-addressed blob store (a folder by default): blobs are named by their SHA-256."""
from __future__ import annotations

import hashlib
import os
import re
import tempfile
import threading
from collections import OrderedDict
from pathlib import Path

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class BlobNotFound(KeyError):
    pass


class FolderBlobStore:
    """Blobs as files under ``root``; with ``cache_bytes``, the small ones read are also kept in memory.

    A blob never changes (its name is its hash), so a copy in memory is never stale: the portal
    keeps the PDFs it sends (``cached``) instead of opening and stat-ing the file for every
    download -- at most ``cache_bytes`` in all per process, least recently used out first, none
    larger than ``max_cached_blob`` (those are sent from the file).
    """

    def __init__(self, root: Path | str, *, cache_bytes: int = 0, max_cached_blob: int = 4 << 20):
        self.root = Path(root)
        self.cache_bytes = cache_bytes
        self.max_cached_blob = min(max_cached_blob, cache_bytes)
        self._cache: OrderedDict[str, bytes] = OrderedDict()
        self._cached_total = 0
        self._lock = threading.Lock()

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
        if sha256 in self._cache:
            return True
        try:
            return self.path(sha256).exists()
        except BlobNotFound:
            return False

    def cached(self, sha256: str) -> bytes | None:
        """The blob's bytes from memory, read once from its file; None when it is too large to keep
        (send it from ``path``). Raises BlobNotFound when there is no such blob."""
        with self._lock:
            data = self._cache.get(sha256)
            if data is not None:
                self._cache.move_to_end(sha256)
                return data
        path = self.path(sha256)
        try:
            with open(path, "rb") as handle:
                if os.fstat(handle.fileno()).st_size > self.max_cached_blob:
                    return None
                data = handle.read()
        except FileNotFoundError:
            raise BlobNotFound(sha256) from None
        with self._lock:
            if sha256 not in self._cache:
                self._cache[sha256] = data
                self._cached_total += len(data)
                while self._cached_total > self.cache_bytes:
                    _, dropped = self._cache.popitem(last=False)
                    self._cached_total -= len(dropped)
        return data
