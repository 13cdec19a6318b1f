"""The 👍/👎 click: acked at once, stored with the reply, thanked ephemerally, counted."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.action_ids import FEEDBACK_ACTION_ID
from bot.metrics import Metrics
from bot.store.surface import SurfaceStore
from bot.surface.feedback import FeedbackClick, parse_feedback_click
from bot.texts import Lang, t

log = logging.getLogger(__name__)


class FeedbackRecorder:
    def __init__(
        self,
        *,
        slack: AsyncWebClient,
        store: SurfaceStore,
        metrics: Metrics,
        language: Callable[[str], Awaitable[Lang]],
    ) -> None:
        self._slack = slack
        self._store = store
        self._metrics = metrics
        self._language = language

    async def record(self, click: FeedbackClick) -> bool:
        """Store the rating and thank the person; False for a click on no reply of ours."""
        found, previous = await self._store.rate_reply(
            turn_id=click.turn_id, team_id=click.team_id, user_id=click.user_id, rating=click.rating
        )
        if not found:
            log.info("feedback for an unknown reply ignored")
            return False
        if previous != click.rating:
            self._metrics.feedback.labels(click.rating).inc()
        lang = await self._language(click.user_id)
        kwargs: dict[str, Any] = {
            "channel": click.channel_id,
            "user": click.user_id,
            "text": t(f"feedback_thanks_{click.rating}", lang),
        }
        if click.thread_ts:
            kwargs["thread_ts"] = click.thread_ts
        try:
            await self._slack.chat_postEphemeral(**kwargs)
        except SlackApiError as exc:
            log.info("could not thank for feedback: %s", exc.response.get("error"))
        return True


def register_feedback_action(app: AsyncApp, recorder: FeedbackRecorder) -> None:
    @app.action(FEEDBACK_ACTION_ID)
    async def on_feedback(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        click = parse_feedback_click(body)
        if click is not None:
            await recorder.record(click)
