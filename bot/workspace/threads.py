"""When the bot is mentioned in a thread people started, the model gets who said what before.

The assistant API takes only the new user message (history lives upstream), so the thread is
folded into that one message: the root (the topic) and the messages just before the mention,
oldest first, up to a limit. ``conversations.replies`` pages run oldest first, so the latest
messages are the *last* page: the reader pages with the cursor, bounded by ``latest`` (the
mention) and by a page budget, because apps outside the Marketplace get one call a minute
(docs/slack-platform-and-peers.md §3.1). When Slack stops us early, the model is told that the
slice is partial instead of being handed the oldest messages as if they were the latest.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.files.model import SlackFile, parse_files
from bot.workspace.mrkdwn import slack_to_plain
from bot.workspace.people import UserDirectory

log = logging.getLogger(__name__)

MAX_THREAD_FILES = 5  # the newest files shared before the mention; older ones stay unread
PAGE_SIZE = 200  # Slack's documented maximum page for conversations.replies
MAX_PAGES = 5  # a thousand messages; beyond that the thread is read partially


@dataclass(slots=True)
class ThreadSlice:
    """The root and the last ``limit`` messages before the mention, as Slack gave them."""

    root: dict[str, Any] | None = None
    recent: deque[dict[str, Any]] = field(default_factory=deque)
    complete: bool = True


def compose_prompt(
    lines: list[str],
    *,
    asker: str,
    question: str,
    topic: str | None = None,
    partial: bool = False,
) -> str:
    if not lines and topic is None:
        return question
    parts: list[str] = []
    if topic is not None:
        parts.append(f"This Slack thread started with: {topic}")
    if lines:
        heading = (
            "The start of this thread (Slack let us read only part of it), oldest first"
            if partial
            else "Latest messages in this thread before the question, oldest first"
        )
        parts.append(heading + ":\n" + "\n".join(lines))
    return "\n\n".join(parts) + f"\n\nQuestion from {asker}: {question}"


async def read_thread(
    client: AsyncWebClient,
    *,
    channel: str,
    thread_ts: str,
    before_ts: str,
    limit: int,
    max_pages: int = MAX_PAGES,
) -> ThreadSlice:
    """Page through the thread up to the mention, keeping only the root and the tail."""
    found = ThreadSlice(recent=deque(maxlen=max(limit, 1)))
    cursor: str | None = None
    for page in range(max_pages):
        try:
            resp = await client.conversations_replies(
                channel=channel,
                ts=thread_ts,
                latest=before_ts,
                inclusive=False,
                limit=PAGE_SIZE,
                cursor=cursor,
            )
        except SlackApiError as exc:
            log.warning("could not read thread context: %s", exc.response.get("error"))
            found.complete = False
            return found if page else ThreadSlice(complete=False)
        for msg in resp.get("messages") or []:
            if not isinstance(msg, dict):
                continue
            ts = msg.get("ts")
            if ts == thread_ts:
                found.root = found.root or msg  # Slack repeats the parent on every page
            elif ts != before_ts:
                found.recent.append(msg)
        cursor = str((resp.get("response_metadata") or {}).get("next_cursor") or "")
        if not resp.get("has_more") or not cursor:
            return found
    log.info("thread %s/%s longer than %d pages; read partially", channel, thread_ts, max_pages)
    found.complete = False
    return found


@dataclass(frozen=True, slots=True)
class ThreadContext:
    """The question with the thread folded in, and the files people shared in that slice."""

    prompt: str
    files: tuple[SlackFile, ...] = ()


async def with_thread_context(
    client: AsyncWebClient,
    people: UserDirectory,
    *,
    channel: str,
    thread_ts: str,
    current_ts: str,
    asker_id: str,
    question: str,
    limit: int,
    bot_user_id: str | None,
) -> ThreadContext:
    thread = await read_thread(
        client, channel=channel, thread_ts=thread_ts, before_ts=current_ts, limit=limit
    )
    if thread.root is None and not thread.recent:
        return ThreadContext(question)
    messages = [m for m in (thread.root, *thread.recent) if m is not None]
    shared = {id(m): parse_files(m.get("files")) for m in messages if not m.get("bot_id")}

    async def line(msg: dict[str, Any]) -> str | None:
        text = str(msg.get("text") or "")
        names = await people.names_in(text, skip=bot_user_id)
        plain = slack_to_plain(text, bot_user_id=bot_user_id, names=names)
        files = shared.get(id(msg), ())
        if files:  # "revenue.csv" is how people will refer to it: say who shared what
            listed = ", ".join(f.name for f in files)
            plain = f"{plain} (shared {listed})" if plain else f"(shared {listed})"
        if not plain:
            return None
        if msg.get("user") == bot_user_id:
            who = "assistant"
        elif msg.get("bot_id"):
            who = "a bot"
        else:
            who = await people.name(str(msg.get("user") or "someone"))
        return f"[{who}]: {plain}"

    topic = await line(thread.root) if thread.root is not None else None
    lines = [text for msg in thread.recent if (text := await line(msg)) is not None]
    prompt = compose_prompt(
        lines,
        asker=await people.name(asker_id),
        question=question,
        topic=topic,
        partial=not thread.complete,
    )
    files = [f for m in messages for f in shared.get(id(m), ())]
    return ThreadContext(prompt, tuple(files[-MAX_THREAD_FILES:]))
