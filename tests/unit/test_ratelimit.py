"""The shared edit budget: token-bucket arithmetic and the urgent-before-routine policy.

Every test uses a fake clock (a mutable float), so refills happen only when the test advances
time. The async tests run on the real event loop; they use a fast bucket (128 tokens per second,
an exact binary fraction, so one token is exactly ``1 / 128`` s of fake time) to keep the real
``asyncio.sleep`` inside ``acquire`` at about 10 ms per poll and every wait bounded.
"""

from __future__ import annotations

import asyncio

import pytest

from bot.slack.ratelimit import EditBudget, TokenBucket

FAST_PER_MINUTE = 128 * 60  # 128 tokens per second
TICK = 1 / 128  # fake seconds per token at FAST_PER_MINUTE
WAIT = 1.0  # upper bound for any real wait in these tests


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


# -- TokenBucket ------------------------------------------------------------------------------


def test_bucket_allows_the_burst_then_refills_at_the_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=2.0, burst=3.0, clock=clock)
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
    clock.advance(0.49)
    assert not bucket.take()
    clock.advance(0.01)  # 0.5 s at 2 per second: exactly one token
    assert bucket.take()
    assert not bucket.take()


def test_bucket_never_holds_more_than_the_burst() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=1.0, burst=2.0, clock=clock)
    clock.advance(3600)
    assert [bucket.take() for _ in range(3)] == [True, True, False]


def test_wait_time_says_how_long_until_one_token() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=0.5, burst=1.0, clock=clock)
    assert bucket.wait_time() == 0.0
    assert bucket.take()
    assert bucket.wait_time() == pytest.approx(2.0)
    clock.advance(1.5)
    assert bucket.wait_time() == pytest.approx(0.5)
    clock.advance(0.5)
    assert bucket.wait_time() == 0.0


def test_wait_time_does_not_spend_tokens() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=1.0, burst=1.0, clock=clock)
    for _ in range(3):
        assert bucket.wait_time() == 0.0
    assert bucket.take()


def test_reserve_keeps_tokens_back() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=1.0, burst=5.0, clock=clock)
    # With 2 held in reserve, only 3 of the 5 tokens are usable.
    assert [bucket.take(reserve=2) for _ in range(4)] == [True, True, True, False]
    assert bucket.wait_time(reserve=2) == pytest.approx(1.0)
    # The reserve is still there for a caller that may use it.
    assert bucket.take() and bucket.take()
    assert not bucket.take()
    assert bucket.wait_time(reserve=2) == pytest.approx(3.0)


def test_penalise_blocks_everyone_until_retry_after() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=50 / 60, burst=20.0, clock=clock)
    bucket.penalise(2.0)  # a 429 with Retry-After: 2, while the bucket was full
    assert bucket.wait_time() == pytest.approx(2.0)
    clock.advance(1.99)
    assert not bucket.take()
    clock.advance(0.01)
    assert bucket.take(), "one call is allowed as soon as Retry-After has passed"
    assert not bucket.take(), "and the bucket is empty again after it"


def test_penalise_never_gives_tokens_back() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=1.0, burst=5.0, clock=clock)
    bucket.penalise(10.0)
    bucket.penalise(1.0)  # a shorter Retry-After later must not shorten the first one
    assert bucket.wait_time() == pytest.approx(10.0)


# -- EditBudget: synchronous views -------------------------------------------------------------


def test_each_workspace_has_its_own_bucket() -> None:
    clock = FakeClock()
    budget = EditBudget(per_minute=60, burst=2, reserve=0, clock=clock)
    a, b = budget.bucket("T1"), budget.bucket("T2")
    assert a is budget.bucket("T1") and a is not b
    assert a.take() and a.take() and not a.take()
    assert b.take(), "spending T1's budget leaves T2's untouched"
    budget.rate_limited("T1", 30)
    assert budget.bucket("T2").wait_time() == 0.0
    assert budget.bucket("T1").wait_time() == pytest.approx(30.0)


# -- EditBudget.acquire ------------------------------------------------------------------------


async def test_reserve_is_capped_below_the_burst() -> None:
    """A reserve as large as the burst would starve routine edits for ever."""
    clock = FakeClock()
    budget = EditBudget(per_minute=60, burst=3, reserve=10, clock=clock)
    await asyncio.wait_for(budget.acquire("T1", urgent=False), WAIT)


async def test_acquire_returns_at_once_while_tokens_last() -> None:
    clock = FakeClock()
    budget = EditBudget(per_minute=60, burst=5, reserve=2, clock=clock)
    for _ in range(3):
        await asyncio.wait_for(budget.acquire("T1", urgent=False), WAIT)
    for _ in range(2):
        await asyncio.wait_for(budget.acquire("T1", urgent=True), WAIT)
    assert budget.bucket("T1").wait_time() > 0


async def test_routine_never_takes_the_reserve() -> None:
    clock = FakeClock()
    budget = EditBudget(per_minute=FAST_PER_MINUTE, burst=5, reserve=3, clock=clock)
    for _ in range(2):
        await asyncio.wait_for(budget.acquire("T1", urgent=False), WAIT)
    routine = asyncio.create_task(budget.acquire("T1", urgent=False))
    await asyncio.sleep(0.05)  # several polls of the waiting task, no fake time passing
    assert not routine.done(), "routine edits must leave the reserve alone"
    # The reserve is intact: urgent edits get all three tokens without waiting.
    for _ in range(3):
        await asyncio.wait_for(budget.acquire("T1", urgent=True), WAIT)
    clock.advance(3 * TICK)  # the reserve refilled, but nothing above it
    await asyncio.sleep(0.05)
    assert not routine.done()
    clock.advance(TICK)  # one token above the reserve
    await asyncio.wait_for(routine, WAIT)


async def test_urgent_is_served_before_routine_when_tokens_are_scarce() -> None:
    clock = FakeClock()
    budget = EditBudget(per_minute=FAST_PER_MINUTE, burst=4, reserve=2, clock=clock)
    for _ in range(4):
        await asyncio.wait_for(budget.acquire("T1", urgent=True), WAIT)  # bucket empty
    order: list[str] = []

    async def acquire(name: str, *, urgent: bool) -> None:
        await budget.acquire("T1", urgent=urgent)
        order.append(name)

    routine = asyncio.create_task(acquire("routine", urgent=False))
    await asyncio.sleep(0.02)  # the routine edit was waiting first
    urgent = asyncio.create_task(acquire("urgent", urgent=True))
    await asyncio.sleep(0.02)
    # Three tokens: enough for routine (reserve 2 + 1) were nobody urgent waiting.
    clock.advance(3 * TICK)
    await asyncio.wait_for(urgent, WAIT)
    assert order == ["urgent"]
    await asyncio.sleep(0.05)
    assert not routine.done(), "two tokens left: exactly the reserve"
    clock.advance(TICK)
    await asyncio.wait_for(routine, WAIT)
    assert order == ["urgent", "routine"]


async def test_waiting_urgent_edits_raise_the_routine_reserve() -> None:
    clock = FakeClock()
    budget = EditBudget(per_minute=FAST_PER_MINUTE, burst=10, reserve=1, clock=clock)
    for _ in range(10):
        await asyncio.wait_for(budget.acquire("T1", urgent=True), WAIT)
    routine = asyncio.create_task(budget.acquire("T1", urgent=False))
    urgents = [asyncio.create_task(budget.acquire("T1", urgent=True)) for _ in range(3)]
    await asyncio.sleep(0.02)
    clock.advance(4 * TICK)  # reserve 1 + 3 urgent waiting: routine still may not go
    await asyncio.wait_for(asyncio.gather(*urgents), WAIT)
    assert not routine.done()
    clock.advance(TICK)  # 1 token left (the reserve) + 1 more
    await asyncio.wait_for(routine, WAIT)


async def test_a_cancelled_urgent_wait_does_not_block_routine_for_ever() -> None:
    clock = FakeClock()
    budget = EditBudget(per_minute=FAST_PER_MINUTE, burst=3, reserve=1, clock=clock)
    for _ in range(3):
        await asyncio.wait_for(budget.acquire("T1", urgent=True), WAIT)
    urgent = asyncio.create_task(budget.acquire("T1", urgent=True))
    await asyncio.sleep(0.02)
    urgent.cancel()
    with pytest.raises(asyncio.CancelledError):
        await urgent
    clock.advance(2 * TICK)  # reserve 1 + 1: enough once nobody urgent is waiting
    await asyncio.wait_for(budget.acquire("T1", urgent=False), WAIT)


async def test_workspaces_do_not_wait_for_each_other() -> None:
    clock = FakeClock()
    budget = EditBudget(per_minute=FAST_PER_MINUTE, burst=2, reserve=1, clock=clock)
    for _ in range(2):
        await asyncio.wait_for(budget.acquire("T1", urgent=True), WAIT)
    blocked = asyncio.create_task(budget.acquire("T1", urgent=True))
    await asyncio.wait_for(budget.acquire("T2", urgent=False), WAIT)
    await asyncio.wait_for(budget.acquire("T2", urgent=True), WAIT)
    assert not blocked.done()
    clock.advance(TICK)
    await asyncio.wait_for(blocked, WAIT)


async def test_after_a_429_acquire_waits_for_retry_after() -> None:
    clock = FakeClock()
    budget = EditBudget(per_minute=FAST_PER_MINUTE, burst=20, reserve=3, clock=clock)
    budget.rate_limited("T1", 8 * TICK)
    task = asyncio.create_task(budget.acquire("T1", urgent=True))
    await asyncio.sleep(0.02)
    clock.advance(7 * TICK)
    await asyncio.sleep(0.02)
    assert not task.done(), "no call before Retry-After, even for an urgent edit"
    clock.advance(TICK)
    await asyncio.wait_for(task, WAIT)
