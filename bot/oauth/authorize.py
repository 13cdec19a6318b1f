"""Bolt's authorisation in OAuth mode: each request gets its own workspace's installation.

Replaces Bolt's ``AsyncInstallationStoreAuthorize``, which calls ``auth.test`` on every request
and refreshes rotating tokens without a lock shared by instances. Here the bot's user id and
bot id come from the stored installation (recorded at install from ``oauth.v2.access`` and one
``auth.test``), the token from :class:`~bot.oauth.tokens.TokenKeeper` (refreshed once across
instances), and the request's scope is set so every Slack call it leads to carries that token.
A workspace with no installation (never installed, uninstalled, revoked) gets ``None``: Bolt
then runs no listener, so a late or retried event of a departed workspace starts nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.async_authorize import AsyncAuthorize
from slack_bolt.context.async_context import AsyncBoltContext

from bot.oauth.crypto import TokenDecryptError
from bot.oauth.orgs import OrgTeams
from bot.oauth.tokens import TokenKeeper
from bot.oauth.workspace import SlackAccess, Workspace, enter

log = logging.getLogger(__name__)


class WorkspaceAuthorize(AsyncAuthorize):
    def __init__(self, keeper: TokenKeeper, orgs: OrgTeams) -> None:
        super().__init__()
        self._keeper = keeper
        self._orgs = orgs

    async def __call__(
        self,
        *,
        context: AsyncBoltContext,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None,
        **_actor: Any,
    ) -> AuthorizeResult | None:
        org_wide = bool(context.is_enterprise_install)
        ws = Workspace(team_id=team_id, enterprise_id=enterprise_id, is_enterprise_install=org_wide)
        try:
            grant = await self._keeper.grant(ws)
        except TokenDecryptError:
            log.error(
                "the stored token of %s cannot be decrypted: SLACK_TOKEN_ENCRYPTION_KEY must "
                "still list the key it was written with",
                ws.key,
            )
            return None
        if grant is None:
            log.info("no installation for %s; request not handled", ws.key)
            return None
        if org_wide and enterprise_id and team_id:
            await self._orgs.remember(enterprise_id, team_id)
        access = SlackAccess(
            ws,
            bot_user_id=grant.access.bot_user_id,
            bot_id=grant.access.bot_id,
            enterprise_name=grant.access.enterprise_name,
        )
        enter(access)  # the listener task Bolt starts next inherits it
        return AuthorizeResult(
            enterprise_id=enterprise_id,
            team_id=team_id,
            bot_user_id=access.bot_user_id,
            bot_id=access.bot_id,
            bot_token=grant.token,
            bot_scopes=list(grant.scopes),
        )


def request_team_id(body: dict[str, Any]) -> str | None:
    """The workspace a request came from, also for org-wide installs (whose
    ``authorizations`` name only the org): the envelope's team, else the event's, the
    user's, the view's or the payload's ``team``."""
    candidates: list[Any] = [body.get("team_id")]
    for part, key in (("event", "team"), ("user", "team_id"), ("view", "team_id"), ("team", "id")):
        value = body.get(part)
        if isinstance(value, dict):
            candidates.append(value.get(key))
    return next((c for c in candidates if isinstance(c, str) and c), None)


async def fill_team(context: AsyncBoltContext, body: dict[str, Any], next: Any) -> None:
    """Bolt leaves ``context.team_id`` empty for org-wide installs; name the workspace."""
    if context.team_id is None:
        team = request_team_id(body)
        if team is not None:
            context["team_id"] = team
    await next()
