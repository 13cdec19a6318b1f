"""Streams one reply into Slack by posting and then editing messages in a thread.

Policy (design notes, "Streaming policy"): show life at once (a status, or the first text as a
*post*, which spends the per-channel budget rather than the scarce shared edit budget); then
coalesce: one flusher task per reply, so never two edits in flight for one message, at most one
edit per ``edit_interval``, the latest text wins; every edit draws on the workspace's
:class:`EditBudget`. The final edit always carries the complete text and is retried until it
lands. Long answers roll over to new messages in the thread before Slack's limits.

Text arrives through :meth:`append` in O(chunk); rendering happens only at flush time and only
for the message being edited, never for the frozen ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.glm.events import ToolCall
from bot.metrics import Metrics
from bot.slack.blocks import reply_message
from bot.slack.ratelimit import EditBudget
from bot.slack.render import render_reply
from bot.slack.split import split_markdown
from bot.streaming.markup import MarkupFilter
from bot.streaming.tools import ToolLedger

log = logging.getLogger(__name__)

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
FINAL_ATTEMPTS = 8


class ReplyGone(Exception):
    """The reply can no longer be shown (deleted message, lost channel access)."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


@dataclass(frozen=True, slots=True)
class StreamerConfig:
    edit_interval: float = 1.0
    segment_chars: int = 2600  # markdown per message; rendered text must stay under 3,000
    rendered_limit: int = 2900
    use_status: bool = True


class ReplyStreamer:
    def __init__(
        self,
        *,
        client: AsyncWebClient,
        budget: EditBudget,
        team_id: str,
        channel: str,
        thread_ts: str,
        header: str | None = None,
        config: StreamerConfig | None = None,
        stop_value: str | None = None,
        on_messages: Callable[[list[str]], Awaitable[None]] | None = None,
        clock: Callable[[], float] = time.monotonic,
        metrics: Metrics | None = None,
    ) -> None:
        self._metrics = metrics
        self._client = client
        self._budget = budget
        self._team = team_id
        self._channel = channel
        self._thread_ts = thread_ts
        self._header = header
        self._cfg = config or StreamerConfig()
        self._stop_value = stop_value
        self._on_messages = on_messages
        self._clock = clock

        self._filter = MarkupFilter()
        self._pending: list[str] = []
        self._segment = ""  # markdown of the message being edited
        self._shown_segment: str | None = None
        self._message_ts: list[str] = []
        self._activity: str | None = None
        self._shown_activity: str | None = None
        self.tools = ToolLedger()

        self._dirty = asyncio.Event()
        self._closing = asyncio.Event()
        self._flusher: asyncio.Task[None] | None = None
        self._last_edit = 0.0
        self._status_on = False
        self.gone: str | None = None
        self._retry_value: str | None = None
        self.first_text_at: float | None = None

    # -- public ------------------------------------------------------------------------------
    @property
    def message_ts(self) -> list[str]:
        return list(self._message_ts)

    @property
    def has_text(self) -> bool:
        return bool(self._segment or self._pending or len(self._message_ts) > 1)

    async def start(self, status: str = "is thinking…") -> None:
        """Show life at once: a thread status, or a placeholder message where that is refused."""
        if self._cfg.use_status and await self._set_status(status):
            self._status_on = True
        else:
            await self._post(self._compose("", streaming=True), urgent=True)
        self._flusher = asyncio.create_task(self._run(), name=f"flush:{self._thread_ts}")

    async def set_status(self, status: str) -> None:
        if self._status_on:
            await self._set_status(status)

    def append(self, text: str) -> None:
        visible = self._filter.feed(text)
        if visible:
            self._pending.append(visible)
            self._dirty.set()

    def tool(self, call: ToolCall) -> None:
        self.tools.record_code(call)
        activity = self.tools.apply(call)
        if activity:
            self._activity = activity
            self._dirty.set()

    async def finish(self, notice: str | None = None, *, retry_value: str | None = None) -> None:
        """Final edits: complete text (plus ``notice``), retried until they land."""
        self._retry_value = retry_value
        await self._stop_flusher()
        tail = self._filter.flush()
        if tail:
            self._pending.append(tail)
        if self.gone:
            return
        body_extra = f"\n\n{notice}" if notice else ""
        try:
            await self._flush(final=True, extra=body_extra)
        except ReplyGone:
            pass
        finally:
            if self._status_on:
                await self._set_status("")

    # -- flushing ----------------------------------------------------------------------------
    async def _run(self) -> None:
        try:
            while True:
                await self._dirty.wait()
                if self._closing.is_set():
                    return
                wait = self._last_edit + self._cfg.edit_interval - self._clock()
                if self._message_ts and wait > 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._closing.wait(), wait)
                    if self._closing.is_set():
                        return
                self._dirty.clear()
                try:
                    await self._flush(final=False)
                except ReplyGone:
                    return
                except Exception:  # an intermediate edit may fail; the final one will retry
                    log.warning("intermediate edit failed", exc_info=True)
        except asyncio.CancelledError:
            pass

    async def _stop_flusher(self) -> None:
        self._closing.set()
        self._dirty.set()
        if self._flusher is not None:
            await self._flusher
            self._flusher = None

    async def _flush(self, *, final: bool, extra: str = "") -> None:
        if self._pending:
            self._segment += "".join(self._pending)
            self._pending.clear()
        while len(self._segment) > self._cfg.segment_chars:
            parts = split_markdown(self._segment, self._cfg.segment_chars)
            if len(parts) < 2:
                break
            for part in parts[:-1]:
                await self._show(part, final=True, continued=True)
                await self._new_message_slot()
            self._segment = parts[-1]
        if (
            not final
            and self._segment == self._shown_segment
            and self._activity == self._shown_activity
        ):
            return
        await self._show(self._segment, final=final, extra=extra)

    async def _new_message_slot(self) -> None:
        """The next :meth:`_show` posts a new message instead of editing the current one."""
        self._current_frozen = True

    _current_frozen = False

    async def _show(
        self, md: str, *, final: bool, continued: bool = False, extra: str = ""
    ) -> None:
        body = self._render(md) + extra
        streaming = not final
        payload = self._compose(
            body,
            streaming=streaming,
            final=final and not continued,
        )
        if not self._message_ts or self._current_frozen:
            self._current_frozen = False
            await self._post(payload, urgent=True)
        else:
            first_text = self._shown_segment in (None, "") and bool(md)
            await self._update(payload, urgent=final or first_text, retry=final)
        if not continued:
            self._shown_segment = md
            self._shown_activity = self._activity
        if md and self.first_text_at is None:
            self.first_text_at = self._clock()

    def _render(self, md: str) -> str:
        body = render_reply(md)
        if len(body) > self._cfg.rendered_limit:
            body = body[: self._cfg.rendered_limit - 1] + "…"
        return body

    def _compose(self, body: str, *, streaming: bool, final: bool = False) -> dict[str, Any]:
        header = self._header if not self._message_ts or self._is_first_slot() else None
        text, blocks = reply_message(
            body,
            header=header,
            activity=self._activity,
            streaming=streaming,
            images=self.tools.images if final else (),
            sources=self.tools.sources if final else (),
            stop_value=self._stop_value,
            retry_value=self._retry_value if final else None,
        )
        return {"text": text, "blocks": blocks}

    def _is_first_slot(self) -> bool:
        return len(self._message_ts) == 1 and not self._current_frozen

    # -- Slack calls -------------------------------------------------------------------------
    async def _post(self, payload: dict[str, Any], *, urgent: bool) -> None:
        resp = await self._call(
            "chat_postMessage",
            dict(
                channel=self._channel,
                thread_ts=self._thread_ts,
                unfurl_links=False,
                unfurl_media=False,
                **payload,
            ),
            budget=False,
            retry=True,
        )
        ts = resp.get("ts") if resp is not None else None
        if ts:
            self._message_ts.append(str(ts))
            self._last_edit = self._clock()
            if self._on_messages is not None:
                await self._on_messages(list(self._message_ts))

    async def _update(self, payload: dict[str, Any], *, urgent: bool, retry: bool) -> None:
        await self._call(
            "chat_update",
            dict(channel=self._channel, ts=self._message_ts[-1], **payload),
            budget=True,
            urgent=urgent,
            retry=retry,
        )
        self._last_edit = self._clock()

    async def _call(
        self,
        method: str,
        kwargs: dict[str, Any],
        *,
        budget: bool,
        urgent: bool = True,
        retry: bool,
    ) -> Any:
        attempts = FINAL_ATTEMPTS if retry else 1
        delay = 0.5
        for attempt in range(1, attempts + 1):
            if budget:
                await self._budget.acquire(self._team, urgent=urgent)
            try:
                return await getattr(self._client, method)(**kwargs)
            except SlackApiError as exc:
                error = str(exc.response.get("error", "")) if exc.response is not None else ""
                status = exc.response.status_code if exc.response is not None else 0
                if self._metrics is not None:
                    self._metrics.slack_errors.labels(method, error or str(status)).inc()
                if error in GONE_ERRORS:
                    self.gone = error
                    log.info("reply in %s/%s is gone: %s", self._channel, self._thread_ts, error)
                    raise ReplyGone(error) from exc
                if status == 429:
                    retry_after = float(exc.response.headers.get("Retry-After", 1) or 1)
                    if budget:
                        self._budget.rate_limited(self._team, retry_after)
                    wait = retry_after
                elif status >= 500 or error in ("internal_error", "fatal_error", "request_timeout"):
                    wait = delay
                else:
                    raise
                if attempt == attempts:
                    raise
                log.warning("%s failed (%s %s); retrying in %.1fs", method, status, error, wait)
                await asyncio.sleep(wait)
                delay = min(delay * 2, 8.0)
            except (aiohttp.ClientError, TimeoutError):
                if attempt == attempts:
                    raise
                await asyncio.sleep(delay)
                delay = min(delay * 2, 8.0)
        return None

    async def _set_status(self, status: str) -> bool:
        try:
            await self._client.assistant_threads_setStatus(
                channel_id=self._channel, thread_ts=self._thread_ts, status=status
            )
            return True
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
            log.debug("setStatus refused: %s", exc)
            return False
