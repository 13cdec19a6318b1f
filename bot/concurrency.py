"""Run submitted jobs one at a time per key (a Slack thread), in submission order.

``submit`` is synchronous so a listener can enqueue before its first ``await``: two messages
delivered in order into one thread are processed in that order. Different keys run
concurrently. Every job task is tracked so shutdown can wait for them (Bolt does not track the
futures of its listeners).

Memory stays bounded: a key's queue and worker exist only while it has work (a drained key is
forgotten), and ``submit`` refuses a job (returns False, queues nothing) when its key already
has ``max_per_key`` jobs waiting or the executor ``max_total``: a flooded thread, or a flood
across threads, gets a refusal the caller reports instead of an ever longer queue.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Hashable

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[None]]


MAX_QUEUED_PER_KEY = 20  # messages waiting behind a running turn in one thread
MAX_QUEUED_TOTAL = 2000  # waiting jobs across all threads of this instance


class KeyedSerialExecutor:
    def __init__(
        self, *, max_per_key: int = MAX_QUEUED_PER_KEY, max_total: int = MAX_QUEUED_TOTAL
    ) -> None:
        self._queues: dict[Hashable, deque[Job]] = {}
        self._workers: dict[Hashable, asyncio.Task[None]] = {}
        self._idle = asyncio.Event()
        self._idle.set()
        self._max_per_key = max_per_key
        self._max_total = max_total
        self._queued = 0  # jobs waiting (not yet started) across all keys

    def submit(self, key: Hashable, job: Job) -> bool:
        """Queue ``job`` behind ``key``'s earlier jobs; False (nothing queued) when full."""
        if not self.has_room(key):
            log.warning(
                "refused a job: %d waiting in all, %d behind this key",
                self._queued,
                len(self._queues.get(key) or ()),
            )
            return False
        queue = self._queues.get(key)
        if queue is None:
            queue = self._queues[key] = deque()
        queue.append(job)
        self._queued += 1
        if key not in self._workers:
            self._idle.clear()
            self._workers[key] = asyncio.get_running_loop().create_task(
                self._work(key), name=f"thread:{key}"
            )
        return True

    def has_room(self, key: Hashable) -> bool:
        """Whether ``submit(key, …)`` would queue a job now."""
        queue = self._queues.get(key)
        waiting = len(queue) if queue is not None else 0
        return self._queued < self._max_total and waiting < self._max_per_key

    @property
    def queued(self) -> int:
        """Jobs waiting to start, across all keys."""
        return self._queued

    @property
    def keys(self) -> int:
        """Keys with work (running or waiting): idle ones are not kept."""
        return len(self._queues)

    @property
    def active(self) -> int:
        return len(self._workers)

    async def _work(self, key: Hashable) -> None:
        queue = self._queues[key]
        try:
            while queue:
                job = queue.popleft()
                self._queued -= 1
                try:
                    await job()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("turn failed unexpectedly")
        finally:
            self._queued -= len(queue)  # cancelled with jobs still waiting: they never run
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
