"""A workspace or org leaves: ``app_uninstalled`` forgets everything stored for it, and
``tokens_revoked`` forgets the revoked tokens.

Slack sends ``app_uninstalled`` after revoking every token, so nothing here calls Slack. What is
deleted: the installation and bot rows (every token), and every row of every table keyed by
``team_id`` (threads, channel assistants, replies, feedback, files, per-user tickets, Messages-tab
context, and any table added later with a ``team_id`` column), plus the rows keyed by text that
name the team: processed message ids (``msg:T:…``), retry claims, thread leases (``T:…``) and the
Slack budgets of the team and of its channels. For an org-wide install, the same for every
workspace of the org the bot served. Event ids (``event:Ev…``) name no team; they are pruned after
three days like everyone's.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.oauth import tables
from bot.oauth.orgs import OrgTeams
from bot.oauth.store import EncryptedInstallationStore
from bot.oauth.tokens import TokenKeeper
from bot.oauth.workspace import Workspace
from bot.store.models import Base

log = logging.getLogger(__name__)

_OAUTH_TABLES = {tables.installations.name, tables.bots.name, tables.org_teams.name}


class Departures:
    def __init__(
        self,
        *,
        engine: AsyncEngine,
        store: EncryptedInstallationStore,
        keeper: TokenKeeper,
        orgs: OrgTeams,
    ) -> None:
        self._engine = engine
        self._store = store
        self._keeper = keeper
        self._orgs = orgs

    async def uninstalled(self, ws: Workspace) -> list[str]:
        """Forget ``ws`` entirely; returns the team ids whose data was deleted."""
        await self._store.delete_workspace(ws)  # tokens first: nothing can act for it now
        self._keeper.forget(ws)
        if ws.is_enterprise_install and ws.enterprise_id:
            teams = await self._orgs.teams_of(ws.enterprise_id)
        else:
            teams = [ws.team_id] if ws.team_id else []
        await self._delete_team_data(
            teams, enterprise_id=ws.enterprise_id if ws.is_enterprise_install else None
        )
        self._orgs.forget(ws.enterprise_id if ws.is_enterprise_install else None, teams)
        log.info(
            "%s uninstalled the app: forgot it and %d workspace(s) of data", ws.key, len(teams)
        )
        return teams

    async def tokens_revoked(
        self, ws: Workspace, *, bot_users: list[str], users: list[str]
    ) -> None:
        """Delete the revoked tokens. The bot token lives in the installation rows, so a
        revoked bot token removes them (the workspace's threads and settings stay)."""
        if bot_users:
            await self._store.delete_workspace(ws)
            self._keeper.forget(ws)
            log.info("%s revoked the bot token; installation forgotten", ws.key)
        if users:  # user tokens: the bot asks for none (user_scopes=[]), so none is stored;
            # the installation row carries the installer's id and must not go with them
            log.info("%s revoked %d user token(s); the bot stores none", ws.key, len(users))

    async def _delete_team_data(self, teams: list[str], *, enterprise_id: str | None) -> None:
        if not teams and enterprise_id is None:
            return
        async with self._engine.begin() as conn:
            channels: set[str] = set()
            reply_ids: list[int] = []
            threads = Base.metadata.tables["threads"]
            replies = Base.metadata.tables["replies"]
            if teams:
                for table in (threads, replies):
                    rows = await conn.execute(
                        select(table.c.channel_id).where(table.c.team_id.in_(teams)).distinct()
                    )
                    channels.update(row[0] for row in rows)
                rows = await conn.execute(select(replies.c.id).where(replies.c.team_id.in_(teams)))
                reply_ids = [row[0] for row in rows]
            for table in reversed(Base.metadata.sorted_tables):
                if table.name in _OAUTH_TABLES or "team_id" not in table.c or not teams:
                    continue
                await conn.execute(delete(table).where(table.c.team_id.in_(teams)))
            events = Base.metadata.tables["processed_events"]
            leases = Base.metadata.tables["thread_leases"]
            budgets = Base.metadata.tables["slack_budgets"]
            for team in teams:
                await conn.execute(delete(events).where(events.c.key.startswith(f"msg:{team}:")))
                await conn.execute(delete(leases).where(leases.c.key.startswith(f"{team}:")))
            if reply_ids:
                await conn.execute(
                    delete(events).where(events.c.key.in_([f"retry:{i}" for i in reply_ids]))
                )
            scopes = [*teams, *channels]
            if scopes:
                await conn.execute(
                    delete(budgets).where(
                        or_(*(budgets.c.key.endswith(f"/{scope}") for scope in scopes))
                    )
                )
            org = tables.org_teams.c
            if enterprise_id is not None:
                await conn.execute(
                    delete(tables.org_teams).where(org.enterprise_id == enterprise_id)
                )
            if teams:
                await conn.execute(delete(tables.org_teams).where(org.team_id.in_(teams)))


def workspace_of(context: AsyncBoltContext, body: dict[str, Any]) -> Workspace:
    """The installation an ``app_uninstalled``/``tokens_revoked`` envelope speaks for."""
    org_wide = bool(context.is_enterprise_install)
    team = context.team_id or body.get("team_id")
    return Workspace(
        team_id=team if isinstance(team, str) else None,
        enterprise_id=context.enterprise_id,
        is_enterprise_install=org_wide,
    )


def register_departures(app: AsyncApp, departures: Departures) -> None:
    @app.event("app_uninstalled")
    async def on_uninstalled(context: AsyncBoltContext, body: dict[str, Any]) -> None:
        await departures.uninstalled(workspace_of(context, body))

    @app.event("tokens_revoked")
    async def on_tokens_revoked(
        context: AsyncBoltContext, body: dict[str, Any], event: dict[str, Any]
    ) -> None:
        tokens = event.get("tokens") if isinstance(event.get("tokens"), dict) else {}
        bot_users = [u for u in (tokens or {}).get("bot") or [] if isinstance(u, str)]
        users = [u for u in (tokens or {}).get("oauth") or [] if isinstance(u, str)]
        await departures.tokens_revoked(
            workspace_of(context, body), bot_users=bot_users, users=users
        )
