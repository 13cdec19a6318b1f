"""One-off lines in a thread (help, refusals, "restarting") and its status line.

The turn's other way of speaking to Slack besides a streamed reply: each call is best-effort
(a refused status or post is logged, never raised), because what it says is a courtesy and the
turn must carry on or end cleanly either way.
"""

from __future__ import annotations

import logging

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.reply.calls import ThreadStatus

log = logging.getLogger(__name__)


class ThreadNotices:
    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client

    async def post(self, *, channel_id: str, thread_ts: str, text: str) -> None:
        try:
            await self._client.chat_postMessage(channel=channel_id, thread_ts=thread_ts, text=text)
        except (SlackClientError, aiohttp.ClientError, TimeoutError) as exc:
            log.warning("could not post in %s: %s", channel_id, _reason(exc))

    async def whisper(self, *, channel_id: str, thread_ts: str, user_id: str, text: str) -> None:
        """A line only ``user_id`` sees (ephemeral), under the thread it concerns."""
        try:
            await self._client.chat_postEphemeral(
                channel=channel_id, user=user_id, thread_ts=thread_ts, text=text
            )
        except (SlackClientError, aiohttp.ClientError, TimeoutError) as exc:
            log.warning("could not tell %s privately in %s: %s", user_id, channel_id, _reason(exc))

    async def status(self, *, channel_id: str, thread_ts: str, text: str) -> None:
        await ThreadStatus(self._client, channel_id=channel_id, thread_ts=thread_ts).set(text)


def _reason(exc: Exception) -> str:
    if isinstance(exc, SlackApiError) and exc.response is not None:
        return str(exc.response.get("error"))
    return type(exc).__name__
