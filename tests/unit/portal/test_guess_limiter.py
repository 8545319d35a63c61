"""The guess limiter's rules: whose guesses an address counts as, memory that stays bounded without ever
forgetting a blocked client for others' failures, and a count shared by several processes (a fake of it)."""
from __future__ import annotations

import pytest

from services.portal.domain import model
from services.portal.domain.guessing import SharedFailures, client_key


class Clock:
    def __init__(self, now: float = 1000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


class FakeSharedFailures(SharedFailures):
    """The database's count, in a dict: what every limiter given it records, counted together."""

    def __init__(self, clock: Clock):
        self.clock = clock
        self.failures: dict[str, list[float]] = {}
        self.down = False

    def record(self, client: str, window: float, limit: int) -> float | None:
        if self.down:
            return None
        now = self.clock()
        latest = [t for t in self.failures.get(client, []) if t > now - window] + [now]
        self.failures[client] = latest
        return latest[-limit] + window - now if len(latest) >= limit else 0.0


def guessed(limiter: model.GuessLimiter, address: str) -> bool:
    """One guess that fails, as the page makes it: True when it was let through to the lookup."""
    try:
        limiter.check(address)
    except model.TooManyAttempts:
        return False
    limiter.failed(address)
    return True


@pytest.mark.parametrize("address, key", [
    ("192.0.2.7", "192.0.2.7"),
    ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
    ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
    ("2001:DB8:1:3::1", "2001:db8:1:3::/64"),
    ("::ffff:192.0.2.7", "192.0.2.7"),
    ("fe80::1%eth0", "fe80::/64"),
    ("::1", "::/64"),
    ("", ""),
    ("unknown", "unknown"),
    ("not:an:address", "not:an:address"),
    ("x" * 5000, "x" * 100),
    (":" * 5000, ":" * 100),
])
def test_an_ipv4_address_counts_as_itself_an_ipv6_one_as_its_64(address, key):
    assert client_key(address) == key


def test_the_addresses_of_one_ipv6_64_share_one_count():
    clock = Clock()
    limiter = model.GuessLimiter(max_failures=3, window=60, clock=clock)
    for address in ("2001:db8:aa:bb::1", "2001:db8:aa:bb::2", "2001:db8:aa:bb:abcd:ef01:2345:6789"):
        assert guessed(limiter, address)
    with pytest.raises(model.TooManyAttempts):
        limiter.check("2001:db8:aa:bb::99")
    assert limiter.retry_after("2001:db8:aa:bb::99") == 61
    limiter.check("2001:db8:aa:bc::1")  # the next /64 is someone else
    limiter.check("::ffff:192.0.2.7")


def test_a_blocked_address_stays_blocked_while_100001_others_fail():
    clock = Clock()
    limiter = model.GuessLimiter(max_failures=3, window=300, clock=clock)
    for _ in range(3):
        limiter.failed("198.51.100.1")
    with pytest.raises(model.TooManyAttempts):
        limiter.check("198.51.100.1")
    for n in range(100_001):
        clock.now += 0.001
        limiter.failed(f"2001:db8:{n >> 16:x}:{n & 0xffff:x}::1")  # 100,001 different /64s
    with pytest.raises(model.TooManyAttempts):
        limiter.check("198.51.100.1")
    assert 1 <= limiter.retry_after("198.51.100.1") <= 301
    assert len(limiter._counts) <= limiter.max_clients and len(limiter._blocked) == 1
    # The least recent counts went out, one at a time, not all: the latest failing clients still count.
    last = "2001:db8:1:86a0::1"
    limiter.failed(last)
    limiter.failed(last)
    with pytest.raises(model.TooManyAttempts):
        limiter.check(last)
    clock.now += 300
    limiter.check("198.51.100.1")


def test_blocks_are_bounded_too_the_oldest_out_first():
    clock = Clock()
    limiter = model.GuessLimiter(max_failures=1, window=60, clock=clock, max_clients=3)
    for n in range(5):
        clock.now += 1
        limiter.failed(f"192.0.2.{n}")
    assert list(limiter._blocked) == ["192.0.2.2", "192.0.2.3", "192.0.2.4"]
    assert len(limiter._counts) == 3
    limiter.check("192.0.2.0")  # pushed out by more blocked clients than the bound: forgotten here only
    clock.now += 60
    limiter.failed("192.0.2.9")  # blocks that ended go first
    assert list(limiter._blocked) == ["192.0.2.9"]


def test_two_processes_sharing_the_count_let_through_at_most_one_more_guess():
    clock = Clock()
    shared = FakeSharedFailures(clock)
    workers = [model.GuessLimiter(max_failures=5, window=300, clock=clock, shared=shared) for _ in range(2)]
    let_through = 0
    for n in range(40):
        clock.now += 1
        let_through += guessed(workers[n % 2], "203.0.113.9")
    assert let_through == 5 + 1
    for worker in workers:
        with pytest.raises(model.TooManyAttempts):
            worker.check("203.0.113.9")
    # The shared window decides. Worker 0 made the 5th failure (at 1005; the first was at 1001): the address
    # may try again at 1301. Worker 1, not yet told, let the 6th through (at 1006): then at 1302.
    assert workers[0].retry_after("203.0.113.9") == int(1301 - clock.now) + 1
    assert workers[1].retry_after("203.0.113.9") == int(1302 - clock.now) + 1
    clock.now = 1302.5
    assert guessed(workers[1], "203.0.113.9")


def test_a_process_that_forgot_a_block_learns_it_again_from_the_shared_count():
    clock = Clock()
    shared = FakeSharedFailures(clock)
    limiter = model.GuessLimiter(max_failures=2, window=300, clock=clock, shared=shared, max_clients=2)
    assert guessed(limiter, "192.0.2.1") and guessed(limiter, "192.0.2.1")
    assert not guessed(limiter, "192.0.2.1")
    for other in ("192.0.2.2", "192.0.2.3"):  # two more blocked clients push its block out of memory
        guessed(limiter, other)
        guessed(limiter, other)
    assert guessed(limiter, "192.0.2.1")  # one more guess, which fails and is counted together
    assert not guessed(limiter, "192.0.2.1")


def test_while_the_shared_count_cannot_record_the_process_counts_alone():
    clock = Clock()
    shared = FakeSharedFailures(clock)
    shared.down = True
    limiter = model.GuessLimiter(max_failures=3, window=60, clock=clock, shared=shared)
    assert [guessed(limiter, "192.0.2.1") for _ in range(5)] == [True, True, True, False, False]
    assert limiter.retry_after("192.0.2.1") == 61
