"""bot.concurrency: per-key order, and bounded memory (idle keys forgotten, queues capped)."""

from __future__ import annotations

import asyncio

from bot.concurrency import Job, KeyedSerialExecutor

WAIT = 2.0


async def test_jobs_of_one_key_run_in_order_and_drained_keys_are_forgotten() -> None:
    executor = KeyedSerialExecutor()
    order: list[tuple[int, int]] = []

    def job(key: int, n: int) -> Job:
        async def run() -> None:
            await asyncio.sleep(0)
            order.append((key, n))

        return run

    for key in range(500):
        for n in range(3):
            assert executor.submit(key, job(key, n))
    assert executor.keys == 500 and executor.queued == 1500
    assert await executor.wait_idle(WAIT)
    assert executor.keys == 0 and executor.active == 0 and executor.queued == 0
    for key in range(500):
        assert [n for k, n in order if k == key] == [0, 1, 2]


async def test_a_full_key_refuses_and_other_keys_still_get_in() -> None:
    executor = KeyedSerialExecutor(max_per_key=3, max_total=5)
    gate = asyncio.Event()
    ran: list[str] = []

    def job(name: str) -> Job:
        async def run() -> None:
            await gate.wait()
            ran.append(name)

        return run

    assert executor.submit("a", job("a0"))
    await asyncio.sleep(0)  # a0 starts and holds the key
    assert all(executor.submit("a", job(f"a{i}")) for i in (1, 2, 3))
    assert not executor.has_room("a")
    assert not executor.submit("a", job("a4")), "three already wait behind a0"
    assert executor.submit("b", job("b0")) and executor.submit("b", job("b1"))
    assert executor.queued == 5
    assert not executor.submit("c", job("c0")), "five wait in all"
    gate.set()
    assert await executor.wait_idle(WAIT)
    assert sorted(ran) == ["a0", "a1", "a2", "a3", "b0", "b1"]
    assert executor.queued == 0 and executor.keys == 0
    assert executor.submit("c", job("c0")), "room again once drained"
    assert await executor.wait_idle(WAIT)


async def test_cancelled_work_gives_its_places_back() -> None:
    executor = KeyedSerialExecutor(max_per_key=5, max_total=5)
    never = asyncio.Event()

    async def stuck() -> None:
        await never.wait()

    for _ in range(4):
        assert executor.submit("k", stuck)
    await asyncio.sleep(0)
    assert executor.queued == 3
    await asyncio.wait_for(executor.cancel_all(), WAIT)
    assert executor.queued == 0 and executor.keys == 0 and executor.active == 0
