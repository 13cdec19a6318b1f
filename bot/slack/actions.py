"""Buttons on replies: Stop (while streaming) and Retry (re-ask an interrupted question)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.action_ids import RETRY_ACTION_ID, STOP_ACTION_ID
from bot.admission import Refusal
from bot.conversations import Conversations
from bot.store.repository import Repository

log = logging.getLogger(__name__)


def register_reply_actions(
    app: AsyncApp, *, repo: Repository, conversations: Conversations
) -> None:
    @app.action(STOP_ACTION_ID)
    async def on_stop(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        action = (body.get("actions") or [{}])[0]
        user = str((body.get("user") or {}).get("id") or "")
        team = str((body.get("team") or {}).get("id") or "")
        turn_id = str(action.get("value") or "")
        if conversations.stop(turn_id, user_id=user, team_id=team):
            return
        # Streaming on another instance (or already finished): leave word in the database.
        if not await repo.request_stop(turn_id, user_id=user, team_id=team):
            log.info("stop pressed for a reply that is no longer streaming")

    @app.action(RETRY_ACTION_ID)
    async def on_retry(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        action = (body.get("actions") or [{}])[0]
        user = str((body.get("user") or {}).get("id") or "")
        try:
            reply_id = int(str(action.get("value") or ""))
        except ValueError:
            return
        reply = await repo.get_reply(reply_id)
        team = str((body.get("team") or {}).get("id") or "")
        if reply is None or (team and reply.team_id != team):
            return
        outcome = await conversations.retry(reply, user_id=user)
        if outcome == "started":
            await _remove_buttons(client, body)
        elif isinstance(outcome, Refusal):
            await _tell(client, channel=reply.channel_id, user=user, text=outcome.text)


async def _tell(client: AsyncWebClient, *, channel: str, user: str, text: str) -> None:
    """Only the person who pressed the button needs to know why nothing happened."""
    try:
        await client.chat_postEphemeral(channel=channel, user=user, text=text)
    except SlackApiError as exc:
        log.info("could not explain a refused Retry: %s", exc.response.get("error"))


async def _remove_buttons(client: AsyncWebClient, body: dict[str, Any]) -> None:
    """Take the Retry button off the old message so it cannot be pressed twice."""
    message = body.get("message") or {}
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
        "channel_id"
    )
    ts = message.get("ts") or (body.get("container") or {}).get("message_ts")
    if not channel or not ts:
        return
    blocks = [b for b in message.get("blocks") or [] if b.get("type") != "actions"]
    try:
        await client.chat_update(
            channel=channel, ts=ts, text=str(message.get("text") or " "), blocks=blocks
        )
    except SlackApiError as exc:
        log.info("could not remove the Retry button: %s", exc.response.get("error"))
