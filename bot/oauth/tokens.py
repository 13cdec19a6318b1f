"""The bot token of each workspace: read from the encrypted store, refreshed before it expires,
by one instance at a time, and never sent once expired.

Slack's rotating tokens (``token_rotation_enabled``) last 12 hours and come with a refresh token
that works for exactly one exchange. Two instances refreshing one installation at once would
burn the refresh token twice and lose the installation, so a refresh runs under a lock every
instance sees (a PostgreSQL transaction-scoped advisory lock on the installation's key; on
SQLite, one host, the in-process lock) and re-reads the installation inside it: whoever comes
second finds the fresh token and refreshes nothing. The exchange itself is slack_sdk's
``AsyncTokenRotator`` (``oauth.v2.access`` with ``grant_type=refresh_token``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError, SlackTokenRotationError
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator
from sqlalchemy import text

from bot.oauth.store import EncryptedInstallationStore
from bot.oauth.workspace import SlackAccess, Workspace

log = logging.getLogger(__name__)


class NotInstalled(Exception):
    """No usable bot token for this workspace (never installed, uninstalled, revoked, or its
    expired token could not be refreshed)."""


@dataclass(frozen=True, slots=True)
class Grant:
    """What a request of one workspace may use: its bot token and the bot's identity there."""

    access: SlackAccess
    token: str
    scopes: tuple[str, ...]
    expires_at: int | None  # epoch seconds, None for tokens that do not rotate
    read_at: float  # monotonic


def advisory_key(ws: Workspace) -> int:
    """A 64-bit advisory-lock key for this installation (PostgreSQL)."""
    digest = hashlib.sha256(f"glm-refresh:{ws.key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class TokenKeeper:
    def __init__(
        self,
        *,
        store: EncryptedInstallationStore,
        rotator: AsyncTokenRotator,
        refresh_minutes: float = 120.0,
        cache_seconds: float = 10.0,
        on_refresh: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self._rotator = rotator
        self._refresh_minutes = refresh_minutes
        self._cache_seconds = cache_seconds
        self._on_refresh = on_refresh or (lambda _outcome: None)
        self._clock = clock
        self._cache: dict[str, Grant] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    # -- reading -----------------------------------------------------------------------------
    async def grant(self, ws: Workspace, *, cached: bool = False) -> Grant | None:
        """The workspace's grant, refreshed if its token expires soon; None if not installed.

        Bolt's authorisation calls this uncached, so an uninstall or revocation recorded by any
        instance stops the next request everywhere."""
        if cached:
            hit = self._cache.get(ws.key)
            if hit is not None and self._usable(hit):
                return hit
        installation = await self.store.find(ws)
        if installation is not None and self._expiring(installation):
            installation = await self._refresh(ws)
        if installation is None or not installation.bot_token or self._expired(installation):
            self._cache.pop(ws.key, None)
            return None
        grant = Grant(
            access=SlackAccess(
                workspace=ws,
                bot_user_id=installation.bot_user_id,
                bot_id=installation.bot_id,
            ),
            token=installation.bot_token,
            scopes=tuple(installation.bot_scopes or ()),
            expires_at=installation.bot_token_expires_at,
            read_at=time.monotonic(),
        )
        self._cache[ws.key] = grant
        return grant

    async def bot_token(self, ws: Workspace) -> str:
        """The token to send for ``ws`` now (cached for a few seconds); NotInstalled if none."""
        grant = await self.grant(ws, cached=True)
        if grant is None:
            raise NotInstalled(ws.key)
        return grant.token

    def forget(self, ws: Workspace) -> None:
        """Drop what this instance remembers of ``ws`` (after uninstall or revocation)."""
        self._cache.pop(ws.key, None)
        for key, grant in list(self._cache.items()):
            other = grant.access.workspace
            same_org = ws.is_enterprise_install and other.enterprise_id == ws.enterprise_id
            if same_org or (not ws.is_enterprise_install and other.team_id == ws.team_id):
                self._cache.pop(key, None)

    def _usable(self, grant: Grant) -> bool:
        if time.monotonic() - grant.read_at > self._cache_seconds:
            return False
        return grant.expires_at is None or grant.expires_at > self._clock() + self._margin

    @property
    def _margin(self) -> float:
        return self._refresh_minutes * 60

    def _expiring(self, installation: Installation) -> bool:
        at = installation.bot_token_expires_at
        return at is not None and at <= self._clock() + self._margin

    def _expired(self, installation: Installation) -> bool:
        at = installation.bot_token_expires_at
        return at is not None and at <= self._clock() + 5  # never send a token about to die

    # -- refreshing --------------------------------------------------------------------------
    async def _refresh(self, ws: Workspace) -> Installation | None:
        lock = self._locks.setdefault(ws.key, asyncio.Lock())
        async with lock, self._shared_lock(ws):
            installation = await self.store.find(ws)  # another instance may have done it
            if installation is None or not self._expiring(installation):
                return installation
            if not installation.bot_refresh_token:
                return installation
            try:
                refreshed = await self._rotator.perform_token_rotation(
                    installation=installation,
                    minutes_before_expiration=max(1, round(self._refresh_minutes)),
                )
            except (SlackTokenRotationError, SlackApiError) as exc:
                self._on_refresh("failed")
                log.error("could not refresh the bot token of %s: %s", ws.key, _error_of(exc))
                return installation  # still usable until it expires; tried again next time
            if refreshed is None:
                return installation
            await self.store.async_save(refreshed)
            self._on_refresh("ok")
            log.info("refreshed the bot token of %s", ws.key)
            return refreshed

    @contextlib.asynccontextmanager
    async def _shared_lock(self, ws: Workspace) -> AsyncIterator[None]:
        engine = self.store.engine
        if engine.dialect.name != "postgresql":
            yield
            return
        async with engine.connect() as conn, conn.begin():
            await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": advisory_key(ws)})
            yield  # released when this transaction ends, also if the process dies


def _error_of(exc: Exception) -> str:
    api_error = exc if isinstance(exc, SlackApiError) else getattr(exc, "api_error", None)
    if isinstance(api_error, SlackApiError) and api_error.response is not None:
        return str(api_error.response.get("error"))
    return type(exc).__name__
