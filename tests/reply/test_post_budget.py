"""PostBudget: about one chat.postMessage per second per channel, with short bursts.

Time is fake: the clock and the ``sleep`` given to the budget move only when the test advances
them (``FakeTime`` from the rate-limit tests), so nothing here depends on real timing.
"""

from __future__ import annotations

import asyncio

import pytest

from bot.reply.ratelimit import PostBudget
from tests.reply.test_ratelimit import WAIT, FakeTime, settle

RATE = 128.0  # one token every 1/128 s: exact in binary floating point


async def test_a_burst_goes_at_once_then_one_post_per_interval_per_channel() -> None:
    time = FakeTime(1000.0)
    budget = PostBudget(per_second=RATE, burst=3, clock=time, sleep=time.sleep)
    for _ in range(3):
        await asyncio.wait_for(budget.acquire("C1"), WAIT)  # the burst: no waiting
    await asyncio.wait_for(budget.acquire("C2"), WAIT)  # another channel has its own budget

    fourth = asyncio.create_task(budget.acquire("C1"))
    await settle()
    assert not fourth.done()
    time.advance(1 / RATE)  # exactly one interval later there is one token
    await asyncio.wait_for(fourth, WAIT)

    fifth = asyncio.create_task(budget.acquire("C1"))
    await settle()
    assert not fifth.done(), "the token was spent by the fourth post"
    time.advance(0.5 / RATE)
    await settle()
    assert not fifth.done(), "half an interval is not enough"
    time.advance(0.5 / RATE)
    await asyncio.wait_for(fifth, WAIT)


async def test_a_429_holds_the_channel_for_exactly_retry_after() -> None:
    time = FakeTime(1000.0)
    budget = PostBudget(per_second=1.0, burst=5, clock=time, sleep=time.sleep)
    budget.rate_limited("C1", 3.0)
    assert await budget.wait_time("C1") == pytest.approx(3.0)
    assert await budget.wait_time("C2") == 0.0, "other channels are not held"
    time.advance(2.99)
    assert await budget.wait_time("C1") == pytest.approx(0.01)
    time.advance(0.01)
    await asyncio.wait_for(budget.acquire("C1"), WAIT)
    assert await budget.wait_time("C1") == pytest.approx(1.0), "then one per second again"
