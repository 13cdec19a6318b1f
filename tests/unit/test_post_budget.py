"""PostBudget: about one chat.postMessage per second per channel, with short bursts.

Time is an injected clock that only moves when the test says so; the waits are synchronised on
the budget having looked at the clock (it polls while it waits), never on sleeping.
"""

from __future__ import annotations

import asyncio

import pytest

from bot.slack.ratelimit import PostBudget


class Clock:
    """A manual clock that can tell when it has been read ``n`` more times."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.reads = 0
        self._target = 0
        self._reached = asyncio.Event()

    def __call__(self) -> float:
        self.reads += 1
        if self.reads >= self._target:
            self._reached.set()
        return self.now

    async def read_again(self, n: int) -> None:
        self._target = self.reads + n
        self._reached.clear()
        async with asyncio.timeout(5):
            await self._reached.wait()


async def take(budget: PostBudget, channel: str) -> None:
    async with asyncio.timeout(1):
        await budget.acquire(channel)


# 128 per second: the real polling interval stays near 10 ms, and 1/128 s is exact in binary
# floating point, so "exactly one interval later" means exactly that.
RATE = 128.0


async def test_a_burst_goes_at_once_then_one_post_per_interval_per_channel() -> None:
    clock = Clock()
    budget = PostBudget(per_second=RATE, burst=3, clock=clock)
    for _ in range(3):
        await take(budget, "C1")  # the burst: no waiting
    await take(budget, "C2")  # another channel has its own budget

    fourth = asyncio.create_task(budget.acquire("C1"))
    await clock.read_again(6)  # it checked the bucket several times and is still waiting
    assert not fourth.done()
    clock.now += 1 / RATE  # exactly one interval later there is one token
    async with asyncio.timeout(1):
        await fourth

    fifth = asyncio.create_task(budget.acquire("C1"))
    await clock.read_again(6)
    assert not fifth.done(), "the token was spent by the fourth post"
    clock.now += 0.5 / RATE
    await clock.read_again(6)
    assert not fifth.done(), "half an interval is not enough"
    clock.now += 0.5 / RATE
    async with asyncio.timeout(1):
        await fifth


async def test_a_429_holds_the_channel_for_exactly_retry_after() -> None:
    clock = Clock()
    budget = PostBudget(per_second=1.0, burst=5, clock=clock)
    budget.rate_limited("C1", 3.0)
    assert budget.bucket("C1").wait_time() == pytest.approx(3.0)
    assert budget.bucket("C2").wait_time() == 0.0, "other channels are not held"
    clock.now += 2.99
    assert budget.bucket("C1").wait_time() == pytest.approx(0.01)
    clock.now += 0.01
    await take(budget, "C1")
    assert budget.bucket("C1").wait_time() == pytest.approx(1.0), "then one per second again"
