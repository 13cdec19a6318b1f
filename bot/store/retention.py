"""RETENTION_DAYS: what the bot stored about people is deleted once it is that old.

Run by the housekeeping loop (any instance; every statement is an idempotent ``DELETE``, so two
instances pruning at once do no harm). What goes, oldest first:

- turn records (``replies``: questions, outcomes, token counts) finished before the cutoff, and
  the 👍/👎 ``feedback`` on them;
- thread ↔ conversation mappings (``threads``) with no turn since the cutoff, and the files
  those threads shared with GLM (``thread_files``): a later reply there starts afresh;
- what people last looked at (``view_contexts``) not updated since the cutoff;
- person-level usage (``usage_monthly`` rows naming a person) of months that ended before the
  cutoff; the workspace's monthly totals per assistant stay.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, exists, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.models import Feedback, Reply, Thread, ThreadFile, ViewContext
from bot.store.usage import UsageStore
from bot.usage.month import month_key


@dataclass(frozen=True, slots=True)
class Pruned:
    replies: int = 0
    feedback: int = 0
    threads: int = 0
    thread_files: int = 0
    view_contexts: int = 0
    usage_rows: int = 0

    @property
    def total(self) -> int:
        return (
            self.replies
            + self.feedback
            + self.threads
            + self.thread_files
            + self.view_contexts
            + self.usage_rows
        )


async def prune_before(engine: AsyncEngine, cutoff: datetime) -> Pruned:
    """Delete what is older than ``cutoff`` (see the module docstring); say how much went."""
    old_replies = select(Reply.id).where(
        Reply.status != "streaming", Reply.finished_at.is_not(None), Reply.finished_at < cutoff
    )
    orphan_files = ~exists().where(
        and_(
            Thread.team_id == ThreadFile.team_id,
            Thread.channel_id == ThreadFile.channel_id,
            Thread.thread_ts == ThreadFile.thread_ts,
        )
    )
    used_since = exists().where(
        and_(
            Reply.team_id == Thread.team_id,
            Reply.channel_id == Thread.channel_id,
            Reply.thread_ts == Thread.thread_ts,
            Reply.started_at >= cutoff,
        )
    )
    async with engine.begin() as conn:

        async def gone(stmt: Any) -> int:
            result: Any = await conn.execute(stmt)
            return int(result.rowcount or 0)

        feedback = await gone(delete(Feedback).where(Feedback.reply_id.in_(old_replies)))
        replies = await gone(delete(Reply).where(Reply.id.in_(old_replies)))
        threads = await gone(delete(Thread).where(Thread.updated_at < cutoff, ~used_since))
        files = await gone(delete(ThreadFile).where(orphan_files))
        views = await gone(delete(ViewContext).where(ViewContext.updated_at < cutoff))
    usage = await UsageStore(engine).forget_people_before(month_key(cutoff))
    return Pruned(replies, feedback, threads, files, views, usage)
