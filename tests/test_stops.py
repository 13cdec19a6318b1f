"""Who may stop a reply, on this instance and through the database for another one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.stops import RunningTurns
from bot.store.db import make_engine
from bot.store.migrate import upgrade_to_head
from bot.store.repository import Repository


@pytest.fixture
async def repo(tmp_path: Path) -> AsyncIterator[Repository]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'stops.db'}")
    await upgrade_to_head(engine)
    yield Repository(engine)
    await engine.dispose()


async def _streaming(
    turns: RunningTurns, turn_id: str
) -> tuple[asyncio.Task[str | None], asyncio.Event]:
    started, forever = asyncio.Event(), asyncio.Event()

    async def stream() -> None:
        started.set()
        await forever.wait()

    task = asyncio.create_task(turns.run(turn_id, team_id="T1", asker="U1", stream=stream()))
    await started.wait()
    return task, forever


async def test_only_the_asker_or_an_admin_stops_a_reply_here(repo: Repository) -> None:
    turns = RunningTurns(repo=repo, admins=frozenset({"UADMIN"}))
    async with asyncio.timeout(5):
        task, _ = await _streaming(turns, "turn-1")
        assert await turns.stop("turn-1", user_id="U2", team_id="T1") == "not_yours"
        assert not task.done()
        assert await turns.stop("turn-1", user_id="U1", team_id="T1") == "stopped"
        assert await task == "U1"
        task, _ = await _streaming(turns, "turn-2")
        assert await turns.stop("turn-2", user_id="UADMIN", team_id="T1") == "stopped"
        assert await task == "UADMIN"


async def test_a_reply_that_ends_on_its_own_was_stopped_by_nobody(repo: Repository) -> None:
    turns = RunningTurns(repo=repo, admins=frozenset())
    async with asyncio.timeout(5):
        task, forever = await _streaming(turns, "turn-3")
        forever.set()
        assert await task is None
    assert await turns.stop("turn-3", user_id="U1", team_id="T1") == "finished"


async def test_a_press_on_another_instance_reaches_this_one_through_the_database(
    repo: Repository,
) -> None:
    here = RunningTurns(repo=repo, admins=frozenset())
    there = RunningTurns(repo=repo, admins=frozenset())
    await repo.start_reply(
        turn_id="turn-4",
        team_id="T1",
        channel_id="C1",
        thread_ts="1.1",
        user_id="U1",
        assistant_id="a",
        question="q",
    )
    async with asyncio.timeout(5):
        task, _ = await _streaming(here, "turn-4")
        assert await there.stop("turn-4", user_id="U2", team_id="T1") == "not_yours"
        assert await here.apply_remote() == 0
        assert await there.stop("turn-4", user_id="U1", team_id="T1") == "requested"
        assert await here.apply_remote() == 1
        assert await task == "U1"
