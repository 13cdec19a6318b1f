"""Slack's edit budget: one token bucket per workspace shared by every streaming reply.

``chat.update`` is Tier 3 (about 50 per minute) per workspace, not per message (platform notes
§3.1), so N concurrent replies must share it. Urgent edits (first text, final text) may use the
whole bucket; routine progress edits leave ``reserve`` tokens for them, so a crowd of streams
can never starve the edits that complete a reply.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

Clock = Callable[[], float]


@dataclass(slots=True)
class TokenBucket:
    """Pure token bucket with an injectable clock; ``wait_time`` answers "how long until I may"."""

    rate: float  # tokens per second
    burst: float
    clock: Clock = time.monotonic
    tokens: float = field(init=False)
    stamp: float = field(init=False)

    def __post_init__(self) -> None:
        self.tokens = self.burst
        self.stamp = self.clock()

    def _refill(self) -> None:
        now = self.clock()
        if now > self.stamp:
            self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    def wait_time(self, reserve: float = 0.0) -> float:
        """Seconds until one token is available above ``reserve`` (0 means now)."""
        self._refill()
        need = 1.0 + reserve - self.tokens
        return 0.0 if need <= 0 else need / self.rate

    def take(self, reserve: float = 0.0) -> bool:
        if self.wait_time(reserve) > 0:
            return False
        self.tokens -= 1.0
        return True

    def penalise(self, seconds: float) -> None:
        """Slack said 429: spend the bucket so nobody calls before ``Retry-After`` passes.

        One token becomes available exactly when ``Retry-After`` ends (Slack's promise), not one
        refill period later: ``-seconds * rate`` made every 429 cost an extra ``1 / rate``
        (1.2 s at 50 per minute) on top of what Slack asked for.
        """
        self._refill()
        self.tokens = min(self.tokens, 1.0 - seconds * self.rate)


class KeyedBuckets:
    """One lazily created bucket per key (workspace, channel), all with the same limits."""

    def __init__(self, rate: float, burst: float, clock: Clock) -> None:
        self._rate, self._burst, self._clock = rate, burst, clock
        self._buckets: dict[str, TokenBucket] = {}

    def __getitem__(self, key: str) -> TokenBucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(self._rate, self._burst, self._clock)
        return bucket


class EditBudget:
    """Async gate over per-workspace buckets. ``acquire(team, urgent=...)`` waits its turn."""

    def __init__(
        self,
        *,
        per_minute: float = 50.0,
        burst: float = 20.0,
        reserve: float = 3.0,
        clock: Clock = time.monotonic,
    ) -> None:
        self._per_second = per_minute / 60.0
        self._burst = max(1.0, burst)
        self._reserve = min(reserve, self._burst - 1.0)
        self._buckets = KeyedBuckets(self._per_second, self._burst, clock)
        self._queues: dict[str, tuple[deque[asyncio.Event], deque[asyncio.Event]]] = {}
        self._open: dict[str, int] = {}

    def bucket(self, team_id: str) -> TokenBucket:
        return self._buckets[team_id]

    async def acquire(self, team_id: str, *, urgent: bool) -> None:
        """Wait for an edit token. Waiters are served first come, first served within their
        class, so every stream gets its turn; urgent ones go before any routine one."""
        bucket = self.bucket(team_id)
        urgent_q, routine_q = self._queues.setdefault(team_id, (deque(), deque()))
        queue = urgent_q if urgent else routine_q
        ticket = asyncio.Event()
        queue.append(ticket)
        try:
            while True:
                if queue[0] is ticket:
                    # Routine edits leave a reserve, plus one token per urgent edit waiting.
                    reserve = 0.0 if urgent else self._routine_reserve(team_id) + len(urgent_q)
                    if bucket.take(reserve):
                        return
                    wait = bucket.wait_time(reserve)
                    if not urgent and urgent_q:
                        wait = min(wait, 0.05)  # re-check soon: urgent work may clear
                    await asyncio.sleep(max(wait, 0.005))
                else:
                    # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation
                    # that races with the event, leaving a cancelled waiter queued for minutes.
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(1.0):
                            await ticket.wait()
        finally:
            queue.remove(ticket)
            if queue:
                queue[0].set()

    def open(self, team_id: str) -> None:
        """A reply started streaming: it will need one urgent edit to finish."""
        self._open[team_id] = self._open.get(team_id, 0) + 1

    def close(self, team_id: str) -> None:
        self._open[team_id] = max(0, self._open.get(team_id, 0) - 1)

    def _routine_reserve(self, team_id: str) -> float:
        # Keep back a token for every reply that still has to land its final edit (up to the
        # burst), so progress edits never delay completion: under load, finals come first.
        return max(self._reserve, min(float(self._open.get(team_id, 0)), self._burst))

    def rate_limited(self, team_id: str, retry_after: float) -> None:
        self.bucket(team_id).penalise(retry_after)


class PostBudget:
    """``chat.postMessage`` allows about one message per second per channel, with short bursts."""

    def __init__(
        self, *, per_second: float = 1.0, burst: float = 5.0, clock: Clock = time.monotonic
    ) -> None:
        self._buckets = KeyedBuckets(per_second, max(1.0, burst), clock)

    def bucket(self, channel_id: str) -> TokenBucket:
        return self._buckets[channel_id]

    async def acquire(self, channel_id: str) -> None:
        bucket = self.bucket(channel_id)
        while not bucket.take():  # noqa: ASYNC110 - sleeping until the bucket refills is the point
            await asyncio.sleep(max(bucket.wait_time(), 0.01))

    def rate_limited(self, channel_id: str, retry_after: float) -> None:
        self.bucket(channel_id).penalise(retry_after)
