"""An AsyncWebClient that sends the bot token of the workspace in scope, and no other.

In OAuth mode this is the client the turn, the reply strategies, the file relay and the
background jobs hold. At each call it reads the scope (:mod:`bot.oauth.workspace`) and asks the
:class:`~bot.oauth.tokens.TokenKeeper` for that workspace's current token; with no scope it
refuses rather than guess. A token passed explicitly (``token=…``, as Bolt's OAuth flow does
for ``auth.test`` right after an install) is sent as given; ``oauth.v2.*`` carry client
credentials instead of a token.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.oauth.tokens import NotInstalled, TokenKeeper
from bot.oauth.workspace import NoWorkspaceInScope, WorkspaceNotInstalled, current_access

__all__ = ["NoWorkspaceInScope", "WorkspaceNotInstalled", "WorkspaceWebClient"]

NO_TOKEN_METHODS = frozenset({"oauth.v2.access", "oauth.v2.exchange", "oauth.access"})


class WorkspaceWebClient(AsyncWebClient):
    def __init__(self, *, tokens: TokenKeeper, **kwargs: Any) -> None:
        super().__init__(token=None, **kwargs)
        self.tokens = tokens

    async def api_call(  # type: ignore[override]
        self,
        api_method: str,
        *,
        http_verb: str = "POST",
        files: dict | None = None,
        data: Any = None,
        params: dict | None = None,
        json: dict | None = None,
        headers: dict | None = None,
        auth: dict | None = None,
    ) -> AsyncSlackResponse:
        explicit = any(
            isinstance(part, dict) and part.get("token") for part in (params, json, data)
        )
        if not explicit and api_method not in NO_TOKEN_METHODS:
            access = current_access()
            if access is None:
                raise NoWorkspaceInScope(f"{api_method} called outside a workspace scope")
            try:
                token = await self.tokens.bot_token(access.workspace)
            except NotInstalled:
                raise WorkspaceNotInstalled(
                    f"{api_method}: workspace {access.workspace.key} has no usable token"
                ) from None
            params = {**(params or {}), "token": token}
        return await super().api_call(
            api_method,
            http_verb=http_verb,
            files=files,
            data=data,
            params=params,
            json=json,
            headers=headers,
            auth=auth,
        )
