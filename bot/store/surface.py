"""Database access for the agent surface (view contexts), apart from the turn's Repository.

Same rules as ``repository.py``: each write is one short transaction with one atomic upsert,
so it is safe across coroutines and instances.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.db import make_sessionmaker
from bot.store.models import ViewContext, utcnow

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
