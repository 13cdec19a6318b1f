"""Display names of Slack users, looked up once and cached (bounded, expiring).

The model reads ``@Alice`` rather than ``<@U123>``; names change rarely, so an hour's cache of
the most recent few thousand users spares ``users.info`` calls without growing forever.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.workspace.mrkdwn import mentioned_user_ids


class UserDirectory:
    def __init__(
        self,
        client: AsyncWebClient,
        *,
        max_entries: int = 5000,
        ttl: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._max = max_entries
        self._ttl = ttl
        self._clock = clock
        self._cache: OrderedDict[str, tuple[float, str, str | None]] = OrderedDict()

    async def name(self, user_id: str) -> str:
        return (await self._entry(user_id))[0]

    async def locale(self, user_id: str) -> str | None:
        """The user's Slack locale (e.g. ``zh-CN``), for answering in their language."""
        return (await self._entry(user_id))[1]

    async def _entry(self, user_id: str) -> tuple[str, str | None]:
        hit = self._cache.get(user_id)
        if hit is not None and hit[0] > self._clock():
            self._cache.move_to_end(user_id)
            return hit[1], hit[2]
        found = await self._lookup(user_id)
        if found is None:  # a failed lookup (rate limit, network) is retried soon, not in an hour
            return user_id, None
        name, locale = found
        self._cache[user_id] = (self._clock() + self._ttl, name, locale)
        self._cache.move_to_end(user_id)
        while len(self._cache) > self._max:
            self._cache.popitem(last=False)
        return name, locale

    async def names_in(self, text: str, *, skip: str | None = None) -> Mapping[str, str]:
        """Names of the users mentioned in ``text`` (Slack markup), for :func:`slack_to_plain`."""
        return {uid: await self.name(uid) for uid in mentioned_user_ids(text) if uid != skip}

    async def _lookup(self, user_id: str) -> tuple[str, str | None] | None:
        try:
            resp = await self._client.users_info(user=user_id, include_locale=True)
        except SlackApiError as exc:
            if exc.response.get("error") == "user_not_found":
                return user_id, None
            return None
        user: dict[str, Any] = resp.get("user") or {}
        profile = user.get("profile") or {}
        name = profile.get("display_name") or user.get("real_name") or user.get("name") or user_id
        locale = user.get("locale")
        return str(name), str(locale) if locale else None
