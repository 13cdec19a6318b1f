"""Slack budgets: token-bucket arithmetic and the fair, urgent-before-routine gate.

Time is fake throughout: ``FakeTime`` is both the clock and the ``sleep`` the budgets are given,
so refills happen and sleepers wake only when a test advances it, and the order in which
waiters are served is decided by the code under test, never by real-time races. Real time
appears only as the bound on each wait (``WAIT``). Rates are exact binary fractions (128
tokens per second: one token is exactly ``1 / 128`` s) so the arithmetic has no rounding.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools

import pytest

from bot.reply.buckets import Limits
from bot.reply.ratelimit import (
    GRANT_DELAY,
    TIERS,
    Budget,
    Budgets,
    EditBudget,
    FallbackStore,
    LocalStore,
    PostBudget,
    TokenBucket,
)

FAST_PER_MINUTE = 128 * 60  # 128 tokens per second
TICK = 1 / 128  # fake seconds per token at FAST_PER_MINUTE
WAIT = 1.0  # upper bound for any real wait in these tests


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakeTime(FakeClock):
    """A clock plus an injectable ``sleep`` that returns when the clock passes its deadline."""

    def __init__(self, now: float = 0.0) -> None:
        super().__init__(now)
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()
        self.sleeps: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + seconds, next(self._seq), future))
        await future

    def advance(self, seconds: float) -> None:
        self.now += seconds
        while self._sleepers and self._sleepers[0][0] <= self.now + 1e-12:
            _, _, future = heapq.heappop(self._sleepers)
            if not future.done():
                future.set_result(None)


async def settle() -> None:
    """Let every runnable task run until each is blocked again (no real time passes)."""
    for _ in range(50):
        await asyncio.sleep(0)


# -- TokenBucket ------------------------------------------------------------------------------


def test_bucket_allows_the_burst_then_refills_at_the_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=2.0, burst=3.0, clock=clock)
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
    clock.advance(0.49)
    assert not bucket.take()
    clock.advance(0.01)  # 0.5 s at 2 per second: exactly one token
    assert bucket.take()
    assert not bucket.take()


def test_bucket_never_holds_more_than_the_burst() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=1.0, burst=2.0, clock=clock)
    clock.advance(3600)
    assert [bucket.take() for _ in range(3)] == [True, True, False]


def test_wait_time_says_how_long_until_one_token() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=0.5, burst=1.0, clock=clock)
    assert bucket.wait_time() == 0.0
    assert bucket.take()
    assert bucket.wait_time() == pytest.approx(2.0)
    clock.advance(1.5)
    assert bucket.wait_time() == pytest.approx(0.5)
    clock.advance(0.5)
    assert bucket.wait_time() == 0.0


def test_wait_time_does_not_spend_tokens() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=1.0, burst=1.0, clock=clock)
    for _ in range(3):
        assert bucket.wait_time() == 0.0
    assert bucket.take()


def test_reserve_keeps_tokens_back() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=1.0, burst=5.0, clock=clock)
    # With 2 held in reserve, only 3 of the 5 tokens are usable.
    assert [bucket.take(reserve=2) for _ in range(4)] == [True, True, True, False]
    assert bucket.wait_time(reserve=2) == pytest.approx(1.0)
    # The reserve is still there for a caller that may use it.
    assert bucket.take() and bucket.take()
    assert not bucket.take()
    assert bucket.wait_time(reserve=2) == pytest.approx(3.0)


def test_penalise_blocks_everyone_until_retry_after() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=50 / 60, burst=20.0, clock=clock)
    bucket.penalise(2.0)  # a 429 with Retry-After: 2, while the bucket was full
    assert bucket.wait_time() == pytest.approx(2.0)
    clock.advance(1.99)
    assert not bucket.take()
    clock.advance(0.01)
    assert bucket.take(), "one call is allowed as soon as Retry-After has passed"
    assert not bucket.take(), "and the bucket is empty again after it"


def test_penalise_never_gives_tokens_back() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=1.0, burst=5.0, clock=clock)
    bucket.penalise(10.0)
    bucket.penalise(1.0)  # a shorter Retry-After later must not shorten the first one
    assert bucket.wait_time() == pytest.approx(10.0)


# -- Budget gates (fake clock and fake sleep) ---------------------------------------------------


class CountingStore(LocalStore):
    """The in-process store, counting how often the gate asks it (each ask is a database
    transaction when the store is shared)."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__(clock)
        self.takes = 0

    async def take(self, key: str, limits: Limits, reserve: float = 0.0) -> float:
        self.takes += 1
        return await super().take(key, limits, reserve)


def edits(time: FakeTime, **kwargs: float) -> tuple[EditBudget, CountingStore]:
    store = CountingStore(time)
    return EditBudget(store=store, sleep=time.sleep, **kwargs), store


def drain(budget: Budget, scope: str, n: int) -> list[asyncio.Task[None]]:
    return [asyncio.create_task(budget.acquire(scope, urgent=True)) for _ in range(n)]


async def served_in_order(
    time: FakeTime, budget: Budget, waiters: list[tuple[str, bool]], *, step: float, scope: str
) -> list[str]:
    """Queue ``waiters`` (name, urgent) in that order, then add tokens one ``step`` at a time."""
    order: list[str] = []

    async def acquire(name: str, urgent: bool) -> None:
        await budget.acquire(scope, urgent=urgent)
        order.append(name)

    tasks = []
    for name, urgent in waiters:
        tasks.append(asyncio.create_task(acquire(name, urgent)))
        await settle()
    for _ in range(len(waiters) * 4):
        if all(t.done() for t in tasks):
            break
        time.advance(step)
        await settle()
    await asyncio.wait_for(asyncio.gather(*tasks), WAIT)
    return order


async def test_each_workspace_has_its_own_bucket() -> None:
    time = FakeTime()
    budget, store = edits(time, per_minute=60, burst=2, reserve=0)
    for _ in range(2):
        await asyncio.wait_for(budget.acquire("T1"), WAIT)
    assert store.wait_time(budget.key("T1"), budget.limits) == pytest.approx(1.0)
    assert store.wait_time(budget.key("T2"), budget.limits) == 0.0, "T2 is untouched"
    budget.rate_limited("T1", 30)
    await budget.settled()
    assert store.wait_time(budget.key("T1"), budget.limits) == pytest.approx(30.0)
    assert store.wait_time(budget.key("T2"), budget.limits) == 0.0


async def test_reserve_is_capped_below_the_burst() -> None:
    """A reserve as large as the burst would starve routine edits for ever."""
    budget, _ = edits(FakeTime(), per_minute=60, burst=3, reserve=10)
    await asyncio.wait_for(budget.acquire("T1", urgent=False), WAIT)


async def test_acquire_returns_at_once_while_tokens_last() -> None:
    time = FakeTime()
    budget, store = edits(time, per_minute=60, burst=5, reserve=2)
    for _ in range(3):
        await asyncio.wait_for(budget.acquire("T1", urgent=False), WAIT)
    for _ in range(2):
        await asyncio.wait_for(budget.acquire("T1", urgent=True), WAIT)
    assert store.wait_time(budget.key("T1"), budget.limits) > 0
    assert time.sleeps == [], "nobody slept"


async def test_routine_never_takes_the_reserve() -> None:
    time = FakeTime()
    budget, _ = edits(time, per_minute=FAST_PER_MINUTE, burst=5, reserve=3)
    for _ in range(2):
        await asyncio.wait_for(budget.acquire("T1", urgent=False), WAIT)
    routine = asyncio.create_task(budget.acquire("T1", urgent=False))
    await settle()
    assert not routine.done(), "routine edits must leave the reserve alone"
    # The reserve is intact: urgent edits get all three tokens without waiting.
    for _ in range(3):
        await asyncio.wait_for(budget.acquire("T1", urgent=True), WAIT)
    time.advance(3 * TICK)  # the reserve refilled, but nothing above it
    await settle()
    assert not routine.done()
    time.advance(TICK)  # one token above the reserve
    await asyncio.wait_for(routine, WAIT)


async def test_urgent_is_served_before_routine_when_tokens_are_scarce() -> None:
    time = FakeTime()
    budget, _ = edits(time, per_minute=FAST_PER_MINUTE, burst=4, reserve=0)
    for _ in range(4):
        await asyncio.wait_for(budget.acquire("T1"), WAIT)  # bucket empty
    waiters = [("r1", False), ("r2", False), ("u1", True), ("u2", True)]
    order = await served_in_order(time, budget, waiters, step=TICK, scope="T1")
    assert order == ["u1", "u2", "r1", "r2"]


async def test_each_class_is_first_come_first_served() -> None:
    time = FakeTime()
    budget, _ = edits(time, per_minute=FAST_PER_MINUTE, burst=2, reserve=0)
    for _ in range(2):
        await asyncio.wait_for(budget.acquire("T1"), WAIT)
    names = [(f"u{i}", True) for i in range(5)] + [(f"r{i}", False) for i in range(5)]
    shuffled = [names[i] for i in (5, 0, 6, 1, 2, 7, 8, 3, 9, 4)]
    order = await served_in_order(time, budget, shuffled, step=TICK, scope="T1")
    assert order == [n for n, _ in names]


async def test_waiting_urgent_edits_hold_routine_back() -> None:
    time = FakeTime()
    budget, _ = edits(time, per_minute=FAST_PER_MINUTE, burst=10, reserve=1)
    for _ in range(10):
        await asyncio.wait_for(budget.acquire("T1"), WAIT)
    routine = asyncio.create_task(budget.acquire("T1", urgent=False))
    await settle()
    urgents = drain(budget, "T1", 3)
    await settle()
    time.advance(4 * TICK)  # reserve 1 + 3 urgent: all go to the urgent ones
    await asyncio.wait_for(asyncio.gather(*urgents), WAIT)
    await settle()
    assert not routine.done(), "one token left: exactly the reserve"
    time.advance(TICK)
    await settle()
    await asyncio.wait_for(routine, WAIT)


async def test_open_replies_raise_the_reserve_and_closing_wakes_routine() -> None:
    time = FakeTime()
    budget, _ = edits(time, per_minute=60, burst=10, reserve=1)
    for _ in range(5):
        budget.open("T1")
    for _ in range(5):
        await asyncio.wait_for(budget.acquire("T1", urgent=False), WAIT)
    routine = asyncio.create_task(budget.acquire("T1", urgent=False))
    await settle()
    assert not routine.done(), "5 tokens left: one kept for each open reply's final edit"
    for _ in range(3):
        budget.close("T1")
    await settle()
    await asyncio.wait_for(routine, WAIT)  # woken by close(), no time passed
    assert time.now == 0.0


async def test_only_the_head_of_the_queue_asks_the_store() -> None:
    """Forty waiters cost about one store call per grant, not one per waiter per poll: with a
    shared store each call is a database transaction."""
    time = FakeTime()
    budget, store = edits(time, per_minute=FAST_PER_MINUTE, burst=1, reserve=0)
    await asyncio.wait_for(budget.acquire("T1"), WAIT)
    store.takes = 0
    tasks = drain(budget, "T1", 40)
    await settle()
    for _ in range(40):
        time.advance(TICK)
        await settle()
    await asyncio.wait_for(asyncio.gather(*tasks), WAIT)
    assert store.takes <= 2 * 40


async def test_routine_waits_for_urgent_without_asking_the_store() -> None:
    time = FakeTime()
    budget, store = edits(time, per_minute=FAST_PER_MINUTE, burst=2, reserve=0)
    for _ in range(2):
        await asyncio.wait_for(budget.acquire("T1"), WAIT)
    urgent = drain(budget, "T1", 1)
    await settle()
    routine = asyncio.create_task(budget.acquire("T1", urgent=False))
    await settle()
    asked = store.takes
    time.advance(0.5 * TICK)  # not yet a token; the routine waiter must not poll
    await settle()
    assert store.takes == asked
    time.advance(TICK)
    await asyncio.wait_for(asyncio.gather(*urgent), WAIT)
    await settle()  # the routine waiter asks again and goes to sleep until its token is due
    time.advance(TICK)
    await settle()
    await asyncio.wait_for(routine, WAIT)


async def test_a_cancelled_urgent_wait_does_not_block_routine_for_ever() -> None:
    time = FakeTime()
    budget, _ = edits(time, per_minute=FAST_PER_MINUTE, burst=3, reserve=1)
    for _ in range(3):
        await asyncio.wait_for(budget.acquire("T1"), WAIT)
    urgent = asyncio.create_task(budget.acquire("T1", urgent=True))
    await settle()
    urgent.cancel()
    with pytest.raises(asyncio.CancelledError):
        await urgent
    time.advance(2 * TICK)  # reserve 1 + 1: enough once nobody urgent is waiting
    await asyncio.wait_for(budget.acquire("T1", urgent=False), WAIT)


async def test_workspaces_do_not_wait_for_each_other() -> None:
    time = FakeTime()
    budget, _ = edits(time, per_minute=FAST_PER_MINUTE, burst=2, reserve=1)
    for _ in range(2):
        await asyncio.wait_for(budget.acquire("T1"), WAIT)
    blocked = asyncio.create_task(budget.acquire("T1", urgent=True))
    await asyncio.wait_for(budget.acquire("T2", urgent=False), WAIT)
    await asyncio.wait_for(budget.acquire("T2", urgent=True), WAIT)
    assert not blocked.done()
    time.advance(TICK)
    await asyncio.wait_for(blocked, WAIT)


async def test_after_a_429_acquire_waits_for_retry_after() -> None:
    time = FakeTime()
    budget, _ = edits(time, per_minute=FAST_PER_MINUTE, burst=20, reserve=3)
    budget.rate_limited("T1", 8 * TICK)
    await budget.settled()
    task = asyncio.create_task(budget.acquire("T1", urgent=True))
    await settle()
    time.advance(7 * TICK)
    await settle()
    assert not task.done(), "no call before Retry-After, even for an urgent edit"
    time.advance(TICK)
    await asyncio.wait_for(task, WAIT)


async def test_acquire_unless_gives_up_the_wait_when_the_reply_ends() -> None:
    time = FakeTime()
    posts = PostBudget(per_second=1.0, burst=1, clock=time, sleep=time.sleep)
    ended = asyncio.Event()
    assert await asyncio.wait_for(posts.acquire_unless("C1", ended), WAIT), "a token is there"
    waiting = asyncio.create_task(posts.acquire_unless("C1", ended))
    await settle()
    assert not waiting.done(), "the bucket is empty: it waits"
    ended.set()
    assert await asyncio.wait_for(waiting, WAIT) is False
    time.advance(1.0)
    await asyncio.wait_for(posts.acquire("C1"), WAIT)  # the abandoned wait took nothing


async def test_posts_are_budgeted_per_channel() -> None:
    time = FakeTime()
    posts = PostBudget(per_second=1.0, burst=2, clock=time, sleep=time.sleep)
    for _ in range(2):
        await asyncio.wait_for(posts.acquire("C1"), WAIT)
    blocked = asyncio.create_task(posts.acquire("C1"))
    await asyncio.wait_for(posts.acquire("C2"), WAIT)
    await settle()
    assert not blocked.done()
    time.advance(1.0)
    await asyncio.wait_for(blocked, WAIT)


async def test_budgets_hands_out_one_gate_per_method_from_the_tiers() -> None:
    time = FakeTime()
    budgets = Budgets(LocalStore(time), margin=0.5, sleep=time.sleep)
    append = budgets.budget("chat.appendStream")
    assert budgets.budget("chat.appendStream") is append
    tier = TIERS["chat.appendStream"]
    assert append.limits == Limits(tier.per_minute * 0.5 / 60, tier.burst)
    start = budgets.budget("chat.startStream")
    for _ in range(int(TIERS["chat.startStream"].burst)):
        await asyncio.wait_for(start.acquire("T1"), WAIT)
    blocked = asyncio.create_task(start.acquire("T1"))
    await asyncio.wait_for(append.acquire("T1"), WAIT)  # another method, another bucket
    await settle()
    assert not blocked.done()
    time.advance(60 / (TIERS["chat.startStream"].per_minute * 0.5))
    await asyncio.wait_for(blocked, WAIT)


class BrokenStore:
    shared = True

    async def take(self, key: str, limits: Limits, reserve: float = 0.0) -> float:
        raise OSError("connection refused")

    async def penalise(self, key: str, limits: Limits, seconds: float) -> None:
        raise OSError("connection refused")

    async def aclose(self) -> None:
        pass


async def test_an_unreachable_shared_store_falls_back_to_local_buckets(
    caplog: pytest.LogCaptureFixture,
) -> None:
    time = FakeTime()
    budget = EditBudget(
        per_minute=60,
        burst=2,
        store=FallbackStore(BrokenStore(), LocalStore(time)),
        sleep=time.sleep,
    )
    for _ in range(2):
        await asyncio.wait_for(budget.acquire("T1"), WAIT)
    blocked = asyncio.create_task(budget.acquire("T1"))
    await settle()
    assert not blocked.done(), "the local bucket still limits"
    time.advance(1.0)
    await asyncio.wait_for(blocked, WAIT)
    warnings = [r for r in caplog.records if "unavailable" in r.getMessage()]
    assert len(warnings) == 1, "said once, not per call"


class SharedLocalStore(LocalStore):
    shared = True


def test_a_shared_store_keeps_headroom_for_the_grant_to_call_delay() -> None:
    """Calls reach Slack a little after their grant; over a shared store that delay is longer
    (a database round trip, other processes), so each burst is smaller by what the bucket
    refills in GRANT_DELAY seconds."""
    local = Budgets(LocalStore())
    shared = Budgets(SharedLocalStore())
    assert local.edits(per_minute=50, burst=20).limits.burst == 20
    assert shared.edits(per_minute=60, burst=20).limits.burst == pytest.approx(20 - GRANT_DELAY)
    assert shared.posts(per_second=2, burst=5).limits.burst == pytest.approx(5 - 2 * GRANT_DELAY)
    start = TIERS["chat.startStream"]
    assert shared.budget("chat.startStream").limits.burst == pytest.approx(
        start.burst - start.per_minute / 60 * GRANT_DELAY
    )
    assert shared.posts(per_second=1, burst=1).limits.burst == 1, "never below one"
    # The headroom replaces the rate margin: over a shared store budgets run at Slack's rate.
    margin = Budgets(LocalStore(), margin=0.5).edits(per_minute=60, burst=20).limits.rate
    assert margin == pytest.approx(0.5)
    full = Budgets(SharedLocalStore(), margin=0.5).edits(per_minute=60, burst=20).limits.rate
    assert full == pytest.approx(1.0)


async def test_replies_open_on_other_instances_raise_the_routine_reserve() -> None:
    """Over a shared bucket the finals to keep tokens for are every instance's."""
    time = FakeTime()
    elsewhere = {"T1": 6}

    async def open_replies(team: str) -> int:
        return elsewhere[team]

    store = CountingStore(time)
    budget = EditBudget(
        per_minute=60,
        burst=10,
        reserve=1,
        store=store,
        sleep=time.sleep,
        open_replies=open_replies,
    )
    budget.open("T1")  # one here, six in all
    for _ in range(4):
        await asyncio.wait_for(budget.acquire("T1", urgent=False), WAIT)
    routine = asyncio.create_task(budget.acquire("T1", urgent=False))
    await settle()
    assert not routine.done(), "6 tokens left: all kept for the finals of every instance"
    elsewhere["T1"] = 1
    time.advance(1.0)  # a token later the count is asked again
    await settle()
    await asyncio.wait_for(routine, WAIT)


async def test_an_unanswered_reply_count_falls_back_to_this_instance() -> None:
    time = FakeTime()

    async def open_replies(team: str) -> int:
        raise OSError("database down")

    budget = EditBudget(
        per_minute=60,
        burst=10,
        reserve=1,
        clock=time,
        sleep=time.sleep,
        open_replies=open_replies,
    )
    await asyncio.wait_for(budget.acquire("T1", urgent=False), WAIT)


@pytest.mark.parametrize("steps", range(6))
async def test_a_routine_wait_cancelled_as_it_is_woken_ends(steps: int) -> None:
    """A reply that ends abandons its routine wait; if the abandonment lands in the same loop
    iterations as a wake-up (another reply closing), it must still end the wait, or the reply's
    final edit waits for a routine token behind the reserve (seen as a 5 s tail)."""
    time = FakeTime()
    budget, _ = edits(time, per_minute=60, burst=10, reserve=1)
    for _ in range(10):
        await asyncio.wait_for(budget.acquire("T1"), WAIT)
    budget.open("T1")
    budget.open("T1")
    routine = asyncio.create_task(budget.acquire("T1", urgent=False))
    await settle()
    budget.close("T1")  # wakes the routine waiter...
    for _ in range(steps):
        await asyncio.sleep(0)
    routine.cancel()  # ...while its reply ends
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(routine, WAIT)


async def test_a_429_blocks_in_process_waiters_at_once() -> None:
    time = FakeTime()
    budget, store = edits(time, per_minute=60, burst=5, reserve=0)
    budget.rate_limited("T1", 3.0)  # no await in between: applied synchronously
    assert store.wait_time(budget.key("T1"), budget.limits) == pytest.approx(3.0)


# -- bounded memory ---------------------------------------------------------------------------


async def test_refilled_buckets_are_forgotten_and_that_changes_nothing() -> None:
    """One bucket per channel ever posted in used to stay for the life of the process."""
    clock = FakeClock()
    store = LocalStore(clock, sweep_every=60.0)
    limits = Limits(rate=1.0, burst=5.0)
    for channel in range(1000):
        assert await store.take(f"chat.postMessage/C{channel}", limits) == 0.0
    store.penalise_now("chat.postMessage/C0", limits, 600.0)  # a 429 with Retry-After 600
    assert len(store) == 1000
    clock.advance(10.0)  # refilled (5 s at 1/s), but the sweep is not due yet
    assert len(store) == 1000
    clock.advance(50.0)
    assert await store.take("chat.postMessage/Cnew", limits) == 0.0  # the sweep runs here
    # Only the penalised bucket and the one just used are held; the rest were full.
    assert len(store) == 2
    assert store.wait_time("chat.postMessage/C0", limits) == pytest.approx(540.0)
    assert store.wait_time("chat.postMessage/C1", limits) == 0.0, "a forgotten one is full"
    clock.advance(600.0)
    assert store.sweep() == 2 and len(store) == 0


async def test_a_scope_nobody_waits_in_is_forgotten() -> None:
    time = FakeTime()
    budget, _ = edits(time, per_minute=FAST_PER_MINUTE, burst=2, reserve=0)
    for scope in range(100):
        await asyncio.wait_for(budget.acquire(f"T{scope}", urgent=scope % 2 == 0), WAIT)
    assert budget.scopes == 0
    for _ in range(2):
        await asyncio.wait_for(budget.acquire("TX"), WAIT)
    waiting = asyncio.create_task(budget.acquire("TX", urgent=False))
    await settle()
    assert budget.scopes == 1, "a scope is kept while someone waits in it"
    time.advance(TICK)
    await asyncio.wait_for(waiting, WAIT)
    assert budget.scopes == 0
    budget.open("T1")
    budget.close("T1")
    budget.close("T1")  # one close too many must not leave a negative count behind
    assert budget._open == {}
