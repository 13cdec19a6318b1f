"""Token-bucket arithmetic, apart from any storage or clock: state in, state and answer out.

The same functions run over an in-process bucket (:class:`TokenBucket`) and over a database row
shared by every instance (``bot.store.budgets``), so the two cannot disagree about what a grant
or a 429 means.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class Limits:
    """A bucket's shape: ``rate`` tokens per second, at most ``burst`` saved up."""

    rate: float
    burst: float

    @classmethod
    def per_minute(cls, per_minute: float, burst: float) -> Limits:
        return cls(per_minute / 60.0, max(1.0, burst))


@dataclass(frozen=True, slots=True)
class State:
    """Tokens left at ``stamp`` (seconds on whatever clock the owner uses)."""

    tokens: float
    stamp: float


def full(limits: Limits, now: float) -> State:
    return State(limits.burst, now)


def refill(state: State, limits: Limits, now: float) -> State:
    """Tokens earned since ``stamp``; a clock that went backwards earns nothing."""
    if now <= state.stamp:
        return state
    return State(min(limits.burst, state.tokens + (now - state.stamp) * limits.rate), now)


def wait_time(state: State, limits: Limits, now: float, reserve: float = 0.0) -> float:
    """Seconds until one token is available above ``reserve`` (0 means now)."""
    need = 1.0 + reserve - refill(state, limits, now).tokens
    return 0.0 if need <= 0 else need / limits.rate


def take(state: State, limits: Limits, now: float, reserve: float = 0.0) -> tuple[State, float]:
    """Try to spend one token, leaving ``reserve`` behind: (new state, 0.0) when granted, else
    (refilled state, seconds to wait before asking again)."""
    current = refill(state, limits, now)
    need = 1.0 + reserve - current.tokens
    if need <= 0:
        return State(current.tokens - 1.0, current.stamp), 0.0
    return current, need / limits.rate


def penalise(state: State, limits: Limits, now: float, seconds: float) -> State:
    """Slack said 429: spend the bucket so nobody calls before ``Retry-After`` passes.

    One token becomes available exactly when ``Retry-After`` ends (Slack's promise), not one
    refill period later; a shorter ``Retry-After`` never gives tokens back.
    """
    current = refill(state, limits, now)
    return State(min(current.tokens, 1.0 - seconds * limits.rate), current.stamp)


@dataclass(slots=True)
class TokenBucket:
    """An in-process bucket with an injectable clock; ``wait_time``: "how long until I may"."""

    rate: float  # tokens per second
    burst: float
    clock: Clock = time.monotonic
    state: State = field(init=False)

    def __post_init__(self) -> None:
        self.state = full(self.limits, self.clock())

    @property
    def limits(self) -> Limits:
        return Limits(self.rate, self.burst)

    @property
    def tokens(self) -> float:
        return refill(self.state, self.limits, self.clock()).tokens

    def wait_time(self, reserve: float = 0.0) -> float:
        return wait_time(self.state, self.limits, self.clock(), reserve)

    def take(self, reserve: float = 0.0) -> bool:
        self.state, wait = take(self.state, self.limits, self.clock(), reserve)
        return wait == 0.0

    def penalise(self, seconds: float) -> None:
        self.state = penalise(self.state, self.limits, self.clock(), seconds)
