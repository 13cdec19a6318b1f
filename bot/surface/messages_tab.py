"""The Messages tab: suggested prompts when it opens, refreshed when the person looks elsewhere.

``app_home_opened`` with ``tab == "messages"`` replaces ``assistant_thread_started`` for agent
apps, and ``assistant.threads.setSuggestedPrompts`` is called **without** ``thread_ts`` (with it,
an agent app's call "silently fails": docs.slack.dev/reference/methods/
assistant.threads.setSuggestedPrompts; slack-platform-and-peers §2.5). The prompts belong to
the assistant the DM uses (what ``/glm-agent`` set there, else the default).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.agents import OFFICIAL_CATALOGUE, Catalogue
from bot.store.repository import Repository
from bot.store.surface import SurfaceStore, ViewRecord
from bot.surface.context import ContextChanged, TabOpened, parse_context_changed, parse_tab_opened
from bot.surface.prompts import prompt_set
from bot.surface.starters import StarterCache
from bot.texts import Lang

log = logging.getLogger(__name__)

READABLE_TTL = 300.0
READABLE_CACHE_SIZE = 10_000


class MessagesTab:
    def __init__(
        self,
        *,
        slack: AsyncWebClient,
        repo: Repository,
        store: SurfaceStore,
        starters: StarterCache,
        language: Callable[[str], Awaitable[Lang]],
        default_assistant_id: str,
        clock: Callable[[], float] = time.monotonic,
        catalogue: Catalogue = OFFICIAL_CATALOGUE,
    ) -> None:
        self._catalogue = catalogue
        self._slack = slack
        self._repo = repo
        self._store = store
        self._starters = starters
        self._language = language
        self._default = default_assistant_id
        self._clock = clock
        # People flip between channels all day; conversations.info is Tier 3 per workspace, so
        # whether the bot can read a channel is remembered for a few minutes.
        self._readable: dict[str, tuple[float, str | None]] = {}

    async def opened(self, event: TabOpened) -> None:
        await self._store.save_view(event.team_id, event.user_id, dm_channel_id=event.dm_channel_id)
        view = await self._store.view(event.team_id, event.user_id)
        await self.show_prompts(event.team_id, event.user_id, event.dm_channel_id, view)

    async def context_changed(self, event: ContextChanged) -> None:
        before = await self._store.view(event.team_id, event.user_id)
        name = await self._readable_name(event.channel_id) if event.channel_id else None
        dm = event.dm_channel_id or (before.dm_channel_id if before else None)
        if dm is not None and dm != (before.dm_channel_id if before else None):
            await self._store.save_view(event.team_id, event.user_id, dm_channel_id=dm)
        unchanged = before is not None and (before.channel_id, before.channel_name) == (
            event.channel_id,
            name,
        )
        if unchanged:
            return  # same channel again: the prompts shown are still right
        await self._store.save_view(event.team_id, event.user_id, channel=(event.channel_id, name))
        if dm is not None:
            await self.show_prompts(
                event.team_id, event.user_id, dm, ViewRecord(dm, event.channel_id, name)
            )

    async def show_prompts(
        self, team_id: str, user_id: str, dm_channel_id: str, view: ViewRecord | None
    ) -> None:
        assistant_id = (
            await self._repo.get_channel_assistant(team_id=team_id, channel_id=dm_channel_id)
            or self._default
        )
        lang = await self._language(user_id)
        prompts = prompt_set(
            assistant_id,
            lang,
            upstream=await self._starters.get(assistant_id),
            summarise_channel=view.channel_name if view else None,
            catalogue=self._catalogue,
        )
        try:
            await self._slack.assistant_threads_setSuggestedPrompts(
                channel_id=dm_channel_id, title=prompts.title, prompts=prompts.to_api()
            )
        except SlackApiError as exc:
            log.warning("could not set suggested prompts: %s", exc.response.get("error"))

    async def _readable_name(self, channel_id: str) -> str | None:
        """The channel's name when the bot is in it (so it can read its history), else None."""
        cached = self._readable.get(channel_id)
        if cached is not None and cached[0] > self._clock():
            return cached[1]
        if len(self._readable) >= READABLE_CACHE_SIZE:
            self._readable.clear()
        name = await self._channel_name(channel_id)
        self._readable[channel_id] = (self._clock() + READABLE_TTL, name)
        return name

    async def _channel_name(self, channel_id: str) -> str | None:
        try:
            resp = await self._slack.conversations_info(channel=channel_id)
        except SlackApiError as exc:
            log.info("channel %s not readable: %s", channel_id, exc.response.get("error"))
            return None
        channel: Any = resp.get("channel") or {}
        name = channel.get("name")
        if not channel.get("is_member") or channel.get("is_archived") or not isinstance(name, str):
            return None
        return name[:100]


def register_messages_tab(app: AsyncApp, tab: MessagesTab) -> None:
    @app.event("app_home_opened")
    async def on_home_opened(body: dict[str, Any]) -> None:
        event = parse_tab_opened(body)
        if event is not None:
            await tab.opened(event)

    @app.event("app_context_changed")
    async def on_context_changed(body: dict[str, Any]) -> None:
        event = parse_context_changed(body)
        if event is not None:
            await tab.context_changed(event)
