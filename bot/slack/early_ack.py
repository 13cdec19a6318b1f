"""Acknowledge Slack's events as soon as the guard has passed them; run Bolt after the acks.

Slack wants a 200 within 3 seconds and retries otherwise. Bolt acknowledges an event only after
its whole middleware chain (context, authorization, listener matching: about a millisecond
here, more with an installation to read), and in a burst each event's ack also waits behind
the turns the earlier events started on the same event loop. So the ack of the 50th of 50
simultaneous mentions took 80-160 ms.

Here a signed, well-formed ``event_callback`` (the guard has checked both) is answered 200 at
once and queued; the queue is run through Bolt once no event has arrived for ``quiet`` seconds
(or its oldest has waited ``max_delay``), so a burst's acks go out before its work starts.
Commands, interactions and ``url_verification`` still go through Bolt in line: their answer is
a body Bolt builds.

What an early ack gives up is Slack's own retry of a request that failed *before* Bolt would
have acknowledged it (authorization reading the installation during a database outage). The
dispatcher takes that over: a dispatch that Bolt answers with 5xx, or that raises, is tried
again with back-off for about a minute (Bolt refuses a request over five minutes old), then
dropped with an error naming the event. Nothing has happened by then (listeners run only after
Bolt's own ack), and event ids are claimed once, so a repeat cannot answer twice.

With ``limit`` events already waiting or dispatching, a request goes through Bolt in line as
before: under a flood the bot slows its acks and lets Slack's retries pace it, rather than
queueing without bound. On shutdown :meth:`EventDispatcher.drain` runs what was acknowledged.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextvars import Context
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.slack.guard import PASSED

log = logging.getLogger(__name__)

Dispatch = Callable[[AsyncBoltRequest], Awaitable[BoltResponse]]
RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0)  # about a minute in all


@dataclass(frozen=True, slots=True)
class Inbound:
    """One acknowledged request, kept as text so each attempt builds a fresh Bolt request."""

    event_id: str
    body: str
    query: str
    headers: dict[str, str | Sequence[str]]  # a copy: the aiohttp request is gone by then
    at: float


class EventDispatcher:
    """The queue behind the early acks, and its one worker."""

    def __init__(
        self,
        dispatch: Dispatch,
        *,
        limit: int = 1000,
        quiet: float = 0.002,
        max_delay: float = 0.02,
        retry_delays: Sequence[float] = RETRY_DELAYS,
        on_drop: Callable[[], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._dispatch = dispatch
        self._limit = limit
        self._quiet = quiet
        self._max_delay = max_delay
        self._retry_delays = tuple(retry_delays)
        self._on_drop = on_drop or (lambda: None)
        self._clock = clock
        self._queue: deque[Inbound] = deque()
        self._running: set[asyncio.Task[None]] = set()
        self._worker: asyncio.Task[None] | None = None
        self._last_offer = 0.0
        self.closed = False

    @property
    def pending(self) -> int:
        """Acknowledged events not yet through Bolt (queued or dispatching)."""
        return len(self._queue) + len(self._running)

    def offer(self, event_id: str, body: str, query: str, headers: Mapping[str, str]) -> bool:
        """Take an event to dispatch after its ack; False when full or closed (then the caller
        goes through Bolt in line)."""
        if self.closed or self.pending >= self._limit:
            return False
        now = self._clock()
        self._queue.append(Inbound(event_id, body, query, {**headers}, now))
        self._last_offer = now
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._work(), name="slack-dispatch")
        return True

    async def drain(self, timeout: float) -> bool:
        """Refuse new events, dispatch every acknowledged one; False if ``timeout`` ran out."""
        self.closed = True
        self._quiet = self._max_delay = 0.0
        try:
            async with asyncio.timeout(timeout):
                while self._worker is not None and not self._worker.done():
                    await self._worker
                while self._running:
                    await asyncio.gather(*self._running, return_exceptions=True)
            return True
        except TimeoutError:
            log.error("shutdown: %d acknowledged Slack events not dispatched", self.pending)
            for task in (self._worker, *self._running):
                if task is not None:
                    task.cancel()
            return False

    async def _work(self) -> None:
        while self._queue:
            now = self._clock()
            if now - self._last_offer < self._quiet and now - self._queue[0].at < self._max_delay:
                await asyncio.sleep(self._quiet)  # more acks are arriving: let them go first
                continue
            # A fresh context: nothing of the request that happened to start the worker (the
            # workspace scope authorization sets) may leak into another event's dispatch.
            task = asyncio.create_task(
                self._run(self._queue.popleft()), name="slack-event", context=Context()
            )
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    async def _run(self, inbound: Inbound) -> None:
        for attempt, delay in enumerate((0.0, *self._retry_delays)):
            if delay:
                await asyncio.sleep(delay)
            request = AsyncBoltRequest(
                body=inbound.body,
                query=inbound.query,
                headers=inbound.headers,  # Bolt builds its own normalised copy
            )
            try:
                resp = await self._dispatch(request)
            except Exception:
                log.warning("Slack event %s: dispatch raised", inbound.event_id, exc_info=True)
            else:
                if resp.status < 500:
                    return
                log.warning(
                    "Slack event %s: Bolt answered %d (attempt %d)",
                    inbound.event_id,
                    resp.status,
                    attempt + 1,
                )
        log.error(
            "Slack event %s dropped: it failed %d times after it was acknowledged",
            inbound.event_id,
            len(self._retry_delays) + 1,
        )
        self._on_drop()


def early_ack(dispatcher: EventDispatcher, *, path: str = "/slack/events") -> Any:
    """aiohttp middleware, inside the guard: answers a passed ``event_callback`` at once."""

    @web.middleware
    async def middleware(request: web.Request, handler: Any) -> web.StreamResponse:
        passed = request.get(PASSED)
        if (
            request.path == path
            and passed is not None
            and passed.type == "event_callback"
            and dispatcher.offer(
                passed.event_id or "(no id)",
                await request.text(),
                request.query_string,
                request.headers,
            )
        ):
            return web.Response(status=200)
        return await handler(request)

    return middleware
