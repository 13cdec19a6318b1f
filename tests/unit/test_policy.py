"""Tests for bot.policy: id lists, allow-lists and the per-user sliding-window limiter."""

from __future__ import annotations

import pytest

from bot.policy import AccessPolicy, UserRateLimiter, parse_id_list


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, frozenset()),
        ("", frozenset()),
        (" , ,\n", frozenset()),
        ("T1", frozenset({"T1"})),
        ("T1, T2 T3,,T4\n\tT5 T1", frozenset({"T1", "T2", "T3", "T4", "T5"})),
    ],
)
def test_parse_id_list(raw: str | None, expected: frozenset[str]) -> None:
    assert parse_id_list(raw) == expected


def allows(
    policy: AccessPolicy,
    team: str = "T1",
    channel: str = "C1",
    user: str = "U1",
    *,
    dm: bool = False,
) -> bool:
    return policy.allows(team_id=team, channel_id=channel, user_id=user, is_dm=dm)


def test_empty_policy_allows_everyone() -> None:
    assert allows(AccessPolicy())
    assert allows(AccessPolicy(), dm=True)


def test_team_list() -> None:
    policy = AccessPolicy(teams=frozenset({"T1"}))
    assert allows(policy, team="T1")
    assert not allows(policy, team="T2")
    assert not allows(policy, team="T2", dm=True)


def test_user_list_applies_to_channels_and_dms() -> None:
    policy = AccessPolicy(users=frozenset({"U1"}))
    assert allows(policy, user="U1")
    assert allows(policy, user="U1", dm=True)
    assert not allows(policy, user="U2")
    assert not allows(policy, user="U2", dm=True)


def test_channel_list_does_not_restrict_dms() -> None:
    policy = AccessPolicy(channels=frozenset({"C1"}))
    assert allows(policy, channel="C1")
    assert not allows(policy, channel="C2")
    assert allows(policy, channel="D9", dm=True)


def test_all_lists_must_pass() -> None:
    policy = AccessPolicy(
        teams=frozenset({"T1"}), channels=frozenset({"C1"}), users=frozenset({"U1"})
    )
    assert allows(policy)
    assert not allows(policy, team="T2")
    assert not allows(policy, channel="C2")
    assert not allows(policy, user="U2")
    assert allows(policy, channel="D1", dm=True)


def test_rate_limiter_sliding_window_and_exact_wait() -> None:
    clock = FakeClock(0.0)
    limiter = UserRateLimiter(max_turns=2, window=10.0, clock=clock)
    assert limiter.check("T1", "U1") is None  # t=0
    clock.now = 1.0
    assert limiter.check("T1", "U1") is None  # t=1
    clock.now = 2.0
    assert limiter.check("T1", "U1") == 8.0  # the t=0 turn expires at t=10
    clock.now = 9.5
    assert limiter.check("T1", "U1") == 0.5
    clock.now = 10.0
    assert limiter.check("T1", "U1") is None  # t=0 expired (window is half-open)
    clock.now = 10.5
    assert limiter.check("T1", "U1") == 0.5  # oldest is now t=1
    clock.now = 11.0
    assert limiter.check("T1", "U1") is None


def test_refused_turns_are_not_recorded() -> None:
    clock = FakeClock(0.0)
    limiter = UserRateLimiter(max_turns=1, window=10.0, clock=clock)
    assert limiter.check("T1", "U1") is None
    for t in (1.0, 5.0, 9.0):
        clock.now = t
        assert limiter.check("T1", "U1") == 10.0 - t
    clock.now = 10.0
    assert limiter.check("T1", "U1") is None


def test_users_and_teams_are_isolated() -> None:
    clock = FakeClock()
    limiter = UserRateLimiter(max_turns=1, window=60.0, clock=clock)
    assert limiter.check("T1", "U1") is None
    assert limiter.check("T1", "U2") is None
    assert limiter.check("T2", "U1") is None
    assert limiter.check("T1", "U1") == 60.0
    assert limiter.check("T1", "U2") == 60.0


def test_zero_max_turns_disables_the_limit() -> None:
    limiter = UserRateLimiter(max_turns=0, window=60.0, clock=FakeClock())
    assert all(limiter.check("T1", "U1") is None for _ in range(100))
    assert limiter._history == {}


def test_forget_idle_drops_only_idle_users() -> None:
    clock = FakeClock(0.0)
    limiter = UserRateLimiter(max_turns=5, window=10.0, clock=clock)
    limiter.check("T1", "idle")
    clock.now = 5.0
    limiter.check("T1", "active")
    clock.now = 10.0
    limiter.forget_idle()
    assert set(limiter._history) == {("T1", "active")}
    limiter.forget_idle([("T1", "unknown")])
    assert set(limiter._history) == {("T1", "active")}
