"""Which installation serves a team: its own, or its Grid org's (remembered per org).

An org-wide install is stored under the org alone, while our data is keyed by the workspace the
work happened in. Each workspace of an org the bot serves is remembered here, so background work
(crash recovery) finds the org's token for a team, and an org's uninstall finds its teams.
"""

from __future__ import annotations

from sqlalchemy import and_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.oauth import tables
from bot.oauth.workspace import Workspace


class OrgTeams:
    def __init__(self, engine: AsyncEngine, client_id: str) -> None:
        self._engine = engine
        self._client_id = client_id
        self._seen: set[tuple[str, str]] = set()

    async def remember(self, enterprise_id: str, team_id: str) -> None:
        if (enterprise_id, team_id) in self._seen:
            return
        try:
            async with self._engine.begin() as conn:
                await conn.execute(
                    tables.org_teams.insert().values(enterprise_id=enterprise_id, team_id=team_id)
                )
        except IntegrityError:
            pass  # another request or instance remembered it first
        self._seen.add((enterprise_id, team_id))

    async def teams_of(self, enterprise_id: str) -> list[str]:
        c = tables.org_teams.c
        async with self._engine.connect() as conn:
            rows = await conn.execute(select(c.team_id).where(c.enterprise_id == enterprise_id))
            return [row[0] for row in rows]

    def forget(self, enterprise_id: str | None, team_ids: list[str]) -> None:
        self._seen = {
            (e, t) for e, t in self._seen if e != enterprise_id and t not in set(team_ids)
        }

    async def workspace_of_team(self, team_id: str) -> Workspace | None:
        """The installation key serving ``team_id``: its own install, else its org's."""
        inst = tables.installations.c
        async with self._engine.connect() as conn:
            own = await conn.execute(
                select(inst.enterprise_id)
                .where(
                    and_(
                        inst.client_id == self._client_id,
                        inst.team_id == team_id,
                        inst.is_enterprise_install.is_(False),
                    )
                )
                .limit(1)
            )
            row = own.first()
            if row is not None:
                return Workspace(team_id=team_id, enterprise_id=row[0])
            org = await conn.execute(
                select(tables.org_teams.c.enterprise_id)
                .where(tables.org_teams.c.team_id == team_id)
                .limit(1)
            )
            row = org.first()
        if row is None:
            return None
        return Workspace(team_id=team_id, enterprise_id=row[0], is_enterprise_install=True)
