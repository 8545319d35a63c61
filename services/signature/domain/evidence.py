"""The evidence log: append-only, hash-chained per signature request. Pure Python.

Each entry's ``sha256`` is the SHA-256 of the canonical JSON (sorted keys, no
spaces, UTF-8) of ``{seq, at, step, ip, user_agent, data, prev_sha256}``; the
first entry's ``prev_sha256`` is :data:`GENESIS`. Editing, removing or
reordering any entry breaks the chain; removing the last entries is caught by
comparing the head with the one the request's row records (and publishes in
``signature.completed``).

Times never go back along a chain: an entry is dated when it is written, after
reading the chain it extends, and never before the entry it follows (see
:func:`append`), so the order of the log and the order of its times agree.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone

GENESIS = "0" * 64


class BrokenChain(ValueError):
    """The evidence log was altered; the message says where."""


def canonical_json(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def timestamp(moment: datetime) -> str:
    """RFC 3339 in UTC with microseconds, as stored and hashed."""
    if moment.tzinfo is None:
        raise ValueError("evidence times must be timezone-aware")
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def entry_sha256(seq: int, at: str, step: str, ip: str, user_agent: str, data: dict, prev_sha256: str) -> str:
    return sha256_text(canonical_json({
        "seq": seq, "at": at, "step": step, "ip": ip, "user_agent": user_agent, "data": data,
        "prev_sha256": prev_sha256,
    }))


@dataclass(frozen=True)
class Entry:
    seq: int
    at: str
    step: str
    ip: str
    user_agent: str
    data: dict = field(default_factory=dict)
    prev_sha256: str = GENESIS
    sha256: str = ""

    def computed_sha256(self) -> str:
        return entry_sha256(self.seq, self.at, self.step, self.ip, self.user_agent, self.data, self.prev_sha256)

    def as_dict(self) -> dict:
        return {"seq": self.seq, "at": self.at, "step": self.step, "ip": self.ip, "user_agent": self.user_agent,
                "data": self.data, "prev_sha256": self.prev_sha256, "sha256": self.sha256}


def append(chain: list[Entry], *, step: str, at: datetime, ip: str = "", user_agent: str = "",
           data: dict | None = None) -> Entry:
    """Adds the next entry to ``chain`` (in place) and returns it.

    The entry is dated ``at``, or the previous entry's time when ``at`` is earlier (two servers' clocks may
    differ by a little): a chain's times are never out of order.
    """
    seq = len(chain) + 1
    prev = chain[-1].sha256 if chain else GENESIS
    # A JSON round trip keeps exactly what will be stored and re-hashed later.
    data = json.loads(canonical_json(data or {}))
    stamp = timestamp(at)
    if chain and stamp < chain[-1].at:  # same fixed-width UTC text: text order is time order
        stamp = chain[-1].at
    entry = Entry(seq=seq, at=stamp, step=step, ip=ip or "", user_agent=user_agent or "", data=data,
                  prev_sha256=prev, sha256=entry_sha256(seq, stamp, step, ip or "", user_agent or "", data, prev))
    chain.append(entry)
    return entry


def head(chain: list[Entry]) -> str:
    return chain[-1].sha256 if chain else ""


def verify_chain(entries: list[Entry], expected_head: str | None = None) -> str:
    """Checks every link; returns the head sha256, raises :class:`BrokenChain` otherwise."""
    if not entries:
        raise BrokenChain("the evidence log is empty")
    prev = GENESIS
    for position, entry in enumerate(entries, start=1):
        if entry.seq != position:
            raise BrokenChain(f"entry {position} has seq {entry.seq}: an entry was removed or moved")
        if entry.prev_sha256 != prev:
            raise BrokenChain(f"entry {entry.seq} does not follow the previous entry")
        if entry.computed_sha256() != entry.sha256:
            raise BrokenChain(f"entry {entry.seq} ({entry.step}) was modified")
        prev = entry.sha256
    if expected_head is not None and prev != expected_head:
        raise BrokenChain("the log does not end with the recorded head: entries were removed or added")
    return prev
