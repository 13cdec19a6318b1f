"""Bolt listeners for messages: thin adapters from payloads to :class:`Conversations` turns."""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext

from bot.conversations import Conversations
from bot.slack.payloads import MessageEvent
from bot.slack.routing import route_mention, route_message

log = logging.getLogger(__name__)


def register_message_listeners(app: AsyncApp, conversations: Conversations) -> None:
    @app.event("app_mention")
    async def on_mention(
        body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        typed = _typed(event)
        if typed is None:
            return
        route = route_mention(typed, bot_user_id=context.bot_user_id, team_id=context.team_id)
        if route is not None:
            conversations.submit(route, event_id=body.get("event_id"))

    # One listener for every message subtype, so edits/deletions get a 200 instead of Bolt's
    # 404 (which Slack would retry); routing decides what is a person's text.
    @app.event("message")
    async def on_message(
        body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        typed = _typed(event)
        if typed is None:
            return
        route = route_message(typed, bot_user_id=context.bot_user_id, team_id=context.team_id)
        if route is not None:
            conversations.submit(route, event_id=body.get("event_id"))


def _typed(event: dict[str, Any]) -> MessageEvent | None:
    """The guard already refused malformed shapes; this turns the event into its type."""
    try:
        return MessageEvent.model_validate(event)
    except ValidationError as exc:  # only if the guard and this model ever disagree
        log.warning("ignored a message event of unexpected shape: %s", exc.error_count())
        return None
