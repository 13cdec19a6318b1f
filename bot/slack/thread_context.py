"""When the bot is mentioned in a thread people started, the model gets who said what before.

The assistant API takes only the new user message (history lives upstream), so the earlier
messages of a human thread are folded into that one message, oldest first, up to a limit.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.inbound import slack_to_plain
from bot.slack.people import UserDirectory

log = logging.getLogger(__name__)


def compose_prompt(lines: list[str], *, asker: str, question: str) -> str:
    if not lines:
        return question
    return (
        "Earlier messages in this Slack thread, oldest first:\n"
        + "\n".join(lines)
        + f"\n\nQuestion from {asker}: {question}"
    )


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
) -> str:
    try:
        resp = await client.conversations_replies(
            channel=channel, ts=thread_ts, limit=min(limit + 1, 200)
        )
    except SlackApiError as exc:
        log.warning("could not read thread context: %s", exc.response.get("error"))
        return question
    lines: list[str] = []
    messages: list[dict[str, Any]] = resp.get("messages") or []
    for msg in messages:
        if msg.get("ts") == current_ts:
            continue
        text = str(msg.get("text") or "")
        names = await people.names_in(text, skip=bot_user_id)
        plain = slack_to_plain(text, bot_user_id=bot_user_id, names=names)
        if not plain:
            continue
        if msg.get("user") == bot_user_id:
            who = "assistant"
        elif msg.get("bot_id"):
            who = "a bot"
        else:
            who = await people.name(str(msg.get("user") or "someone"))
        lines.append(f"[{who}]: {plain}")
    return compose_prompt(lines[-limit:], asker=await people.name(asker_id), question=question)
