"""Every Slack call a reply makes, paid and retried one way, its failures named one way.

A call may draw a token from a :class:`~bot.reply.ratelimit.Budget` first (per attempt). On
429 the budget is told (``Retry-After``, for every reply of the workspace and, with a shared
store, every instance) and the next attempt waits in the budget; without a budget it sleeps
``Retry-After`` itself. Server errors and dropped connections back off exponentially. Errors
that no retry can mend become exceptions a view acts on: :class:`MessageTooLong` (split
smaller), :class:`StreamClosed` (hand the reply over to the edit view), :class:`ReplyGone`
(the message or the channel is gone: stop trying).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.metrics import Metrics
from bot.oauth.workspace import WorkspaceNotInstalled
from bot.reply.ratelimit import Budget

log = logging.getLogger(__name__)

FINAL_ATTEMPTS = 8  # the final text must land
GONE_ERRORS = frozenset(
    {
        "message_not_found",
        "cant_update_message",
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "thread_not_found",
        "edit_window_closed",
    }
)
TOO_LONG_ERRORS = frozenset({"msg_too_long", "msg_blocks_too_long"})
# Slack ended a native stream on its own (after minutes, idle time, or our own stop).
STREAM_CLOSED_ERRORS = frozenset({"message_not_in_streaming_state", "message_not_found"})
STREAM_METHODS = frozenset({"chat_startStream", "chat_appendStream", "chat_stopStream"})
TRANSIENT_ERRORS = frozenset({"internal_error", "fatal_error", "request_timeout"})


class MessageTooLong(Exception):
    """Slack refused the message size; the edit view splits smaller and tries again."""


class StreamClosed(Exception):
    """Slack no longer accepts text for this stream; the edit view takes the reply over."""


class ReplyGone(Exception):
    """The reply can no longer be shown (deleted message, lost channel access)."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


class SlackCalls:
    def __init__(self, client: AsyncWebClient, *, metrics: Metrics | None = None) -> None:
        self.client = client
        self._metrics = metrics

    async def call(
        self,
        method: str,
        *,
        budget: Budget | None = None,
        scope: str = "",
        urgent: bool = True,
        prepaid: bool = False,
        attempts: int = 1,
        **kwargs: Any,
    ) -> Any:
        """``client.<method>(**kwargs)``; ``prepaid``: the first attempt's token is in hand."""
        delay = 0.5
        for attempt in range(1, attempts + 1):
            if budget is not None and not (prepaid and attempt == 1):
                await budget.acquire(scope, urgent=urgent)
            try:
                return await getattr(self.client, method)(**kwargs)
            except WorkspaceNotInstalled as exc:  # OAuth: uninstalled or revoked meanwhile
                raise ReplyGone("not_installed") from exc
            except SlackApiError as exc:
                wait = await self._after_error(method, exc, budget, scope, delay)
                if attempt == attempts:
                    raise
            except (aiohttp.ClientError, TimeoutError) as exc:
                if attempt == attempts:
                    raise
                wait = delay
                log.warning("%s failed (%s); retrying in %.1fs", method, type(exc).__name__, wait)
            if wait > 0:
                await asyncio.sleep(wait)
            delay = min(delay * 2, 8.0)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _after_error(
        self, method: str, exc: SlackApiError, budget: Budget | None, scope: str, delay: float
    ) -> float:
        """How long to wait before trying again, or the exception that says not to."""
        response = exc.response
        error = str(response.get("error", "")) if response is not None else ""
        status = response.status_code if response is not None else 0
        if self._metrics is not None:
            self._metrics.slack_errors.labels(method, error or str(status)).inc()
        if error in TOO_LONG_ERRORS:
            raise MessageTooLong(error) from exc
        if method in STREAM_METHODS and error in STREAM_CLOSED_ERRORS:
            raise StreamClosed(error) from exc
        if error in GONE_ERRORS:
            raise ReplyGone(error) from exc
        if status == 429:
            retry_after = float(response.headers.get("Retry-After", 1) or 1)
            log.warning("%s rate limited; Retry-After %.1fs", method, retry_after)
            if budget is None:
                return retry_after
            budget.rate_limited(scope, retry_after)
            await budget.settled()  # recorded (shared store too): the next acquire waits it out
            return 0.0
        if status >= 500 or error in TRANSIENT_ERRORS:
            log.warning("%s failed (%s %s); retrying in %.1fs", method, status, error, delay)
            return delay
        raise exc


class ThreadStatus:
    """The thread's status line (``assistant.threads.setStatus``): best effort, never raised."""

    def __init__(self, client: AsyncWebClient, *, channel_id: str, thread_ts: str) -> None:
        self._client = client
        self._channel = channel_id
        self._thread_ts = thread_ts

    async def set(self, status: str, *, loading: bool = False) -> bool:
        """Show ``status`` (as the rotating loading message too, with ``loading``); False when
        Slack refused (no status in this kind of conversation, a missing scope)."""
        kwargs: dict[str, Any] = {
            "channel_id": self._channel,
            "thread_ts": self._thread_ts,
            "status": status,
        }
        if loading and status:
            kwargs["loading_messages"] = [status]
        try:
            await self._client.assistant_threads_setStatus(**kwargs)
            return True
        except (SlackClientError, aiohttp.ClientError, TimeoutError) as exc:
            log.debug("setStatus refused: %s", exc)
            return False
