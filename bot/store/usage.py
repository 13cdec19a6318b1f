"""Token usage in the database: one atomic upsert per answered turn, two-row reads per check.

Every turn adds its tokens to three rows of ``usage_monthly`` in one ``INSERT … ON CONFLICT
DO UPDATE`` (SQLite and PostgreSQL both do it atomically, so instances sharing a database never
lose an update): the detail row (person, channel, assistant), the person's monthly rollup and
the workspace's monthly rollup for that assistant. A quota check reads the person's rollup and
the workspace's per-assistant rollups in one ``SELECT``.

Every read takes ``enterprise_id`` for an org-wide install (Enterprise Grid): the installation
is then the org, so its figures are summed over the rows of every workspace of the org (a Grid
user id is the same in each, and channel ids are unique across the org).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Executable, and_, delete, func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.models import UsageMonth, utcnow

ALL = "*"  # rollup marker: Slack ids never contain it


@dataclass(frozen=True, slots=True)
class TurnUsage:
    """One answered turn's tokens as GLM reported them, and whose they are."""

    team_id: str
    enterprise_id: str | None
    user_id: str
    channel_id: str
    assistant_id: str
    prompt_tokens: int
    completion_tokens: int


@dataclass(frozen=True, slots=True)
class Tokens:
    prompt: int = 0
    completion: int = 0
    turns: int = 0

    @property
    def total(self) -> int:
        return self.prompt + self.completion


@dataclass(frozen=True, slots=True)
class QuotaReading:
    """What a quota check needs: the person's and the workspace's tokens this month."""

    user: int
    workspace: int


class UsageStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._insert = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert

    async def add(self, usage: TurnUsage, *, month: str) -> None:
        """Count one turn in a transaction of its own (see :meth:`tally`)."""
        async with self._engine.begin() as conn:
            await conn.execute(self.tally(usage, month=month))

    def tally(self, usage: TurnUsage, *, month: str) -> Executable:
        """The one statement that counts a turn: detail + person + workspace-by-assistant rows,
        each inserted or added to atomically."""
        now = utcnow()
        base = {
            "team_id": usage.team_id,
            "month": month,
            "enterprise_id": usage.enterprise_id,
            "prompt_tokens": usage.prompt_tokens,
            "completion_tokens": usage.completion_tokens,
            "turns": 1,
            "updated_at": now,
        }
        rows = [
            {**base, "user_id": usage.user_id, "channel_id": usage.channel_id,
             "assistant_id": usage.assistant_id},
            {**base, "user_id": usage.user_id, "channel_id": ALL, "assistant_id": ALL},
            {**base, "user_id": ALL, "channel_id": ALL, "assistant_id": usage.assistant_id},
        ]  # fmt: skip
        stmt = self._insert(UsageMonth).values(rows)
        table = UsageMonth.__table__.c
        stmt = stmt.on_conflict_do_update(
            index_elements=["team_id", "month", "user_id", "channel_id", "assistant_id"],
            set_={
                "prompt_tokens": table.prompt_tokens + stmt.excluded.prompt_tokens,
                "completion_tokens": table.completion_tokens + stmt.excluded.completion_tokens,
                "turns": table.turns + 1,
                "updated_at": now,
                "enterprise_id": func.coalesce(stmt.excluded.enterprise_id, table.enterprise_id),
            },
        )
        return stmt

    async def quota_reading(
        self, *, team_id: str, user_id: str, month: str, enterprise_id: str | None = None
    ) -> QuotaReading:
        """The person's and the workspace's total tokens this month, in one query. With
        ``enterprise_id`` (an org-wide install) the installation is the Grid org: the totals
        are the org's, over all its workspaces (a Grid user id is the same in each)."""
        u = UsageMonth
        stmt = select(u.user_id, u.prompt_tokens + u.completion_tokens).where(
            _installation(team_id, enterprise_id),
            u.month == month,
            u.channel_id == ALL,
            or_(
                and_(u.user_id == user_id, u.assistant_id == ALL),
                and_(u.user_id == ALL, u.assistant_id != ALL),
            ),
        )
        user = workspace = 0
        async with self._engine.connect() as conn:
            for who, total in await conn.execute(stmt):
                if who == ALL:
                    workspace += int(total)
                else:
                    user += int(total)
        return QuotaReading(user=user, workspace=workspace)

    async def person(
        self, *, team_id: str, user_id: str, month: str, enterprise_id: str | None = None
    ) -> Tokens:
        """One person's tokens this month: in the workspace, or with ``enterprise_id`` in
        every workspace of the org (the figure :meth:`quota_reading` holds against the
        person's quota)."""
        u = UsageMonth
        stmt = select(
            func.sum(u.prompt_tokens), func.sum(u.completion_tokens), func.sum(u.turns)
        ).where(
            _installation(team_id, enterprise_id),
            u.month == month,
            u.user_id == user_id,
            u.channel_id == ALL,
            u.assistant_id == ALL,
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(stmt)).one()
        return _tokens(*row)

    async def by_assistant(
        self, *, team_id: str, month: str, enterprise_id: str | None = None
    ) -> dict[str, Tokens]:
        """The installation's month per assistant id (the workspace's, or the org's)."""
        u = UsageMonth
        stmt = (
            select(
                u.assistant_id,
                func.sum(u.prompt_tokens),
                func.sum(u.completion_tokens),
                func.sum(u.turns),
            )
            .where(
                _installation(team_id, enterprise_id),
                u.month == month,
                u.user_id == ALL,
                u.channel_id == ALL,
            )
            .group_by(u.assistant_id)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(stmt)).all()
        return {a: _tokens(p, c, n) for a, p, c, n in rows}

    async def top_channels(
        self, *, team_id: str, month: str, limit: int = 5, enterprise_id: str | None = None
    ) -> list[tuple[str, Tokens]]:
        """The installation's busiest channels this month (by tokens), from the detail rows."""
        u = UsageMonth
        total = func.sum(u.prompt_tokens + u.completion_tokens)
        stmt = (
            select(
                u.channel_id,
                func.sum(u.prompt_tokens),
                func.sum(u.completion_tokens),
                func.sum(u.turns),
            )
            .where(
                _installation(team_id, enterprise_id),
                u.month == month,
                u.user_id != ALL,
                u.channel_id != ALL,
            )
            .group_by(u.channel_id)
            .order_by(total.desc(), u.channel_id)
            .limit(limit)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(stmt)).all()
        return [(ch, _tokens(p, c, n)) for ch, p, c, n in rows]

    async def forget_people_before(self, month: str) -> int:
        """Retention: delete person-level rows of months before ``month``; the workspace's
        monthly totals per assistant stay."""
        async with self._engine.begin() as conn:
            result: Any = await conn.execute(
                delete(UsageMonth).where(UsageMonth.month < month, UsageMonth.user_id != ALL)
            )
            return int(result.rowcount or 0)


def _installation(team_id: str, enterprise_id: str | None) -> ColumnElement[bool]:
    """The rows of one installation: the workspace's, or an org-wide install's whole org."""
    u = UsageMonth
    return u.enterprise_id == enterprise_id if enterprise_id else u.team_id == team_id


def _tokens(prompt: Any, completion: Any, turns: Any) -> Tokens:
    """Summed columns as Tokens (SUM over no rows is NULL: nothing used)."""
    return Tokens(int(prompt or 0), int(completion or 0), int(turns or 0))
