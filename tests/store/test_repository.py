"""Repository behaviour that the end-to-end tests do not reach directly."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.db import make_engine
from bot.store.migrate import upgrade_to_head
from bot.store.models import ProcessedEvent, utcnow
from bot.store.repository import Repository


@pytest.fixture
async def repo(tmp_path: Path) -> AsyncIterator[Repository]:
    engine: AsyncEngine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'r.db'}")
    await upgrade_to_head(engine)
    yield Repository(engine)
    await engine.dispose()


async def test_old_event_keys_are_pruned_and_can_be_claimed_again(repo: Repository) -> None:
    assert await repo.claim("event:old")
    assert await repo.claim("event:new")
    async with repo.engine.begin() as conn:
        await conn.execute(
            update(ProcessedEvent)
            .where(ProcessedEvent.key == "event:old")
            .values(received_at=utcnow() - timedelta(days=4))
        )
    assert await repo.prune_events(timedelta(days=3)) == 1
    assert await repo.claim("event:old")
    assert not await repo.claim("event:new")


async def test_thread_lease_is_exclusive_renewable_and_expires(repo: Repository) -> None:
    ttl = timedelta(seconds=60)
    assert await repo.try_lease("T:C:1", holder="a", ttl=ttl)
    assert not await repo.try_lease("T:C:1", holder="b", ttl=ttl)
    assert await repo.try_lease("T:C:1", holder="a", ttl=ttl), "the holder renews"
    await repo.release_lease("T:C:1", holder="b")  # not the holder: no effect
    assert not await repo.try_lease("T:C:1", holder="b", ttl=ttl)
    await repo.release_lease("T:C:1", holder="a")
    assert await repo.try_lease("T:C:1", holder="b", ttl=ttl)
    assert await repo.try_lease("T:C:2", holder="a", ttl=timedelta(seconds=-1))  # already expired
    assert await repo.try_lease("T:C:2", holder="b", ttl=ttl), "an expired lease can be taken over"


async def test_stop_requests_only_for_streaming_replies(repo: Repository) -> None:
    reply = await repo.start_reply(
        turn_id="t1",
        team_id="T",
        channel_id="C",
        thread_ts="1",
        user_id="U",
        assistant_id="a" * 24,
        question="q",
    )
    assert await repo.request_stop("t1", user_id="U2", team_id="T") == "not_yours"
    assert await repo.stop_requests(["t1"]) == {}, "someone else's press leaves no request"
    assert await repo.request_stop("t1", user_id="U", team_id="OTHER-TEAM") == "finished"
    assert await repo.request_stop("t1", user_id="U", team_id="T") == "requested"
    assert await repo.request_stop("t1", user_id="U", team_id="T") == "finished", "first wins"
    assert await repo.stop_requests(["t1", "t2"]) == {"t1": "U"}
    await repo.finish_reply(reply, status="done")
    assert await repo.request_stop("t1", user_id="U", team_id="T") == "finished"


async def test_an_admin_may_request_a_stop_on_anyones_reply(repo: Repository) -> None:
    await repo.start_reply(
        turn_id="t1",
        team_id="T",
        channel_id="C",
        thread_ts="1",
        user_id="U",
        assistant_id="a" * 24,
        question="q",
    )
    assert await repo.request_stop("t1", user_id="UADMIN", team_id="T", admin=True) == "requested"
    assert await repo.stop_requests(["t1"]) == {"t1": "UADMIN"}


async def test_turn_tickets_never_admit_more_than_the_limit_concurrently(repo: Repository) -> None:
    import asyncio

    since = utcnow() - timedelta(minutes=10)
    results = await asyncio.gather(
        *(
            repo.take_turn_ticket(team_id="T", user_id="U", since=since, max_turns=3)
            for _ in range(10)
        )
    )
    admitted = [r for r in results if r is None]
    # The first three tickets in insertion order see fewer than three before them and are never
    # withdrawn, so exactly three get through: no more (the limit) and no fewer (not too strict).
    assert len(admitted) == 3
    refused = [r for r in results if r is not None]
    assert len(refused) == 7
    assert all(len(r) >= 3 for r in refused)
    # the refused tickets were withdrawn: the window holds just the three admitted turns
    after = await repo.take_turn_ticket(team_id="T", user_id="U", since=since, max_turns=3)
    assert after is not None and len(after) == 3
    assert await repo.take_turn_ticket(team_id="T", user_id="U", since=since, max_turns=4) is None
    assert (
        await repo.take_turn_ticket(team_id="T", user_id="OTHER", since=since, max_turns=3) is None
    )
    assert await repo.prune_turn_tickets(timedelta(seconds=-1)) >= 1


async def test_streaming_replies_are_counted_per_workspace(repo: Repository) -> None:
    """The shared edit budget keeps a finishing token for each of these, on any instance."""

    async def start(turn: str, team: str) -> int:
        return await repo.start_reply(
            turn_id=turn,
            team_id=team,
            channel_id="C1",
            thread_ts="1.000001",
            user_id="U1",
            assistant_id="a" * 24,
            question="q",
            instance_id="elsewhere",
        )

    first = await start("t1", "T1")
    await start("t2", "T1")
    await start("t3", "T2")
    assert await repo.count_streaming_replies("T1") == 2
    await repo.finish_reply(first, status="done")
    assert await repo.count_streaming_replies("T1") == 1
    assert await repo.count_streaming_replies("T2") == 1
    assert await repo.count_streaming_replies("T3") == 0
