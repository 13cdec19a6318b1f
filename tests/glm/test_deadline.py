"""bot.glm.deadline: which limit the next wait gets, and the error that names it."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest
from tenacity import RetryCallState

from bot.glm.deadline import Deadline, StopBeforeDeadline
from bot.glm.errors import GLMIdleTimeout, GLMTotalTimeout


def test_deadline_waits_idle_until_the_total_is_nearer() -> None:
    fresh = Deadline(idle=2.0, total=10.0)
    limit, error = fresh.next_wait()
    assert (error, 1.9 < limit <= 2.0) == (GLMIdleTimeout, True)
    late = Deadline(idle=2.0, total=10.0, now=time.monotonic() - 20)  # started 20 s ago
    assert late.next_wait() == (0.0, GLMTotalTimeout)
    assert not late.leaves_room_for(0.0)
    assert fresh.leaves_room_for(5.0) and not fresh.leaves_room_for(10.5)


async def test_deadline_within_names_the_limit_that_ran_out() -> None:
    idle = Deadline(idle=0.01, total=10.0)
    with pytest.raises(GLMIdleTimeout, match=r"idle timeout .* waiting for the headers"):
        await idle.within(asyncio.sleep(5), "the headers")
    total = Deadline(idle=10.0, total=0.01)
    with pytest.raises(GLMTotalTimeout, match=r"total timeout .* waiting for the stream"):
        await total.within(asyncio.sleep(5), "the stream")


async def test_deadline_within_lets_a_timeout_from_inside_through() -> None:
    async def connect() -> None:
        raise aiohttp.ConnectionTimeoutError()

    with pytest.raises(aiohttp.ConnectionTimeoutError):
        await Deadline(idle=5.0, total=5.0).within(connect(), "the headers")


async def test_past_the_deadline_even_a_ready_result_is_refused() -> None:
    async def ready() -> bytes:
        return b"data: buffered\n\n"  # as readany() returns when bytes are already buffered

    late = Deadline(idle=1.0, total=1.0, now=time.monotonic() - 2)
    with pytest.raises(GLMTotalTimeout):
        await late.within(ready(), "the stream")


def test_the_retry_stop_refuses_a_back_off_that_ends_past_the_deadline() -> None:
    stop = StopBeforeDeadline(Deadline(idle=1.0, total=5.0))
    state = RetryCallState(None, None, (), {})  # type: ignore[arg-type]
    state.upcoming_sleep = 1.0
    assert stop(state) is False
    state.upcoming_sleep = 30.0
    assert stop(state) is True
