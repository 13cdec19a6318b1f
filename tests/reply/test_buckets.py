"""The pure token-bucket arithmetic shared by the in-process and the database buckets."""

from __future__ import annotations

import pytest

from bot.reply import buckets
from bot.reply.buckets import Limits, State

LIMITS = Limits(rate=2.0, burst=4.0)


def test_a_grant_spends_one_token_and_moves_the_stamp() -> None:
    new, wait = buckets.take(State(1.0, 10.0), LIMITS, 10.5)
    assert wait == 0.0
    assert new == State(1.0 + 0.5 * 2.0 - 1.0, 10.5)


def test_a_refusal_spends_nothing_and_says_how_long() -> None:
    new, wait = buckets.take(State(0.0, 10.0), LIMITS, 10.25, reserve=1.0)
    assert new == State(0.5, 10.25), "refilled, nothing spent"
    assert wait == pytest.approx((1.0 + 1.0 - 0.5) / 2.0)
    again, wait2 = buckets.take(new, LIMITS, 10.25 + wait, reserve=1.0)
    assert wait2 == 0.0 and again.tokens == pytest.approx(1.0), "exactly on time it is granted"


def test_refill_stops_at_the_burst_and_ignores_a_clock_going_back() -> None:
    assert buckets.refill(State(3.0, 0.0), LIMITS, 100.0) == State(4.0, 100.0)
    assert buckets.refill(State(1.0, 50.0), LIMITS, 40.0) == State(1.0, 50.0)


def test_penalise_sets_the_wait_to_retry_after_and_never_shortens_it() -> None:
    state = buckets.penalise(buckets.full(LIMITS, 0.0), LIMITS, 0.0, 5.0)
    assert buckets.wait_time(state, LIMITS, 0.0) == pytest.approx(5.0)
    shorter = buckets.penalise(state, LIMITS, 1.0, 1.0)
    assert buckets.wait_time(shorter, LIMITS, 1.0) == pytest.approx(4.0)


def test_per_minute_limits_never_have_a_burst_below_one() -> None:
    assert Limits.per_minute(50, 0.2) == Limits(50 / 60, 1.0)
