"""The bot token of each workspace: read from the encrypted store, refreshed before it expires,
by one instance at a time, and never sent once expired.

Slack's rotating tokens (``token_rotation_enabled``) last 12 hours and come with a refresh token
that works for exactly one exchange. Two instances refreshing one installation at once would
burn the refresh token twice and lose the installation, so a refresh runs under a lock every
instance sees (a PostgreSQL transaction-scoped advisory lock on the installation's key; on
SQLite, one host, the in-process lock) and re-reads the installation inside it: whoever comes
second finds the fresh token and refreshes nothing. The exchange itself is slack_sdk's
``AsyncTokenRotator`` (``oauth.v2.access`` with ``grant_type=refresh_token``).

A refresh that fails (the refresh token refused, Slack down, the network) is not tried again at
every call that needs the token, which would send each of the workspace's Slack calls to
``oauth.v2.access`` first: the workspace backs off, 30 s after the first failure, doubling up to
5 minutes, and meanwhile its current token is used while it lasts (after that, as for any
expired token that could not be refreshed, none is sent). A success, or the installation found
refreshed or gone, or the workspace leaving, ends the back-off.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import math
import time
import weakref
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator
from sqlalchemy import text

from bot.oauth.store import EncryptedInstallationStore
from bot.oauth.workspace import SlackAccess, Workspace

log = logging.getLogger(__name__)

BACKOFF_FIRST_SECONDS = 30.0
BACKOFF_MAX_SECONDS = 300.0
# What a failed exchange raises: Slack's refusal or 5xx (SlackTokenRotationError/SlackApiError),
# or no answer at all (connection refused or reset, timeout).
_REFRESH_ERRORS = (SlackClientError, aiohttp.ClientError, TimeoutError)


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


@dataclass(slots=True)
class _Backoff:
    """A workspace whose last refreshes failed: how many in a row, and when to try again."""

    workspace: Workspace
    failures: int
    retry_at: float  # TokenKeeper's clock


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
        backoff_seconds: float = BACKOFF_FIRST_SECONDS,
        backoff_max_seconds: float = BACKOFF_MAX_SECONDS,
    ) -> None:
        self.store = store
        self._rotator = rotator
        self._refresh_minutes = refresh_minutes
        self._cache_seconds = cache_seconds
        self._on_refresh = on_refresh or (lambda _outcome: None)
        self._clock = clock
        self._backoff_first = backoff_seconds
        self._backoff_max = backoff_max_seconds
        self._cache: dict[str, Grant] = {}
        # Held only while someone refreshes or waits to: gone with its last user, so the map
        # does not grow with every workspace ever seen.
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._backoff: dict[str, _Backoff] = {}  # only workspaces whose refresh is failing

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
        if installation is None or not self._expiring(installation):
            self._backoff.pop(ws.key, None)  # gone, or refreshed (perhaps by another instance)
        elif self._may_refresh(ws):
            installation = await self._refresh(ws)
        if installation is None or not installation.bot_token or self._expired(installation):
            self._cache.pop(ws.key, None)
            return None
        grant = Grant(
            access=SlackAccess(
                workspace=ws,
                bot_user_id=installation.bot_user_id,
                bot_id=installation.bot_id,
                enterprise_name=installation.enterprise_name,
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
        """Drop what this instance remembers of ``ws`` (after uninstall or revocation), so a
        new installation starts afresh."""
        self._cache.pop(ws.key, None)
        self._backoff.pop(ws.key, None)
        for key, grant in list(self._cache.items()):
            if _covers(ws, grant.access.workspace):
                self._cache.pop(key, None)
        for key, backoff in list(self._backoff.items()):
            if _covers(ws, backoff.workspace):
                self._backoff.pop(key, None)

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
                self._backoff.pop(ws.key, None)
                return installation
            if not installation.bot_refresh_token:
                return installation
            if not self._may_refresh(ws):  # the call before ours, holding the lock, failed
                return installation
            try:
                refreshed = await self._rotator.perform_token_rotation(
                    installation=installation,
                    # whole minutes, rounded up: never narrower than our window, or it
                    # would answer "not yet" to every call inside the difference
                    minutes_before_expiration=math.ceil(self._refresh_minutes),
                )
            except _REFRESH_ERRORS as exc:
                delay = self._failed(ws)
                self._on_refresh("failed")
                log.error(
                    "could not refresh the bot token of %s: %s; next try in %.0f s",
                    ws.key,
                    _error_of(exc),
                    delay,
                )
                return installation  # still usable until it expires
            if refreshed is None:
                return installation
            await self.store.async_save(refreshed)
            self._backoff.pop(ws.key, None)
            self._on_refresh("ok")
            log.info("refreshed the bot token of %s", ws.key)
            return refreshed

    def _may_refresh(self, ws: Workspace) -> bool:
        """False while ``ws`` backs off after a failed refresh."""
        backoff = self._backoff.get(ws.key)
        return backoff is None or self._clock() >= backoff.retry_at

    def _failed(self, ws: Workspace) -> float:
        """Record a failed refresh of ``ws``; returns the delay before the next try."""
        now = self._clock()
        for key, stale in list(self._backoff.items()):  # nobody asked for it for a long time
            if stale.retry_at + self._backoff_max < now:
                del self._backoff[key]
        previous = self._backoff.get(ws.key)
        failures = previous.failures + 1 if previous is not None else 1
        delay = min(self._backoff_max, self._backoff_first * 2 ** min(failures - 1, 16))
        self._backoff[ws.key] = _Backoff(ws, failures, now + delay)
        return delay

    @contextlib.asynccontextmanager
    async def _shared_lock(self, ws: Workspace) -> AsyncIterator[None]:
        engine = self.store.engine
        if engine.dialect.name != "postgresql":
            yield
            return
        async with engine.connect() as conn, conn.begin():
            await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": advisory_key(ws)})
            yield  # released when this transaction ends, also if the process dies


def _covers(ws: Workspace, other: Workspace) -> bool:
    """Does the installation of ``ws`` serve ``other`` (the org's for an org-wide install)?"""
    if ws.is_enterprise_install:
        return other.enterprise_id == ws.enterprise_id
    return other.team_id == ws.team_id


def _error_of(exc: Exception) -> str:
    api_error = exc if isinstance(exc, SlackApiError) else getattr(exc, "api_error", None)
    if isinstance(api_error, SlackApiError) and api_error.response is not None:
        return str(api_error.response.get("error"))
    return type(exc).__name__
