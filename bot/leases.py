"""A database lease per Slack thread, so instances sharing one database answer a thread's
messages one at a time (inside one instance, the per-thread executor already does).

The lease is short and renewed while the turn runs, so a crashed holder blocks the thread for
at most ``ttl`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

from bot.store.repository import Repository

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def thread_lease(
    repo: Repository,
    key: str,
    holder: str,
    *,
    ttl: float = 60.0,
    poll: float = 0.25,
    max_wait: float = 660.0,
    on_wait: Callable[[], Awaitable[None]] | None = None,
) -> AsyncIterator[None]:
    lease_ttl = timedelta(seconds=ttl)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + max_wait
    waited = False
    while not await repo.try_lease(key, holder=holder, ttl=lease_ttl):
        if not waited and on_wait is not None:
            waited = True
            await on_wait()
        if loop.time() > deadline:
            log.warning("thread %s still busy after %.0fs; answering anyway", key, max_wait)
            break
        await asyncio.sleep(poll)
        poll = min(poll * 1.5, 2.0)  # a long answer elsewhere: check less and less often

    async def renew() -> None:
        while True:
            await asyncio.sleep(ttl / 3)
            with contextlib.suppress(Exception):
                await repo.try_lease(key, holder=holder, ttl=lease_ttl)

    renewer = asyncio.create_task(renew(), name=f"lease:{key}")
    try:
        yield
    finally:
        renewer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await renewer
        with contextlib.suppress(Exception):
            await asyncio.shield(repo.release_lease(key, holder=holder))
