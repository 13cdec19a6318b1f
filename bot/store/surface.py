"""Database access for the agent surface (view contexts, feedback), apart from the turn's
Repository.

Same rules as ``repository.py``: each write is one short transaction with one atomic upsert,
so it is safe across coroutines and instances.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.db import make_sessionmaker
from bot.store.models import Feedback, Reply, ViewContext, utcnow

_UNSET: Any = object()


@dataclass(frozen=True, slots=True)
class ViewRecord:
    dm_channel_id: str | None
    channel_id: str | None
    channel_name: str | None  # set only when the bot can read that channel


class SurfaceStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._session = make_sessionmaker(engine)
        self._insert = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert

    async def view(self, team_id: str, user_id: str) -> ViewRecord | None:
        async with self._session() as session:
            row = await session.get(ViewContext, (team_id, user_id))
            if row is None:
                return None
            return ViewRecord(row.dm_channel_id, row.channel_id, row.channel_name)

    async def save_view(
        self,
        team_id: str,
        user_id: str,
        *,
        dm_channel_id: str | None = _UNSET,
        channel: tuple[str | None, str | None] = _UNSET,
    ) -> None:
        """Upsert the given parts only: a context change must not forget the DM, nor an opened
        tab forget what the person was looking at."""
        values: dict[str, Any] = {"updated_at": utcnow()}
        if dm_channel_id is not _UNSET:
            values["dm_channel_id"] = dm_channel_id
        if channel is not _UNSET:
            values["channel_id"], values["channel_name"] = channel
        stmt = self._insert(ViewContext).values(team_id=team_id, user_id=user_id, **values)
        stmt = stmt.on_conflict_do_update(index_elements=["team_id", "user_id"], set_=values)
        async with self._session.begin() as session:
            await session.execute(stmt)

    async def rate_reply(
        self, *, turn_id: str, team_id: str, user_id: str, rating: str
    ) -> tuple[bool, str | None]:
        """Store ``user_id``'s rating of the reply of ``turn_id``.

        Returns ``(found, previous rating)``; ``found`` is False for a turn id this workspace
        has no reply for (a forged or foreign click), which changes nothing.
        """
        now = utcnow()
        async with self._session.begin() as session:
            reply_id = (
                await session.execute(
                    select(Reply.id).where(Reply.turn_id == turn_id, Reply.team_id == team_id)
                )
            ).scalar_one_or_none()
            if reply_id is None:
                return False, None
            previous = (
                await session.execute(
                    select(Feedback.rating).where(
                        Feedback.reply_id == reply_id, Feedback.user_id == user_id
                    )
                )
            ).scalar_one_or_none()
            stmt = self._insert(Feedback).values(
                reply_id=reply_id,
                team_id=team_id,
                user_id=user_id,
                rating=rating,
                created_at=now,
                updated_at=now,
            )
            stmt = stmt.on_conflict_do_update(
                index_elements=["reply_id", "user_id"], set_={"rating": rating, "updated_at": now}
            )
            await session.execute(stmt)
            return True, previous

    async def ratings(self, turn_id: str) -> dict[str, str]:
        """``{user_id: rating}`` for one reply (for tests and support questions)."""
        async with self._session() as session:
            rows = await session.execute(
                select(Feedback.user_id, Feedback.rating)
                .join(Reply, Reply.id == Feedback.reply_id)
                .where(Reply.turn_id == turn_id)
            )
            return {user: rating for user, rating in rows.all()}
