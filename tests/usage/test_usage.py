"""Months, quotas and formatting of usage (pure), and the store's counting on SQLite."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from bot.store.db import make_engine
from bot.store.migrate import upgrade_to_head
from bot.store.usage import TurnUsage, UsageStore
from bot.usage import format as fmt
from bot.usage.month import month_key, next_month_start
from bot.usage.quotas import QuotaPolicy, breach

NOW = datetime(2026, 12, 7, tzinfo=UTC)


def test_months_are_utc_calendar_months() -> None:
    shanghai = timezone(timedelta(hours=8))
    assert month_key(datetime(2027, 1, 1, 7, 59, tzinfo=shanghai)) == "2026-12"
    assert next_month_start(datetime(2026, 12, 31, 23, 59, tzinfo=UTC)) == datetime(
        2027, 1, 1, tzinfo=UTC
    )


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)))
def test_the_reset_is_the_first_moment_of_the_next_month(moment: datetime) -> None:
    reset = next_month_start(moment.replace(tzinfo=UTC))
    assert reset > moment.replace(tzinfo=UTC)
    assert month_key(reset) != month_key(moment)
    assert month_key(reset - timedelta(microseconds=1)) == month_key(moment)


def test_quotas_zero_means_unlimited_and_admins_have_no_personal_quota() -> None:
    unlimited = QuotaPolicy()
    assert not unlimited.enabled
    assert breach(unlimited, user_id="U1", user_used=10**12, workspace_used=10**12, now=NOW) is None
    policy = QuotaPolicy(per_user=100, per_workspace=1000, exempt=frozenset({"UADMIN"}))
    assert breach(policy, user_id="U1", user_used=99, workspace_used=999, now=NOW) is None
    over = breach(policy, user_id="U1", user_used=100, workspace_used=0, now=NOW)
    assert over is not None and (over.scope, over.used, over.limit) == ("user", 100, 100)
    assert over.resets_at == datetime(2027, 1, 1, tzinfo=UTC)
    assert breach(policy, user_id="UADMIN", user_used=10**6, workspace_used=0, now=NOW) is None
    team = breach(policy, user_id="UADMIN", user_used=0, workspace_used=1000, now=NOW)
    assert team is not None and team.scope == "workspace"


def test_numbers_and_days_read_naturally_in_both_languages() -> None:
    assert fmt.tokens(1234567) == "1,234,567"
    assert fmt.day(datetime(2027, 1, 1, tzinfo=UTC)) == "1 January 2027 (UTC)"
    assert fmt.day(datetime(2027, 1, 1, tzinfo=UTC), "zh") == "2027年1月1日（UTC）"
    assert fmt.month("2026-12") == "December 2026"
    assert fmt.month("2026-12", "zh") == "2026年12月"


async def test_the_store_counts_rollups_and_forgets_people_but_keeps_monthly_totals(
    tmp_path: Path,
) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'usage.db'}")
    try:
        await upgrade_to_head(engine)
        store = UsageStore(engine)
        a, b = "a" * 24, "b" * 24
        for user, channel, assistant, p, c, month in (
            ("U1", "C1", a, 100, 10, "2026-11"),
            ("U1", "C2", b, 200, 20, "2026-12"),
            ("U1", "C2", b, 1, 2, "2026-12"),
            ("U2", "C1", a, 30, 3, "2026-12"),
        ):
            await store.add(TurnUsage("T1", None, user, channel, assistant, p, c), month=month)
        await store.add(TurnUsage("T2", None, "U1", "C1", a, 5000, 5000), month="2026-12")

        reading = await store.quota_reading(team_id="T1", user_id="U1", month="2026-12")
        assert (reading.user, reading.workspace) == (223, 256)
        person = await store.person(team_id="T1", user_id="U1", month="2026-12")
        assert (person.prompt, person.completion, person.turns) == (201, 22, 2)
        by = await store.by_assistant(team_id="T1", month="2026-12")
        assert {k: v.total for k, v in by.items()} == {a: 33, b: 223}
        top = await store.top_channels(team_id="T1", month="2026-12")
        assert [(ch, tok.total) for ch, tok in top] == [("C2", 223), ("C1", 33)]

        assert await store.forget_people_before("2026-12") == 2  # November's detail + rollup
        assert (await store.person(team_id="T1", user_id="U1", month="2026-11")).total == 0
        november = await store.by_assistant(team_id="T1", month="2026-11")
        assert november[a].total == 110, "the workspace's monthly total stays"
    finally:
        await engine.dispose()


async def test_an_org_wide_install_counts_quota_over_all_workspaces_of_the_org(
    tmp_path: Path,
) -> None:
    """For an org-wide install (Grid) the installation is the org: its quota reading sums
    every workspace of the org, and a Grid user's own tokens across them; other orgs and
    workspaces installed on their own do not count."""
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'org.db'}")
    try:
        await upgrade_to_head(engine)
        store = UsageStore(engine)
        a = "a" * 24
        for team, org, user, tokens in (
            ("TE1", "E1", "W1", 100),
            ("TE2", "E1", "W1", 50),
            ("TE2", "E1", "W2", 7),
            ("TE3", "E2", "W1", 1000),  # another org
            ("T9", None, "W1", 2000),  # a workspace installed on its own
        ):
            await store.add(TurnUsage(team, org, user, "C1", a, tokens, 0), month="2026-12")
        org = await store.quota_reading(
            team_id="TE1", user_id="W1", month="2026-12", enterprise_id="E1"
        )
        assert (org.user, org.workspace) == (150, 157)
        team = await store.quota_reading(team_id="TE1", user_id="W1", month="2026-12")
        assert (team.user, team.workspace) == (100, 100)
    finally:
        await engine.dispose()


async def test_an_org_wide_install_reads_its_month_over_all_workspaces_of_the_org(
    tmp_path: Path,
) -> None:
    """What the Home tab shows for an org-wide install: a person's month, the month per
    assistant and the busiest channels, each over every workspace of the org (the rows
    admission's quota reading sums); other orgs and own installs stay out, and without
    ``enterprise_id`` the same reads are the workspace's alone."""
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'org.db'}")
    try:
        await upgrade_to_head(engine)
        store = UsageStore(engine)
        a, b = "a" * 24, "b" * 24
        for team, org, user, channel, assistant, p, c in (
            ("TE1", "E1", "W1", "C1", a, 100, 10),
            ("TE2", "E1", "W1", "C2", b, 200, 20),
            ("TE2", "E1", "W2", "C2", a, 7, 0),
            ("TE3", "E2", "W1", "C3", a, 1000, 0),  # another org
            ("T9", None, "W1", "C9", b, 2000, 0),  # a workspace installed on its own
        ):
            await store.add(TurnUsage(team, org, user, channel, assistant, p, c), month="2026-12")
        month = "2026-12"

        me = await store.person(team_id="TE1", user_id="W1", month=month, enterprise_id="E1")
        assert (me.prompt, me.completion, me.turns) == (300, 30, 2)
        reading = await store.quota_reading(
            team_id="TE1", user_id="W1", month=month, enterprise_id="E1"
        )
        assert me.total == reading.user, "the Home tab and admission read the same rows"
        by = await store.by_assistant(team_id="TE1", month=month, enterprise_id="E1")
        assert {k: (v.total, v.turns) for k, v in by.items()} == {a: (117, 2), b: (220, 1)}
        assert sum(v.total for v in by.values()) == reading.workspace
        top = await store.top_channels(team_id="TE1", month=month, enterprise_id="E1")
        assert [(ch, tok.total, tok.turns) for ch, tok in top] == [("C2", 227, 2), ("C1", 110, 1)]

        # Without the org: the workspace alone, as before.
        mine = await store.person(team_id="TE1", user_id="W1", month=month)
        assert (mine.total, mine.turns) == (110, 1)
        assert {
            k: v.total for k, v in (await store.by_assistant(team_id="TE1", month=month)).items()
        } == {a: 110}
        assert [ch for ch, _ in await store.top_channels(team_id="TE2", month=month)] == ["C2"]
        nobody = await store.person(team_id="TE1", user_id="W9", month=month, enterprise_id="E1")
        assert nobody == type(nobody)()
    finally:
        await engine.dispose()
