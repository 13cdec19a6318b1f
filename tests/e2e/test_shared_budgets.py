"""Slack's budgets are per workspace, so instances sharing a PostgreSQL database share them.

Needs PostgreSQL (see ``test_postgres.py``; skipped with the reason when unreachable). The fake
Slack enforces ``chat.update`` per workspace and ``chat.postMessage`` per channel across every
caller, as Slack does, and answers 429 beyond them: one 429 fails the load test.
"""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from bot.reply.buckets import Limits
from bot.store.budgets import DatabaseBucketStore
from bot.store.db import make_engine
from bot.store.migrate import upgrade_to_head
from tests.conftest import RunningBot
from tests.fakes import FakeGLM, FakeSlack, GLMRequest, Reply, mention_event

# Fast tiers (the same shape as Slack's, ten times quicker) so the load test takes seconds.
UPDATES_PER_MINUTE = 600
UPDATE_BURST = 5


def asyncpg_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+asyncpg://")


@pytest.mark.parametrize("cas_attempts", [3, 0], ids=["compare-and-set", "row-lock"])
async def test_two_stores_draw_on_one_bucket(pg_url: str, cas_attempts: int) -> None:
    engines = [make_engine(asyncpg_url(pg_url)) for _ in range(2)]
    stores = [DatabaseBucketStore(engine, cas_attempts=cas_attempts) for engine in engines]
    try:
        await upgrade_to_head(engines[0])
        slow = Limits(rate=0.01, burst=5)  # ~no refill while the test runs
        waits = await asyncio.gather(
            *(stores[i % 2].take("chat.update/T1", slow) for i in range(12))
        )
        assert sum(1 for w in waits if w == 0.0) == 5, "one burst between both, not one each"
        assert all(w > 50 for w in waits if w), "the refusals say how long to wait"
        assert await stores[0].take("chat.update/T2", slow) == 0.0, "T2 has its own bucket"

        peeked = await stores[1].peek("chat.startStream/T1", slow, reserve=5.0)
        assert peeked > 0, "a reserve of the whole bucket leaves nothing to spare"
        assert await stores[1].peek("chat.startStream/T1", slow) == 0.0, "peeking spends nothing"
        assert await stores[0].take("chat.startStream/T1", slow) == 0.0

        await stores[0].penalise("chat.postMessage/C1", slow, 30.0)
        wait = await stores[1].take("chat.postMessage/C1", slow)
        assert 29.0 < wait <= 30.0, "a 429 seen by one instance holds back the other"
    finally:
        for store in stores:
            await store.aclose()
        for engine in engines:
            await engine.dispose()


def _final(slack: FakeSlack, channel: str, ts: str) -> bool:
    replies = slack.thread_replies_by_bot(channel, ts)
    return (
        bool(replies)
        and replies[-1].text.startswith("answer ")
        and (not replies[-1].text.endswith("▍"))
    )


async def test_two_instances_share_the_workspace_edit_budget(
    bot_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    pg_url: str,
    fake_slack: FakeSlack,
    fake_glm: FakeGLM,
) -> None:
    """Twenty concurrent replies over two instances: each instance alone would believe it has
    the whole burst and rate, and Slack would answer 429; sharing, nobody gets one."""
    monkeypatch.setenv("DATABASE_URL", pg_url)
    monkeypatch.setenv("SLACK_EDITS_PER_MINUTE", str(UPDATES_PER_MINUTE))
    monkeypatch.setenv("SLACK_EDIT_BURST", str(UPDATE_BURST))
    channels = [f"C10{c}" for c in range(4)]
    for channel in channels:
        fake_slack.add_channel(channel, name=channel.lower())

    def reply(req: GLMRequest) -> Reply:
        words = [f"{w} " for w in req.user_text.split()] * 4
        return Reply(chunks=["answer ", *words], chunk_delay=0.03)

    fake_glm.default_reply = reply
    first = await RunningBot().start()
    second = await RunningBot().start()
    try:
        fake_slack.enforce_rate_limits(
            update_per_minute=UPDATES_PER_MINUTE, update_burst=UPDATE_BURST
        )
        events = []
        for i in range(20):
            user = f"U2{i:03d}"
            fake_slack.add_user(user, name=f"user{i}")
            channel = channels[i % len(channels)]
            events.append(mention_event(f"question {i}", channel=channel, user=user))
        instances = [first, second]
        await asyncio.gather(
            *(instances[i % 2].slack.event(event) for i, event in enumerate(events))
        )
        await fake_slack.wait_for(
            lambda f: all(_final(f, e["channel"], e["ts"]) for e in events),
            timeout=60,
            what="every reply to be final",
        )
    finally:
        await first.stop()
        await second.stop()

    assert fake_slack.rate_limited == Counter(), "Slack answered 429"
    updates = len(fake_slack.calls_to("chat.update"))
    assert updates >= len(events), "every reply ended with an edit: the budget was exercised"
