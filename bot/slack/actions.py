"""Buttons on replies: Stop (while streaming) and Retry (re-ask an interrupted question).

Handlers read the typed :class:`~bot.slack.payloads.BlockActions` (the guard has already
refused malformed shapes), never the raw payload.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.action_ids import RETRY_ACTION_ID, STOP_ACTION_ID
from bot.admission import Refusal
from bot.conversations import Conversations
from bot.slack.payloads import BlockActions
from bot.store.repository import Repository
from bot.texts import t

log = logging.getLogger(__name__)


def register_reply_actions(
    app: AsyncApp, *, repo: Repository, conversations: Conversations
) -> None:
    @app.action(STOP_ACTION_ID)
    async def on_stop(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        click = _typed(body)
        if click is None:
            return
        user, team = click.user.id, click.team.id if click.team else ""
        turn_id = click.actions[0].value or ""
        outcome = await conversations.stop(turn_id, user_id=user, team_id=team)
        if outcome in ("stopped", "requested"):
            return
        log.info("stop pressed by %s: %s", user, outcome.replace("_", " "))
        channel = _channel_of(click)
        if channel:  # the presser alone learns why nothing happened; the answer runs on
            lang = await conversations.language_of(user)
            key = "stop_not_yours" if outcome == "not_yours" else "already_finished"
            await _tell(client, channel=channel, user=user, text=t(key, lang))

    @app.action(RETRY_ACTION_ID)
    async def on_retry(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        click = _typed(body)
        if click is None:
            return
        try:
            reply_id = int(click.actions[0].value or "")
        except ValueError:
            return
        reply = await repo.get_reply(reply_id)
        team = click.team.id if click.team else ""
        if reply is None or (team and reply.team_id != team):
            return
        outcome = await conversations.retry(reply, user_id=click.user.id)
        if outcome == "started":
            await _remove_buttons(client, click)
        elif isinstance(outcome, Refusal):
            await _tell(client, channel=reply.channel_id, user=click.user.id, text=outcome.text)


def _typed(body: dict[str, Any]) -> BlockActions | None:
    try:
        return BlockActions.model_validate(body)
    except ValidationError as exc:  # only if the guard and this model ever disagree
        log.warning("ignored a button click of unexpected shape: %s", exc.error_count())
        return None


def _channel_of(click: BlockActions) -> str | None:
    if click.channel is not None:
        return click.channel.id
    return click.container.channel_id if click.container is not None else None


async def _tell(client: AsyncWebClient, *, channel: str, user: str, text: str) -> None:
    """Only the person who pressed the button needs to know why nothing happened."""
    try:
        await client.chat_postEphemeral(channel=channel, user=user, text=text)
    except SlackApiError as exc:
        log.info("could not explain a button press: %s", exc.response.get("error"))


async def _remove_buttons(client: AsyncWebClient, click: BlockActions) -> None:
    """Take the Retry button off the old message so it cannot be pressed twice."""
    message = click.message
    channel = _channel_of(click)
    ts = (message.ts if message else None) or (
        click.container.message_ts if click.container else None
    )
    if not channel or not ts:
        return
    blocks = [b for b in (message.blocks if message else None) or [] if b.get("type") != "actions"]
    try:
        await client.chat_update(
            channel=channel,
            ts=ts,
            text=(message.text if message else None) or " ",
            blocks=blocks,
        )
    except SlackApiError as exc:
        log.info("could not remove the Retry button: %s", exc.response.get("error"))
