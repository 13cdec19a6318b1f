"""One turn per thread across instances: the database lease, on a real SQLite repository."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.leases import thread_lease
from bot.store.db import make_engine
from bot.store.migrate import upgrade_to_head
from bot.store.repository import Repository


@pytest.fixture
async def repo(tmp_path: Path) -> AsyncIterator[Repository]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'lease.db'}")
    await upgrade_to_head(engine)
    yield Repository(engine)
    await engine.dispose()


async def test_a_second_instance_waits_says_so_once_and_goes_on_when_the_first_ends(
    repo: Repository,
) -> None:
    order: list[str] = []
    waiting = asyncio.Event()
    a_answers = asyncio.Event()
    first_may_end = asyncio.Event()

    async def on_wait() -> None:
        order.append("told to wait")
        waiting.set()

    async def first() -> None:
        async with thread_lease(repo, "T:C:1", "instance-a"):
            order.append("a answers")
            a_answers.set()
            await first_may_end.wait()
        order.append("a done")

    async def second() -> None:
        async with thread_lease(repo, "T:C:1", "instance-b", poll=0.01, on_wait=on_wait):
            order.append("b answers")

    async with asyncio.timeout(10):
        a = asyncio.create_task(first())
        await a_answers.wait()
        b = asyncio.create_task(second())
        await waiting.wait()
        first_may_end.set()
        await asyncio.gather(a, b)
    assert order == ["a answers", "told to wait", "a done", "b answers"]


async def test_a_lease_held_too_long_is_answered_anyway_after_max_wait(repo: Repository) -> None:
    async with thread_lease(repo, "T:C:2", "crashed-holder", ttl=60):
        async with asyncio.timeout(5):
            async with thread_lease(repo, "T:C:2", "instance-b", poll=0.01, max_wait=0.05):
                pass  # reached: the thread is not blocked for good
