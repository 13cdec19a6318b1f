"""RETENTION_DAYS: old turn records, feedback, thread mappings, views and person-level usage
go; recent ones and the workspace's monthly totals stay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update

from bot.store.db import make_engine
from bot.store.migrate import upgrade_to_head
from bot.store.models import Feedback, Reply, Thread, ThreadFile, ViewContext
from bot.store.repository import Repository, ThreadFileRecord
from bot.store.retention import prune_before
from bot.store.surface import SurfaceStore
from bot.store.usage import TurnUsage, UsageStore

LONG_AGO = datetime(2026, 1, 10, tzinfo=UTC)
A = "a" * 24


async def _turn(repo: Repository, thread_ts: str, *, turn: str) -> int:
    await repo.open_thread(
        team_id="T1", channel_id="C1", thread_ts=thread_ts, default_assistant_id=A
    )
    await repo.add_thread_file(
        team_id="T1",
        channel_id="C1",
        thread_ts=thread_ts,
        record=ThreadFileRecord(f"F{turn}", "g1", "a.pdf", "document", "application/pdf", 10),
    )
    reply_id = await repo.start_reply(
        turn_id=turn,
        team_id="T1",
        channel_id="C1",
        thread_ts=thread_ts,
        user_id="U1",
        assistant_id=A,
        question="q",
    )
    await repo.finish_reply(reply_id, status="done", prompt_tokens=1, completion_tokens=1)
    return reply_id


async def _count(engine: Any, model: Any) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(model))).scalar_one())


async def test_old_records_go_recent_ones_and_monthly_totals_stay(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'r.db'}")
    try:
        await upgrade_to_head(engine)
        repo, surface, usage = Repository(engine), SurfaceStore(engine), UsageStore(engine)
        old = await _turn(repo, "1.000001", turn="old")
        await _turn(repo, "2.000002", turn="recent")
        # A thread started long ago but still in use keeps its mapping.
        await _turn(repo, "3.000003", turn="kept-alive")
        await surface.rate_reply(team_id="T1", turn_id="old", user_id="U2", rating="good")
        await surface.save_view("T1", "U1", dm_channel_id="D1")
        async with engine.begin() as conn:
            await conn.execute(update(Reply).where(Reply.id == old).values(finished_at=LONG_AGO))
            await conn.execute(
                update(Thread)
                .where(Thread.thread_ts.in_(["1.000001", "3.000003"]))
                .values(updated_at=LONG_AGO)
            )
            await conn.execute(update(ViewContext).values(updated_at=LONG_AGO))
        for month in ("2026-01", "2026-12"):
            await usage.add(TurnUsage("T1", None, "U1", "C1", A, 100, 10), month=month)

        cutoff = datetime(2026, 12, 1, tzinfo=UTC)
        assert (await prune_before(engine, cutoff - timedelta(days=400))).total == 0
        pruned = await prune_before(engine, cutoff)
        again = await prune_before(engine, cutoff)

        assert (pruned.replies, pruned.feedback, pruned.threads) == (1, 1, 1)
        assert (pruned.thread_files, pruned.view_contexts, pruned.usage_rows) == (1, 1, 2)
        assert again.total == 0, "idempotent"
        assert await _count(engine, Reply) == 2 and await _count(engine, Feedback) == 0
        assert await _count(engine, Thread) == 2 and await _count(engine, ThreadFile) == 2
        assert (await usage.person(team_id="T1", user_id="U1", month="2026-01")).total == 0
        assert (await usage.person(team_id="T1", user_id="U1", month="2026-12")).total == 110
        january = await usage.by_assistant(team_id="T1", month="2026-01")
        assert january[A].total == 110, "the workspace keeps its monthly total"
    finally:
        await engine.dispose()
