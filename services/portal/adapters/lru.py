"""A bounded map shared by the threads of a worker: what the portal keeps of data that never changes."""
from __future__ import annotations

import threading
from collections import OrderedDict


class Lru:
    """At most ``max_entries`` values, the least recently used out first."""

    def __init__(self, max_entries: int):
        self.max_entries = max_entries
        self._entries: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def put(self, key, value) -> None:
        with self._lock:
            self._entries[key] = value
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
