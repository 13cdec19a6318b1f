"""A GLM request's clock: ``GLM_TOTAL_TIMEOUT`` from its start, ``GLM_IDLE_TIMEOUT`` per wait.

One object per request, shared by the retries (a tenacity stop) and every await of the
exchange (connect, headers, error body, each read of the stream), so the whole request ends by
its deadline and the error says which limit ran out.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from typing import TypeVar

from tenacity import RetryCallState
from tenacity.stop import stop_base

from bot.glm.errors import GLMIdleTimeout, GLMTimeout, GLMTotalTimeout

T = TypeVar("T")


class Deadline:
    """One request's clock: the ``total`` limit from its start, and the limit of each wait."""

    def __init__(self, *, idle: float, total: float, now: float | None = None) -> None:
        self._idle = idle
        self._total = total
        self._end = (time.monotonic() if now is None else now) + total

    def remaining(self) -> float:
        return self._end - time.monotonic()

    def next_wait(self) -> tuple[float, type[GLMTimeout]]:
        """How long the next wait may last, and the error when it runs out."""
        remaining = max(0.0, self.remaining())
        if self._idle < remaining:
            return self._idle, GLMIdleTimeout
        return remaining, GLMTotalTimeout

    def leaves_room_for(self, sleep: float) -> bool:
        """Whether sleeping ``sleep`` before another attempt still ends inside ``total``."""
        return sleep < self.remaining()

    async def within(self, awaitable: Awaitable[T], waiting_for: str) -> T:
        """Await under the next wait's limit; raise the idle or total timeout when it runs out
        (a timeout raised inside, e.g. aiohttp's connect timeout, passes through as it is)."""
        limit, error = self.next_wait()
        if limit <= 0:  # even if the awaitable could finish at once (data already buffered)
            _close(awaitable)
            raise self._timeout(error, limit, waiting_for)
        scope = asyncio.timeout(limit)
        try:
            async with scope:
                return await awaitable
        except TimeoutError as exc:
            if not scope.expired():
                raise
            raise self._timeout(error, limit, waiting_for) from exc

    def _timeout(self, error: type[GLMTimeout], limit: float, waiting_for: str) -> GLMTimeout:
        what = f"no byte for {limit:.3g}s" if error is GLMIdleTimeout else f"{self._total:.3g}s"
        return error(f"{error.kind} timeout ({what}) waiting for {waiting_for}")


def _close(awaitable: Awaitable[object]) -> None:
    """Close a coroutine that will not be awaited (no "never awaited" warning)."""
    close = getattr(awaitable, "close", None)
    if callable(close):
        close()


class StopBeforeDeadline(stop_base):
    """tenacity stop: no retry whose back-off would end past the request's deadline (like
    ``stop_before_delay``, on the clock the stream's reads share)."""

    def __init__(self, deadline: Deadline) -> None:
        self._deadline = deadline

    def __call__(self, retry_state: RetryCallState) -> bool:
        return not self._deadline.leaves_room_for(retry_state.upcoming_sleep)
