"""GLM's own starter prompts (``/assistant/list``), cached so opening the Messages tab costs
no upstream call most of the time and never waits long for one.

One listing serves every assistant; it is refreshed at most every ``ttl`` seconds, a failure is
remembered for ``retry_after`` seconds (so a GLM outage does not add a slow call to every tab
opening), and concurrent openings share one request.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bot.surface.prompts import starters_from_listing

log = logging.getLogger(__name__)


class StarterCache:
    def __init__(
        self,
        fetch: Callable[[], Awaitable[Any]],
        *,
        ttl: float = 6 * 3600,
        retry_after: float = 300,
        timeout: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._ttl = ttl
        self._retry_after = retry_after
        self._timeout = timeout
        self._clock = clock
        self._starters: dict[str, tuple[str, ...]] = {}
        self._next_refresh = 0.0
        self._inflight: asyncio.Task[None] | None = None

    async def get(self, assistant_id: str) -> tuple[str, ...]:
        """The assistant's upstream starters, or ``()`` when GLM has none or did not answer."""
        if self._clock() >= self._next_refresh:
            if self._inflight is None or self._inflight.done():
                self._inflight = asyncio.create_task(self._refresh(), name="glm-starters")
            # Wait a little for fresh data; a slow GLM leaves the refresh running for next time.
            await asyncio.wait({self._inflight}, timeout=self._timeout)
        return self._starters.get(assistant_id.lower(), ())

    async def _refresh(self) -> None:
        try:
            payload = await self._fetch()
        except Exception as exc:  # GLM down or key rejected: our catalogue will do
            log.info("could not fetch GLM starter prompts: %s", type(exc).__name__)
            self._next_refresh = self._clock() + self._retry_after
            return
        self._starters = starters_from_listing(payload)
        self._next_refresh = self._clock() + self._ttl
