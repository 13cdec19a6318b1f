"""Two instances on one PostgreSQL share the month's usage: the quota holds across them, and
only the answers already running when it was crossed go over it.

Needs a server at ``TEST_POSTGRES_URL`` (default ``postgresql://root@127.0.0.1:5432/test``);
skipped, with the reason shown, only when it cannot be reached.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from bot.store.db import make_engine
from bot.store.usage import UsageStore
from tests.conftest import RunningBot
from tests.e2e.test_usage_quotas import MonthClock, costs
from tests.fakes import FakeGLM, FakeSlack, mention_event


async def test_two_instances_share_the_count_and_overshoot_only_by_running_answers(
    bot_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    pg_url: str,
    fake_slack: FakeSlack,
    fake_glm: FakeGLM,
) -> None:
    monkeypatch.setenv("DATABASE_URL", pg_url)
    monkeypatch.setenv("MONTHLY_TOKENS_PER_USER", "1000")
    clock = MonthClock(datetime(2026, 12, 7, 12, tzinfo=UTC))
    first = await RunningBot(clock=clock).start()
    second = await RunningBot(clock=clock).start()
    gate = asyncio.Event()
    try:
        # Two answers run at once, one on each instance, while the person is under the quota.
        slow = [costs(400, 200), costs(400, 200)]
        for reply in slow:
            reply.stall_after, reply.gate = 1, gate
        fake_glm.enqueue(*slow)
        await first.slack.event(mention_event("on one", user="U0001"))
        await second.slack.event(mention_event("on two", user="U0001"))
        await fake_glm.wait_for(lambda f: len(f.streams) == 2, what="both answers streaming")
        gate.set()
        await first.wait_handled(1)
        await second.wait_handled(1)

        # Both counted (no lost update): 1,200 ≥ 1,000, so neither instance asks GLM again.
        await first.slack.event(mention_event("again on one", user="U0001"))
        await second.slack.event(mention_event("again on two", user="U0001"))
        await first.wait_handled(2)
        await second.wait_handled(2)
    finally:
        gate.set()
        await first.stop()
        await second.stop()
    assert sorted(r.user_text for r in fake_glm.requests) == ["on one", "on two"]
    assert [(e.user, e.text.split(";")[0]) for e in fake_slack.ephemerals] == [
        ("U0001", ":bar_chart: You have used 1,200 tokens this month")
    ] * 2

    engine = make_engine(pg_url.replace("postgresql://", "postgresql+asyncpg://"))
    try:
        store = UsageStore(engine)
        person = await store.person(team_id="T0001", user_id="U0001", month="2026-12")
        channels = await store.top_channels(team_id="T0001", month="2026-12")
    finally:
        await engine.dispose()
    assert (person.prompt, person.completion, person.turns) == (800, 400, 2)
    assert [(channel, tokens.total) for channel, tokens in channels] == [("C0001", 1200)]


async def test_concurrent_counting_loses_nothing_on_postgres(pg_url: str) -> None:
    """Forty turns counted at once from two engines (two instances' pools) add up exactly."""
    from bot.store.migrate import upgrade_to_head
    from bot.store.retention import prune_before
    from bot.store.usage import TurnUsage

    url = pg_url.replace("postgresql://", "postgresql+asyncpg://")
    engines = [make_engine(url), make_engine(url)]
    try:
        await upgrade_to_head(engines[0])
        stores = [UsageStore(e) for e in engines]
        turn = TurnUsage("T1", "E1", "U1", "C1", "a" * 24, prompt_tokens=7, completion_tokens=3)
        await asyncio.gather(*(stores[i % 2].add(turn, month="2026-12") for i in range(40)))
        reading = await stores[0].quota_reading(team_id="T1", user_id="U1", month="2026-12")
        by_assistant = await stores[1].by_assistant(team_id="T1", month="2026-12")
        pruned = await prune_before(engines[0], datetime(2027, 2, 1, tzinfo=UTC))
        kept = await stores[1].by_assistant(team_id="T1", month="2026-12")
    finally:
        for engine in engines:
            await engine.dispose()
    assert (reading.user, reading.workspace) == (400, 400)
    assert by_assistant["a" * 24].turns == 40
    assert pruned.usage_rows == 2 and kept == by_assistant, "retention keeps monthly totals"
