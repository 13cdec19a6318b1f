"""Slack's rate budgets: one token bucket per (Slack method, scope), shared by every reply and,
when the deployment has a shared database, by every instance.

Slack counts calls per method, per app, per workspace (platform notes §3.1): ``chat.update`` is
Tier 3 (about 50 per minute) for the whole workspace, ``chat.postMessage`` about one per second
per channel. N concurrent replies must share those budgets, and so must N instances: two
processes that each believe they own the whole Tier 3 budget collect 429s.

Three layers, each small:

- ``bot.reply.buckets``: pure token-bucket arithmetic (state, limits, clock value in; state and
  "grant or wait this long" out).
- a :class:`BucketStore` keeps the bucket state: :class:`LocalStore` in this process (SQLite,
  one instance: nothing shared, no I/O, the fast path), or ``bot.store.budgets.
  DatabaseBucketStore``: one row per bucket on PostgreSQL, two short autocommit statements per
  grant (read, compare-and-set), timed by the database's clock so instances' clocks need not
  agree. A waiter never holds a database connection: the store answers "wait this long", the
  connection goes back to the pool, the waiter sleeps and asks again.
- :class:`Budget`: the async gate callers use. Inside one instance it keeps the order fair
  (first come, first served; ``urgent`` callers before routine ones) and only the head of each
  queue asks the store, so waiting costs one store call per grant, not one per waiter.

Using a budget for another Slack method (native streaming, say)::

    budgets = conversations.budgets                  # the instance's Budgets, built in bot.app
    start = budgets.budget("chat.startStream")       # Tier 2; tiers are in TIERS below
    append = budgets.budget("chat.appendStream")     # Tier 4
    await start.acquire(team_id)                     # before each call; urgent=False lets
    ...                                              #   urgent callers of the method go first
    start.rate_limited(team_id, retry_after)         # when Slack answers 429 anyway

A method missing from ``TIERS`` gets a row there (or pass ``tier=Tier(per_minute, burst)``).
``Budgets`` sits on the deployment's store, so every budget asked for anywhere is shared with
the other instances automatically, with the same fairness inside an instance. The scope key is
whatever Slack counts by: the workspace (``team_id``) for tiered methods, the channel for
``chat.postMessage``.

``assistant.threads.setStatus`` is deliberately not budgeted: its limit is per conversation
(about 60 per minute per DM), a reply calls it a handful of times, a refusal is harmless (the
streamer ignores it), and a per-channel bucket would hold one thread's "is thinking…" back
behind every other thread of a busy channel.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from bot.reply import buckets
from bot.reply.buckets import Clock, Limits, State, TokenBucket

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]

__all__ = [
    "TIERS",
    "BucketStore",
    "Budget",
    "Budgets",
    "EditBudget",
    "LocalStore",
    "PostBudget",
    "Tier",
    "TokenBucket",
]


@dataclass(frozen=True, slots=True)
class Tier:
    """A Slack method's budget: ``per_minute`` sustained, ``burst`` at once, counted per
    ``scope`` (documentation only: the caller passes the scope key)."""

    per_minute: float
    burst: float
    scope: str = "workspace"

    def limits(self, margin: float = 1.0, delay: float = 0.0) -> Limits:
        rate = self.per_minute * margin / 60.0
        return Limits(rate, max(1.0, self.burst - rate * delay))


# Slack's published tiers for the methods a reply uses (Tier 2 20+/min, Tier 3 50+/min,
# Tier 4 100+/min; chat.postMessage is "special", about 1/s per channel). Bursts are ours:
# Slack allows "short bursts" without saying how long.
TIERS: dict[str, Tier] = {
    "chat.update": Tier(50, 20),
    "chat.postMessage": Tier(60, 5, "channel"),
    "chat.startStream": Tier(20, 10),
    "chat.stopStream": Tier(20, 10),
    "chat.appendStream": Tier(100, 20),
}


# Over a shared store: the longest delay between a grant and the call reaching Slack that the
# budgets absorb (see Budgets).
GRANT_DELAY = 0.25


class BucketStore(Protocol):
    """Where bucket state lives. ``take`` answers 0.0 (granted) or the seconds to wait."""

    shared: bool

    async def take(self, key: str, limits: Limits, reserve: float = 0.0) -> float: ...

    async def penalise(self, key: str, limits: Limits, seconds: float) -> None: ...

    async def peek(self, key: str, limits: Limits, reserve: float = 0.0) -> float:
        """Seconds until a token above ``reserve`` is available, without taking one."""
        ...

    async def aclose(self) -> None: ...


class LocalStore:
    """Buckets in this process: no I/O, no await inside, exactly the single-instance behaviour.

    A full bucket is the same as no bucket (``_state`` starts a new one full), so buckets that
    have refilled are forgotten every ``sweep_every`` seconds: one per channel ever posted in
    would otherwise stay for the life of the process.
    """

    shared = False

    def __init__(self, clock: Clock = time.monotonic, *, sweep_every: float = 60.0) -> None:
        self._clock = clock
        self._states: dict[str, tuple[State, Limits]] = {}
        self._sweep_every = sweep_every
        self._next_sweep = clock() + sweep_every

    def __len__(self) -> int:
        """Buckets held (the ones not known to be full)."""
        return len(self._states)

    def _state(self, key: str, limits: Limits, now: float) -> State:
        held = self._states.get(key)
        return held[0] if held is not None else buckets.full(limits, now)

    def _keep(self, key: str, state: State, limits: Limits, now: float) -> None:
        self._states[key] = (state, limits)
        if now >= self._next_sweep:
            self._next_sweep = now + self._sweep_every
            self.sweep(now)

    def sweep(self, now: float | None = None) -> int:
        """Forget buckets that have refilled completely; how many were dropped."""
        now = self._clock() if now is None else now
        full = [
            key
            for key, (state, limits) in self._states.items()
            if buckets.refill(state, limits, now).tokens >= limits.burst
        ]
        for key in full:
            del self._states[key]
        return len(full)

    async def take(self, key: str, limits: Limits, reserve: float = 0.0) -> float:
        now = self._clock()
        state, wait = buckets.take(self._state(key, limits, now), limits, now, reserve)
        self._keep(key, state, limits, now)
        return wait

    async def penalise(self, key: str, limits: Limits, seconds: float) -> None:
        self.penalise_now(key, limits, seconds)

    def penalise_now(self, key: str, limits: Limits, seconds: float) -> None:
        now = self._clock()
        state = buckets.penalise(self._state(key, limits, now), limits, now, seconds)
        self._keep(key, state, limits, now)

    def wait_time(self, key: str, limits: Limits, reserve: float = 0.0) -> float:
        now = self._clock()
        return buckets.wait_time(self._state(key, limits, now), limits, now, reserve)

    async def peek(self, key: str, limits: Limits, reserve: float = 0.0) -> float:
        return self.wait_time(key, limits, reserve)

    async def aclose(self) -> None:
        pass


class FallbackStore:
    """A shared store that falls back to this process's buckets while it is unreachable: a
    database hiccup must not stop replies from finishing (it only makes 429s possible again)."""

    shared = True

    def __init__(self, primary: BucketStore, fallback: LocalStore) -> None:
        self._primary, self._fallback = primary, fallback
        self._failing = False

    async def take(self, key: str, limits: Limits, reserve: float = 0.0) -> float:
        try:
            wait = await self._primary.take(key, limits, reserve)
        except Exception as exc:  # the database is down or refused: keep replies moving
            self._note(exc)
            return await self._fallback.take(key, limits, reserve)
        if self._failing:
            self._failing = False
            log.info("shared Slack budgets are back")
        return wait

    async def peek(self, key: str, limits: Limits, reserve: float = 0.0) -> float:
        try:
            return await self._primary.peek(key, limits, reserve)
        except Exception as exc:
            self._note(exc)
            return await self._fallback.peek(key, limits, reserve)

    async def penalise(self, key: str, limits: Limits, seconds: float) -> None:
        await self._fallback.penalise(key, limits, seconds)
        try:
            await self._primary.penalise(key, limits, seconds)
        except Exception as exc:
            self._note(exc)

    async def aclose(self) -> None:
        await self._primary.aclose()

    def _note(self, exc: Exception) -> None:
        if not self._failing:
            self._failing = True
            log.warning("shared Slack budgets unavailable (%s); budgeting per instance", exc)


class Budget:
    """The gate in front of one Slack method. ``acquire(scope, urgent=...)`` waits its turn.

    Waiters for one scope are served first come, first served within their class; urgent ones
    go before any routine one, and routine ones leave ``reserve`` tokens for them. Only the head
    of a queue asks the store; the others wait for their turn without I/O.
    """

    def __init__(
        self,
        method: str,
        limits: Limits,
        *,
        store: BucketStore,
        reserve: float = 0.0,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.method = method
        self.limits = limits
        self._store = store
        self._sleep = sleep
        self._reserve = max(0.0, min(reserve, limits.burst - 1.0))
        self._queues: dict[str, tuple[deque[asyncio.Event], deque[asyncio.Event]]] = {}
        self._changed: dict[str, asyncio.Event] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def scopes(self) -> int:
        """Scopes with someone waiting (an idle scope is not kept)."""
        return len(self._queues)

    def key(self, scope: str) -> str:
        return f"{self.method}/{scope}"

    async def acquire(self, scope: str, *, urgent: bool = True) -> None:
        urgent_q, routine_q = self._queues.setdefault(scope, (deque(), deque()))
        queue = urgent_q if urgent else routine_q
        ticket = asyncio.Event()
        queue.append(ticket)
        try:
            while True:
                if queue[0] is not ticket:
                    # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation
                    # that races with the event, leaving a cancelled waiter queued for minutes.
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(1.0):
                            await ticket.wait()
                    continue
                if not urgent and urgent_q:
                    await self._until_changed(scope, None)  # urgent work first
                    continue
                reserve = 0.0 if urgent else await self._routine_reserve(scope)
                wait = await self._store.take(self.key(scope), self.limits, reserve)
                if wait <= 0:
                    return
                wait = max(wait, 0.005)
                if urgent:
                    await self._sleep(wait)
                else:  # wake early when urgent work arrives or the reserve shrinks
                    await self._until_changed(scope, wait)
        finally:
            queue.remove(ticket)
            if queue:
                queue[0].set()
            if urgent:
                self._signal(scope)
            if not urgent_q and not routine_q:  # nobody waits here: forget the scope
                self._queues.pop(scope, None)
                self._changed.pop(scope, None)

    async def acquire_unless(self, scope: str, ended: asyncio.Event) -> bool:
        """A routine token, or False as soon as ``ended`` is set (the reply finished: its final
        call goes urgent instead). A token granted as ``ended`` fires is still reported taken."""
        acquire = asyncio.ensure_future(self.acquire(scope, urgent=False))
        ending = asyncio.ensure_future(ended.wait())
        try:
            await asyncio.wait({acquire, ending}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            ending.cancel()
            if not acquire.done():
                acquire.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await acquire
        return acquire.done() and not acquire.cancelled() and acquire.exception() is None

    async def try_take(self, scope: str) -> bool:
        """Take a token only if one is there now (no queueing): for decisions, not for calls
        that must go out anyway."""
        return await self._store.take(self.key(scope), self.limits) <= 0

    async def wait_time(self, scope: str, reserve: float = 0.0) -> float:
        """How long a token above ``reserve`` is away, without taking one."""
        return await self._store.peek(self.key(scope), self.limits, reserve)

    def rate_limited(self, scope: str, retry_after: float) -> None:
        """Slack answered 429: nobody (in any instance) calls before ``Retry-After``."""
        if isinstance(self._store, LocalStore):  # at once, as before: no waiter slips through
            self._store.penalise_now(self.key(scope), self.limits, retry_after)
            return
        task = asyncio.get_running_loop().create_task(
            self._store.penalise(self.key(scope), self.limits, retry_after)
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def settled(self) -> None:
        """Wait for 429 penalties still being recorded (tests, shutdown)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _routine_reserve(self, scope: str) -> float:
        return self._reserve

    def _signal(self, scope: str) -> None:
        event = self._changed.pop(scope, None)
        if event is not None:
            event.set()

    async def _until_changed(self, scope: str, timeout: float | None) -> None:
        """Sleep ``timeout`` (injected sleep) or until an urgent waiter leaves, whichever first."""
        changed = self._changed.setdefault(scope, asyncio.Event())
        waiter = asyncio.ensure_future(changed.wait())
        sleeper = asyncio.ensure_future(self._sleep(timeout if timeout is not None else 1.0))
        try:
            await asyncio.wait({waiter, sleeper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            # Cancel without awaiting: awaiting the helpers here under suppress(CancelledError)
            # swallowed a cancellation that arrived as the event fired, so a reply's abandoned
            # routine wait kept its final edit waiting for a routine token (~5 s at the end).
            waiter.cancel()
            sleeper.cancel()


class EditBudget(Budget):
    """``chat.update`` per workspace. Urgent edits (first text, final text) may use the whole
    bucket; routine progress edits leave ``reserve`` tokens, plus one per reply of this instance
    still streaming (up to the burst), so a crowd of streams never starves the edits that
    complete a reply."""

    def __init__(
        self,
        *,
        per_minute: float = 50.0,
        burst: float = 20.0,
        reserve: float = 3.0,
        clock: Clock = time.monotonic,
        store: BucketStore | None = None,
        sleep: Sleep = asyncio.sleep,
        open_replies: Callable[[str], Awaitable[int]] | None = None,
    ) -> None:
        limits = Limits.per_minute(per_minute, burst)
        super().__init__(
            "chat.update",
            limits,
            store=store if store is not None else LocalStore(clock),
            reserve=reserve,
            sleep=sleep,
        )
        self._open: dict[str, int] = {}
        self._open_replies = open_replies

    def open(self, team_id: str) -> None:
        """A reply started streaming: it will need one urgent edit to finish."""
        self._open[team_id] = self._open.get(team_id, 0) + 1

    def close(self, team_id: str) -> None:
        left = self._open.get(team_id, 0) - 1
        if left > 0:
            self._open[team_id] = left
        else:
            self._open.pop(team_id, None)
        self._signal(team_id)

    async def _routine_reserve(self, scope: str) -> float:
        # Keep back a token for every reply that still has to land its final edit (up to the
        # burst), so progress edits never delay completion: under load, finals come first.
        # With a shared bucket that means the replies of every instance (``open_replies``).
        count = self._open.get(scope, 0)
        if self._open_replies is not None:
            try:
                count = max(count, await self._open_replies(scope))
            except Exception as exc:  # the database is down: count this instance's replies
                log.debug("could not count open replies: %s", exc)
        return max(self._reserve, min(float(count), self.limits.burst))


class PostBudget(Budget):
    """``chat.postMessage`` allows about one message per second per channel, with short bursts."""

    def __init__(
        self,
        *,
        per_second: float = 1.0,
        burst: float = 5.0,
        clock: Clock = time.monotonic,
        store: BucketStore | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        super().__init__(
            "chat.postMessage",
            Limits(per_second, max(1.0, burst)),
            store=store if store is not None else LocalStore(clock),
            sleep=sleep,
        )


class Budgets:
    """Every Slack budget of one instance, over one store: ask by method name (see ``TIERS``).

    A call reaches Slack a little after its grant (a network hop; over a shared store also a
    database round trip and a busy event loop in another process), and Slack's bucket, full
    while idle, does not credit that delay: a late call followed by a prompt one looks like two
    calls closer together than we granted them. In this process ``margin`` scales every rate a
    little under Slack's, which covers the small delays of one instance. Over a shared store
    each burst is instead smaller by what the bucket refills in ``GRANT_DELAY`` seconds, at
    Slack's full rate: that absorbs any grant-to-arrival delay up to ``GRANT_DELAY``, which a
    rate margin cannot do right after an idle spell (0.2 tokens of ``chat.update``'s 20).
    """

    def __init__(self, store: BucketStore, *, margin: float = 1.0, sleep: Sleep = asyncio.sleep):
        self.store = store
        self._margin = 1.0 if store.shared else margin
        self._delay = GRANT_DELAY if store.shared else 0.0
        self._sleep = sleep
        self._budgets: dict[str, Budget] = {}

    @property
    def shared(self) -> bool:
        return self.store.shared

    async def aclose(self) -> None:
        await self.store.aclose()

    def budget(self, method: str, tier: Tier | None = None) -> Budget:
        """The one gate for ``method`` in this instance (created on first use)."""
        gate = self._budgets.get(method)
        if gate is None:
            limits = (tier or TIERS[method]).limits(self._margin, self._delay)
            gate = Budget(method, limits, store=self.store, sleep=self._sleep)
            self._budgets[method] = gate
        return gate

    def edits(
        self,
        *,
        per_minute: float,
        burst: float,
        reserve: float = 3.0,
        open_replies: Callable[[str], Awaitable[int]] | None = None,
    ) -> EditBudget:
        """``chat.update``; ``open_replies(team)`` counts replies streaming on every instance
        (the finals to keep tokens for) and is only asked when the store is shared."""
        gate = EditBudget(
            per_minute=per_minute * self._margin,
            burst=burst - per_minute * self._margin / 60.0 * self._delay,
            reserve=reserve,
            store=self.store,
            sleep=self._sleep,
            open_replies=open_replies if self.shared else None,
        )
        self._budgets[gate.method] = gate
        return gate

    def posts(self, *, per_second: float, burst: float) -> PostBudget:
        gate = PostBudget(
            per_second=per_second * self._margin,
            burst=burst - per_second * self._margin * self._delay,
            store=self.store,
            sleep=self._sleep,
        )
        self._budgets[gate.method] = gate
        return gate
