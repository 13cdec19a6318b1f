"""What the agent surface adds to a DM turn before GLM is asked.

- The first question of a DM thread titles it (``assistant.threads.setTitle``), so the Messages
  tab lists threads by what they are about.
- The "summarise #channel" prompt we offered (``prompts.summarise_prompt``) is answered with a
  bounded slice of that channel's recent history folded into the question. The channel is the
  one Slack last said the person was looking at (stored by ``MessagesTab``), never one named in
  the text. When Slack refuses or rate-limits ``conversations.history`` the person is told
  politely and GLM is not asked to summarise nothing.
"""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.store.surface import SurfaceStore
from bot.surface.prompts import is_summarise_request
from bot.texts import Lang, t
from bot.turn_input import Route
from bot.workspace.mrkdwn import slack_to_plain
from bot.workspace.people import UserDirectory

log = logging.getLogger(__name__)

TITLE_CHARS = 80
HISTORY_MESSAGES = 50  # one page of conversations.history: one Tier 3 call per summary
HISTORY_CHARS = 6000  # newest messages kept within this many characters
SKIPPED_SUBTYPES = frozenset({"channel_join", "channel_leave", "channel_topic", "channel_purpose"})


def thread_title(question: str) -> str:
    text = " ".join(question.split())
    return text if len(text) <= TITLE_CHARS else text[: TITLE_CHARS - 1].rstrip() + "…"


def compose_summary_request(channel: str, lines: list[str], question: str) -> str:
    """The question GLM gets: the request plus the channel's messages, oldest first."""
    if not lines:
        return f"{question}\n\n(There are no recent messages in #{channel}.)"
    return (
        f"Recent messages in the Slack channel #{channel}, oldest first:\n"
        + "\n".join(lines)
        + f"\n\nRequest: {question}"
    )


def keep_newest(lines: list[str], max_chars: int) -> list[str]:
    kept: list[str] = []
    size = 0
    for line in reversed(lines):
        size += len(line) + 1
        if size > max_chars:
            break
        kept.append(line)
    return kept[::-1]


def _error_of(exc: Exception) -> str:
    if isinstance(exc, SlackApiError) and exc.response is not None:
        return str(exc.response.get("error") or exc.response.status_code)
    return type(exc).__name__


class DMSurface:
    def __init__(
        self,
        *,
        slack: AsyncWebClient,
        store: SurfaceStore,
        people: UserDirectory,
        bot_user_id: Any,
    ) -> None:
        self._slack = slack
        self._store = store
        self._people = people
        self._bot_user_id = bot_user_id

    async def prepare(self, route: Route, question: str, *, first: bool, lang: Lang) -> str | None:
        """The question to send GLM, or None when the person was already answered here."""
        if route.channel_type != "im":
            return question
        if first:
            await self._title(route, question)
        view = await self._store.view(route.team_id, route.user_id)
        if view is None or not view.channel_id or not view.channel_name:
            return question
        if not is_summarise_request(question, view.channel_name):
            return question
        lines = await self._history(route, view.channel_id, view.channel_name, lang)
        if lines is None:
            return None
        return compose_summary_request(view.channel_name, lines, question)

    async def _title(self, route: Route, question: str) -> None:
        try:
            await self._slack.assistant_threads_setTitle(
                channel_id=route.channel_id, thread_ts=route.thread_ts, title=thread_title(question)
            )
        except SlackApiError as exc:
            log.info("could not title the DM thread: %s", exc.response.get("error"))

    async def _history(
        self, route: Route, channel_id: str, channel_name: str, lang: Lang
    ) -> list[str] | None:
        try:
            resp = await self._slack.conversations_history(
                channel=channel_id, limit=HISTORY_MESSAGES
            )
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
            error = _error_of(exc)
            log.info("could not read #%s for a summary: %s", channel_name, error)
            text = t("summary_unavailable", lang, channel=channel_name, reason=error)
            await self._say(route, text)
            return None
        bot = self._bot_user_id()
        lines: list[str] = []
        messages: list[dict[str, Any]] = resp.get("messages") or []
        for msg in reversed(messages):  # history is newest first
            if msg.get("subtype") in SKIPPED_SUBTYPES:
                continue
            text = str(msg.get("text") or "")
            plain = slack_to_plain(
                text, bot_user_id=None, names=await self._people.names_in(text, skip=bot)
            )
            if not plain:
                continue
            if bot and msg.get("user") == bot:
                who = "assistant"
            elif msg.get("bot_id"):
                who = "a bot"
            else:
                who = await self._people.name(str(msg.get("user") or "someone"))
            lines.append(f"[{who}]: {plain}")
        return keep_newest(lines, HISTORY_CHARS)

    async def _say(self, route: Route, text: str) -> None:
        try:
            await self._slack.chat_postMessage(
                channel=route.channel_id, thread_ts=route.thread_ts, text=text
            )
        except SlackApiError as exc:
            log.warning("could not post in %s: %s", route.channel_id, exc.response.get("error"))
