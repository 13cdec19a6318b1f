"""Tests for bot.policy: id lists, allow-lists and the per-user sliding-window limiter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.policy import AccessPolicy, parse_id_list, wait_before_next_turn


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


T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def _at(*seconds: float) -> list[datetime]:
    return [T0 + timedelta(seconds=x) for x in seconds]


def test_rate_limit_sliding_window_and_exact_wait() -> None:
    now = T0 + timedelta(seconds=5)
    assert wait_before_next_turn(_at(0), now=now, max_turns=2, window=10) is None
    assert wait_before_next_turn(_at(0, 2), now=now, max_turns=2, window=10) == 5.0
    later = T0 + timedelta(seconds=10.5)
    assert wait_before_next_turn(_at(0, 2), now=later, max_turns=2, window=10) is None, (
        "the turn at 0 has left the window"
    )


def test_rate_limit_counts_only_the_newest_turns_that_matter() -> None:
    now = T0 + timedelta(seconds=9)
    recent = _at(8, 1, 5)  # unordered, as a database may return them
    assert wait_before_next_turn(recent, now=now, max_turns=2, window=10) == 6.0


def test_zero_max_turns_disables_the_limit() -> None:
    assert wait_before_next_turn(_at(0, 1, 2), now=T0, max_turns=0, window=60) is None
