"""Finalise replies orphaned by a crashed instance (``kill -9``, OOM, a lost host).

Each instance heartbeats in the database; a reply still ``streaming`` whose instance stopped
heartbeating is claimed (atomically, so one instance does it) and its Slack message is edited to
say it was interrupted, keeping the partial text, with a Retry button that re-asks the question.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.action_ids import STOP_ACTION_ID
from bot.oauth.workspace import SlackAccess, scope
from bot.reply.blocks import interrupted_message, retry_actions
from bot.store.models import utcnow
from bot.store.repository import ReplyRecord, Repository
from bot.texts import LANGS, Lang, t

log = logging.getLogger(__name__)


async def recover_orphans(
    repo: Repository,
    slack: AsyncWebClient,
    *,
    instance_id: str,
    stale_after: float,
    lang: Lang = "en",
    access_for: Callable[[str], Awaitable[SlackAccess | None]] | None = None,
) -> int:
    """``access_for`` (OAuth mode): the workspace scope to edit a team's reply in, or None
    when the team has no installation any more (its reply is then left as it is)."""
    stale_before = utcnow() - timedelta(seconds=stale_after)
    await repo.release_orphaned_leases(me=instance_id, stale_before=stale_before)
    recovered = 0
    for reply in await repo.orphaned_replies(me=instance_id, stale_before=stale_before):
        if not await repo.mark_interrupted(reply.id):
            continue  # another instance got there first
        recovered += 1
        access = await access_for(reply.team_id) if access_for is not None else None
        if access_for is not None and access is None:
            log.info("reply %s: its workspace is no longer installed; not edited", reply.id)
            continue
        try:
            with scope(access):
                await _show_interrupted(slack, reply, _language(reply, lang))
        except SlackApiError as exc:
            log.warning(
                "could not mark reply %s interrupted: %s", reply.id, exc.response.get("error")
            )
    if recovered:
        log.info("finalised %d interrupted replies", recovered)
    return recovered


def _language(reply: ReplyRecord, default: Lang) -> Lang:
    """The reply's own language, as recorded when it started (replies before 0006: default)."""
    for lang in LANGS:
        if reply.lang == lang:
            return lang
    return default


async def _show_interrupted(slack: AsyncWebClient, reply: ReplyRecord, lang: Lang) -> None:
    value = str(reply.id)
    notice = t("interrupted", lang)
    if reply.message_ts:
        message = await _fetch(slack, reply.channel_id, reply.thread_ts, reply.message_ts[-1])
    else:
        # Crashed between posting and recording the post: find the message by its Stop button,
        # whose value is this reply's turn id (not by how a streaming message looks).
        message = await _find_streaming(slack, reply.channel_id, reply.thread_ts, reply.turn_id)
    if message is not None:
        text, blocks = interrupted_message(
            str(message.get("text") or ""),
            message.get("blocks"),
            notice=notice,
            retry_value=value,
            lang=lang,
        )
        await slack.chat_update(
            channel=reply.channel_id, ts=str(message["ts"]), text=text, blocks=blocks
        )
        return
    await slack.chat_postMessage(
        channel=reply.channel_id,
        thread_ts=reply.thread_ts,
        text=notice,
        blocks=[
            {"type": "section", "text": {"type": "mrkdwn", "text": notice}},
            retry_actions(value, lang),
        ],
    )


async def _find_streaming(
    slack: AsyncWebClient, channel: str, thread_ts: str, turn_id: str
) -> dict[str, Any] | None:
    try:
        resp = await slack.conversations_replies(channel=channel, ts=thread_ts, limit=200)
    except SlackApiError:
        return None
    for message in reversed(resp.get("messages") or []):
        if message.get("bot_id") and _stop_value(message) == turn_id:
            return dict(message)
    return None


def _stop_value(message: dict[str, Any]) -> str | None:
    for block in message.get("blocks") or []:
        if not isinstance(block, dict) or block.get("type") != "actions":
            continue
        for element in block.get("elements") or []:
            if isinstance(element, dict) and element.get("action_id") == STOP_ACTION_ID:
                return str(element.get("value") or "")
    return None


async def _fetch(
    slack: AsyncWebClient, channel: str, thread_ts: str, ts: str
) -> dict[str, Any] | None:
    try:
        resp = await slack.conversations_replies(
            channel=channel, ts=thread_ts, oldest=ts, latest=ts, inclusive=True, limit=5
        )
    except SlackApiError as exc:
        log.info("could not read message %s: %s", ts, exc.response.get("error"))
        return None
    for message in resp.get("messages") or []:
        if message.get("ts") == ts:
            return dict(message)
    return None
