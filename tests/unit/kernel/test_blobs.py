"""The blob store's copies in memory: the same bytes as the file, bounded, never for large blobs."""
from __future__ import annotations

import os

import pytest

from quoteflow.blobs import BlobNotFound, FolderBlobStore


def test_a_cached_blob_is_read_from_its_file_once(tmp_path):
    store = FolderBlobStore(tmp_path, cache_bytes=1 << 20)
    data = os.urandom(1000)
    sha = store.put(data)
    assert store.cached(sha) == data
    store.path(sha).unlink()  # a blob never changes: the copy in memory answers from now on
    assert store.cached(sha) == data and store.exists(sha)


def test_the_least_recently_used_blobs_go_first_once_the_bytes_are_spent(tmp_path):
    store = FolderBlobStore(tmp_path, cache_bytes=2500)
    first, second, third = (store.put(os.urandom(1000)) for _ in range(3))
    store.cached(first), store.cached(second)
    store.cached(first)                 # used again: now the most recent
    store.cached(third)                 # 3,000 bytes > 2,500: the least recent (second) goes
    for sha in (first, second, third):
        store.path(sha).unlink()
    assert store.exists(first) and store.exists(third) and not store.exists(second)
    with pytest.raises(BlobNotFound):
        store.cached(second)


def test_a_blob_larger_than_the_limit_is_not_kept(tmp_path):
    store = FolderBlobStore(tmp_path, cache_bytes=10_000, max_cached_blob=1000)
    small, large = store.put(os.urandom(1000)), store.put(os.urandom(1001))
    assert store.cached(large) is None          # the caller sends it from store.path(large)
    assert store.cached(small) is not None


def test_without_a_cache_nothing_is_kept(tmp_path):
    store = FolderBlobStore(tmp_path)
    sha = store.put(b"x")
    assert store.cached(sha) is None


def test_a_missing_or_malformed_name_is_not_found(tmp_path):
    store = FolderBlobStore(tmp_path, cache_bytes=1 << 20)
    with pytest.raises(BlobNotFound):
        store.cached("0" * 64)
    with pytest.raises(BlobNotFound):
        store.cached("../etc/passwd")
