"""Run submitted jobs one at a time per key (a Slack thread), in submission order.

``submit`` is synchronous so a listener can enqueue before its first ``await``: two messages
delivered in order into one thread are processed in that order. Different keys run
concurrently. Every job task is tracked so shutdown can wait for them (Bolt does not track the
futures of its listeners).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Hashable

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[None]]


class KeyedSerialExecutor:
    def __init__(self) -> None:
        self._queues: dict[Hashable, deque[Job]] = {}
        self._workers: dict[Hashable, asyncio.Task[None]] = {}
        self._idle = asyncio.Event()
        self._idle.set()

    def submit(self, key: Hashable, job: Job) -> None:
        queue = self._queues.setdefault(key, deque())
        queue.append(job)
        if key not in self._workers:
            self._idle.clear()
            self._workers[key] = asyncio.get_running_loop().create_task(
                self._work(key), name=f"thread:{key}"
            )

    @property
    def active(self) -> int:
        return len(self._workers)

    async def _work(self, key: Hashable) -> None:
        queue = self._queues[key]
        try:
            while queue:
                job = queue.popleft()
                try:
                    await job()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("turn failed unexpectedly")
        finally:
            self._queues.pop(key, None)
            self._workers.pop(key, None)
            if not self._workers:
                self._idle.set()

    async def wait_idle(self, timeout: float | None = None) -> bool:
        """True when every queue drained within ``timeout``."""
        try:
            async with asyncio.timeout(timeout):
                await self._idle.wait()
            return True
        except TimeoutError:
            return False

    async def cancel_all(self) -> None:
        tasks = list(self._workers.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
