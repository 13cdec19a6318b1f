"""OAuth mode, wired from settings: the per-workspace client, stores, flow, authorisation."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge
from slack_sdk.http_retry.builtin_async_handlers import AsyncConnectionErrorRetryHandler
from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import Settings
from bot.oauth.authorize import WorkspaceAuthorize
from bot.oauth.client import WorkspaceWebClient
from bot.oauth.crypto import TokenCipher, TokenDecryptError
from bot.oauth.flow import GuardedOAuthFlow, build_oauth_flow, install_client
from bot.oauth.leaving import Departures
from bot.oauth.orgs import OrgTeams
from bot.oauth.scopes import parse_scopes
from bot.oauth.store import EncryptedInstallationStore, SharedStateStore
from bot.oauth.tokens import TokenKeeper
from bot.oauth.workspace import SlackAccess, current_access, scope
from bot.policy import parse_id_list
from bot.slack.clients import SlackClients, web_clients

log = logging.getLogger(__name__)


class OAuthMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.installations = Gauge(
            "glm_bot_installations",
            "Workspaces and Grid orgs the app is installed in (OAuth mode)",
            registry=registry,
        )
        self.refreshes = Counter(
            "glm_bot_token_refreshes",
            "Rotating bot tokens refreshed, by outcome",
            ["outcome"],
            registry=registry,
        )


@dataclass(slots=True)
class OAuth:
    clients: SlackClients  # the bot's Slack clients: the token of the workspace in scope
    api: AsyncWebClient  # no token: token refreshes (the install flow has its own client)
    store: EncryptedInstallationStore
    states: SharedStateStore
    keeper: TokenKeeper
    orgs: OrgTeams
    flow: GuardedOAuthFlow
    authorize: WorkspaceAuthorize
    departures: Departures
    metrics: OAuthMetrics

    @property
    def client(self) -> AsyncWebClient:
        """The client of everything but the reply strategies (see bot.slack.clients)."""
        return self.clients.patient

    async def current_token(self) -> str:
        """The bot token of the workspace in scope (file downloads)."""
        access = current_access()
        if access is None:
            raise RuntimeError("no workspace in scope")
        return await self.keeper.bot_token(access.workspace)

    async def access_for_team(self, team_id: str) -> SlackAccess | None:
        """Background work (crash recovery) about ``team_id``: the scope to act in, if any."""
        ws = await self.orgs.workspace_of_team(team_id)
        if ws is None:
            return None
        grant = await self.keeper.grant(ws)
        return grant.access if grant is not None else None

    async def refresh_due(self) -> int:
        """Refresh every rotating token inside its refresh window, also of idle workspaces
        (housekeeping); returns how many installations were looked at."""
        workspaces = await self.store.workspaces()
        for ws in workspaces:
            try:
                await self.keeper.grant(ws)
            except TokenDecryptError:
                log.error("the stored token of %s cannot be decrypted", ws.key)
        return len(workspaces)

    async def count(self) -> int:
        count = await self.store.count()
        self.metrics.installations.set(count)
        return count

    async def verify_key(self) -> None:
        """Fail at start, clearly, when stored tokens cannot be read with the configured key."""
        for ws in (await self.store.workspaces())[:1]:
            try:
                await self.store.find(ws)
            except TokenDecryptError as exc:
                raise TokenDecryptError(
                    f"{exc}: SLACK_TOKEN_ENCRYPTION_KEY must still list the key the tokens "
                    "were written with (put a new key first, keep the old one after it)"
                ) from None

    async def aclose(self) -> None:
        for client in (self.clients.patient, self.clients.paced, self.api):
            session = getattr(client, "session", None)
            if session is not None:
                await session.close()


def build_oauth(settings: Settings, engine: AsyncEngine, registry: CollectorRegistry) -> OAuth:
    client_id = settings.slack_client_id
    secret = settings.slack_client_secret.get_secret_value()
    cipher = TokenCipher(settings.slack_token_encryption_key.get_secret_value())
    metrics = OAuthMetrics(registry)
    store = EncryptedInstallationStore(client_id=client_id, engine=engine, cipher=cipher)
    states = SharedStateStore(engine=engine)
    api = AsyncWebClient(
        token=None,
        base_url=settings.slack_api_base_url,
        retry_handlers=[AsyncConnectionErrorRetryHandler(max_retry_count=2)],
    )
    keeper = TokenKeeper(
        store=store,
        rotator=AsyncTokenRotator(client_id=client_id, client_secret=secret, client=api),
        refresh_minutes=settings.slack_token_refresh_minutes,
        on_refresh=lambda outcome: metrics.refreshes.labels(outcome).inc(),
    )
    clients = web_clients(
        base_url=settings.slack_api_base_url,
        make=lambda handlers: WorkspaceWebClient(
            tokens=keeper, base_url=settings.slack_api_base_url, retry_handlers=handlers
        ),
    )
    orgs = OrgTeams(engine, client_id)
    flow = build_oauth_flow(
        client_id=client_id,
        client_secret=secret,
        scopes=parse_scopes(settings.slack_scopes),
        redirect_uri=settings.slack_redirect_uri or None,
        store=store,
        states=states,
        client=install_client(settings.slack_api_base_url),
        allowed=parse_id_list(settings.allowed_team_ids),
    )
    return OAuth(
        clients=clients,
        api=api,
        store=store,
        states=states,
        keeper=keeper,
        orgs=orgs,
        flow=flow,
        authorize=WorkspaceAuthorize(keeper, orgs),
        departures=Departures(engine=engine, store=store, keeper=keeper, orgs=orgs),
        metrics=metrics,
    )


__all__ = ["OAuth", "build_oauth", "scope"]
