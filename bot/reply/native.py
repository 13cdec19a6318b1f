"""Streams one reply with Slack's native streaming methods, falling back to the edit strategy.

``chat.startStream`` opens the message at the first visible text (in channels with
``recipient_user_id`` and ``recipient_team_id``, or Slack refuses), ``chat.appendStream`` sends
only the *new* Markdown (at most 12,000 characters a call) at most once per ``edit_interval`` —
on time, not after N characters — and ``chat.stopStream`` ends it with the final blocks (tool
results, sources, feedback or Retry). See slack-platform-and-peers §2.7.

Slack closes streams on its own (``message_not_in_streaming_state``: after minutes, after idle
time, or after our own stop). The person must still end with the whole answer, so the reply is
then *handed over* to the edit strategy (``fallback``, a not yet started ``ReplyStreamer``): the
broken stream message is deleted and the edit strategy posts the whole answer and carries on.
A very long answer is handed over the same way, but after a clean ``stopStream``, with only the
rest. GLM tool activity shows as the thread's loading message (``setStatus`` with
``loading_messages``), not as task chunks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.action_ids import STOP_ACTION_ID
from bot.glm.events import ToolCall
from bot.reply.blocks import context_block, reply_message, tool_appendix
from bot.reply.edit import FINAL_ATTEMPTS, GONE_ERRORS
from bot.reply.markup import MarkupFilter
from bot.reply.split import fence_repair, split_point
from bot.reply.stream_budgets import StreamBudgets
from bot.reply.tools import ToolLedger
from bot.reply.view import ReplyView
from bot.texts import Lang, t

log = logging.getLogger(__name__)

APPEND_CHARS = 12_000  # Slack's limit per markdown_text
NATIVE_CHARS = 11_000  # one streamed message holds this much; more continues by edit
ROLLOVER_ZONE = 2_000  # within this much of NATIVE_CHARS, only whole lines are streamed
DEAD_ERRORS = frozenset({"message_not_in_streaming_state", "message_not_found"})


class _StreamDead(Exception):
    """Slack no longer accepts text for this stream; the edit strategy takes over."""


class NativeStreamer:
    def __init__(
        self,
        *,
        client: AsyncWebClient,
        budgets: StreamBudgets,
        team_id: str,
        channel: str,
        thread_ts: str,
        recipient_user_id: str | None,
        fallback: ReplyView,
        header: str | None = None,
        edit_interval: float = 1.0,
        stop_value: str | None = None,
        on_messages: Callable[[list[str]], Awaitable[None]] | None = None,
        start_prepaid: bool = False,
        lang: Lang = "en",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._budgets = budgets
        self._team = team_id
        self._channel = channel
        self._thread_ts = thread_ts
        self._recipient = recipient_user_id
        self._fallback = fallback
        self._header = header
        self._interval = edit_interval
        self._stop_value = stop_value
        self._on_messages = on_messages
        self._start_prepaid = start_prepaid
        self._lang = lang
        self._clock = clock

        self._filter = MarkupFilter()
        self._chunks: list[str] = []
        self._sent = 0  # characters of the visible text already in the stream
        self._ts: str | None = None
        self._handed = False
        self._calls: list[ToolCall] = []
        self._tools = ToolLedger(lang=lang)
        self._activity: str | None = None
        self._shown_activity: str | None = None
        self._dirty = asyncio.Event()
        self._closing = asyncio.Event()
        self._flusher: asyncio.Task[None] | None = None
        self._last_flush = 0.0
        self._stop_promised = True  # Conversations' chooser promised this reply a stopStream
        self._gone: str | None = None
        self._first_text_at: float | None = None
        self._retracted = False  # reasoning was streamed: hand over to the edit strategy
        self._streaming = False  # startStream was sent (its answer may still be on the way)
        budgets.promise_stop(team_id)

    # -- ReplyView -------------------------------------------------------------------------
    @property
    def gone(self) -> str | None:
        return self._gone or (self._fallback.gone if self._handed else None)

    @property
    def tools(self) -> ToolLedger:
        """What the tools produced, as the strategy that shows the end of the reply knows it."""
        return self._fallback.tools if self._handed else self._tools

    @property
    def has_text(self) -> bool:
        return bool(self._chunks) or (self._handed and self._fallback.has_text)

    @property
    def first_text_at(self) -> float | None:
        return self._first_text_at or (self._fallback.first_text_at if self._handed else None)

    async def start(self, status: str | None = None) -> None:
        await self._set_status(status or t("status_thinking", self._lang))
        self._flusher = asyncio.create_task(self._run(), name=f"stream:{self._thread_ts}")

    async def set_status(self, status: str) -> None:
        if self._handed:
            await self._fallback.set_status(status)
        elif self._ts is None:
            await self._set_status(status)

    def append(self, text: str) -> None:
        visible = self._filter.feed(text)
        if visible.restart:
            self.take_back()
        if not visible.text:
            return
        if self._handed:
            self._fallback.append(visible.text)
            return
        self._chunks.append(visible.text)
        self._dirty.set()

    def take_back(self) -> None:
        if self._handed:
            self._fallback.take_back()
            return
        self._chunks.clear()
        # Streamed text cannot be unsaid: the stream message goes, the edit strategy goes on.
        self._retracted = self._streaming  # a stream in flight may already hold that text
        self._sent = 0
        self._dirty.set()

    def tool(self, call: ToolCall) -> None:
        self._calls.append(call)
        if self._handed:
            self._fallback.tool(call)
            return
        activity = self._tools.apply(call)
        if activity:
            self._activity = activity
            self._dirty.set()

    async def finish(self, notice: str | None = None, *, retry_value: str | None = None) -> None:
        await self._stop_flusher()
        tail = self._filter.flush()
        if tail:
            if self._handed:
                self._fallback.append(tail)
            else:
                self._chunks.append(tail)
        try:
            if not self._handed and not self._gone:
                if self._ts is None or self._retracted:
                    await self._hand_over(dead=True)  # nothing streamed: the edit path says it
                elif len(self._text()) > NATIVE_CHARS:
                    await self._hand_over(dead=False)  # stop cleanly, the rest by edit
                elif await self._stop(notice, retry_value):
                    return
                else:
                    await self._hand_over(dead=True)
            if self._handed:
                await self._fallback.finish(notice, retry_value=retry_value)
        finally:
            self._release_stop()

    # -- flushing --------------------------------------------------------------------------
    def _text(self) -> str:
        if len(self._chunks) > 1:
            self._chunks[:] = ["".join(self._chunks)]
        return self._chunks[0] if self._chunks else ""

    async def _run(self) -> None:
        try:
            while True:
                await self._dirty.wait()
                if self._closing.is_set():
                    return
                wait = self._last_flush + self._interval - self._clock()
                if self._ts is not None and wait > 0:
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(wait):
                            await self._closing.wait()
                    if self._closing.is_set():
                        return
                self._dirty.clear()
                try:
                    await self._flush()
                except _StreamDead:
                    await self._hand_over(dead=True)
                    return
                except Exception:  # a progress call may fail; the final one retries
                    log.warning("native stream progress failed", exc_info=True)
                if self._handed or self._gone:
                    return
        except asyncio.CancelledError:
            pass

    async def _flush(self) -> None:
        if self._retracted:
            await self._hand_over(dead=True)
            return
        if self._activity != self._shown_activity:
            self._shown_activity = self._activity
            await self._set_status(self._activity or t("status_thinking", self._lang))
        text = self._text()
        if len(text) > NATIVE_CHARS:
            await self._hand_over(dead=False)
            return
        end = _streamable_end(text)
        new = text[self._sent : end]
        if not new:
            return
        if self._ts is None:
            await self._start_stream(new)
        else:
            if not await self._append_token():
                return
            for piece in _pieces(new):
                await self._stream_call("chat_appendStream", markdown_text=piece)
        self._sent = max(self._sent, end)
        self._last_flush = self._clock()

    async def _append_token(self) -> bool:
        """Wait for an append token, giving the wait up when the reply ends."""
        return await self._budgets.append.acquire_unless(self._team, self._closing)

    async def _start_stream(self, first: str) -> None:
        if self._start_prepaid:
            self._start_prepaid = False
        else:
            await self._budgets.start.acquire(self._team, urgent=True)
        # In order, as slack_sdk's ChatStream sends them (text as a markdown chunk, never beside
        # the markdown_text argument): who answers (the first reply of a thread names its
        # assistant, as the edit strategy does), the text, then the Stop button.
        chunks: list[dict[str, Any]] = []
        if self._header:
            chunks.append({"type": "blocks", "blocks": [context_block(self._header)]})
        chunks.append({"type": "markdown_text", "text": first[:APPEND_CHARS]})
        if self._stop_value:
            chunks.append({"type": "blocks", "blocks": [self._stop_button()]})
        kwargs: dict[str, Any] = {
            "channel": self._channel,
            "thread_ts": self._thread_ts,
            "chunks": chunks,
        }
        if self._recipient is not None:  # channels: Slack refuses a stream without these
            kwargs["recipient_user_id"] = self._recipient
            kwargs["recipient_team_id"] = self._team
        self._streaming = True
        try:
            resp = await self._client.chat_startStream(**kwargs)
        except SlackApiError as exc:
            self._slack_error(exc, self._budgets.start)
            raise _StreamDead(str(exc.response.get("error"))) from exc
        self._ts = str(resp["ts"])
        self._first_text_at = self._clock()
        if self._on_messages is not None:
            await self._on_messages([self._ts])
        for piece in _pieces(first)[1:]:
            await self._stream_call("chat_appendStream", markdown_text=piece)

    async def _stream_call(self, method: str, **kwargs: Any) -> Any:
        assert self._ts is not None
        budget = self._budgets.stop if method == "chat_stopStream" else self._budgets.append
        try:
            return await getattr(self._client, method)(channel=self._channel, ts=self._ts, **kwargs)
        except SlackApiError as exc:
            error = self._slack_error(exc, budget)
            if error in DEAD_ERRORS:
                raise _StreamDead(error) from exc
            raise

    def _slack_error(self, exc: SlackApiError, budget: Any) -> str:
        error = str(exc.response.get("error", "")) if exc.response is not None else ""
        status = exc.response.status_code if exc.response is not None else 0
        if status == 429:
            budget.rate_limited(self._team, float(exc.response.headers.get("Retry-After", 1) or 1))
        if error in GONE_ERRORS - DEAD_ERRORS:
            self._gone = error
        return error

    async def _stop(
        self,
        notice: str | None,
        retry_value: str | None,
        *,
        final: bool = True,
        rest: str | None = None,
    ) -> bool:
        """``stopStream`` with the rest of the text and the final blocks (only ``rest`` when
        the edit strategy continues the answer); False if Slack would not."""
        if rest is None:
            rest = self._text()[self._sent :]
        blocks = self._final_blocks(notice, retry_value) if final else []
        delay = 0.5
        for attempt in range(1, FINAL_ATTEMPTS + 1):
            await self._budgets.stop.acquire(self._team, urgent=True)
            try:
                await self._stream_call(
                    "chat_stopStream", markdown_text=rest or None, blocks=blocks or None
                )
                if final:
                    self._sent += len(rest)
                self._release_stop()
                if final:
                    await self._set_status("")  # as the edit strategy does when it ends
                return True
            except _StreamDead:
                return False
            except SlackApiError as exc:
                status = exc.response.status_code if exc.response is not None else 0
                if status == 429:
                    wait = 0.0  # _stream_call penalised the stop budget: it waits Retry-After
                elif status >= 500 or exc.response.get("error") in (
                    "internal_error",
                    "fatal_error",
                ):
                    wait = delay
                else:
                    log.warning("stopStream refused: %s", exc.response.get("error"))
                    return False
            except (aiohttp.ClientError, TimeoutError):
                wait = delay
            if attempt < FINAL_ATTEMPTS:
                await asyncio.sleep(wait)
                delay = min(delay * 2, 8.0)
        return False

    def _final_blocks(self, notice: str | None, retry_value: str | None) -> list[dict[str, Any]]:
        rateable = (self.has_text or bool(self.tools.images)) and not retry_value
        _, blocks = reply_message(
            " ",
            images=self.tools.images,
            sources=self.tools.sources,
            appendix=tool_appendix(self.tools, self._lang),
            footer=notice,
            retry_value=retry_value,
            feedback_value=self._stop_value if rateable else None,
            lang=self._lang,
        )
        return blocks[1:]  # everything but the body section: the body is the streamed text

    def _stop_button(self) -> dict[str, Any]:
        _, blocks = reply_message(" ", streaming=True, stop_value=self._stop_value, lang=self._lang)
        return next(b for b in blocks if b.get("type") == "actions" and _has_stop(b))

    # -- hand-over to the edit strategy ---------------------------------------------------
    async def _hand_over(self, *, dead: bool) -> None:
        """Give the rest of the reply to the edit strategy.

        Text keeps arriving while Slack is asked to stop or delete the stream, so what the edit
        strategy receives is read from the one ordered record (``_chunks``) only *after* the
        last of those round trips, and handed over in the same step that routes later text to
        it: nothing can land in front of it, nothing is left behind.
        """
        if self._handed:
            return
        keep = 0  # characters of the text the stream message keeps
        reopen = ""
        if not dead and self._ts is not None:
            cut = self._rollover_cut(self._text())
            close, reopen = fence_repair(self._text(), cut)
            if await self._stop_at(cut, close) and not self._retracted:
                keep = cut
        if keep == 0 and self._ts is not None:
            log.info("native stream in %s ended by Slack; continuing by edit", self._channel)
            with contextlib.suppress(SlackApiError, aiohttp.ClientError, TimeoutError):
                await self._client.chat_delete(channel=self._channel, ts=self._ts)
            self._first_text_at = None  # what counts now is the edit strategy's
        replay = self._text()[keep:]
        if keep and replay:
            replay = reopen + replay
        if replay:
            self._fallback.append(replay)
        self._chunks.clear()
        for call in self._calls:
            self._fallback.tool(call)
        self._handed = True  # from here on, new text goes straight to the edit strategy
        self._release_stop()
        await self._fallback.start(self._activity or t("status_thinking", self._lang))

    def _rollover_cut(self, text: str) -> int:
        """Where this message ends when the answer outgrows it: the split rule the edit
        strategy uses (``split_point``), never before what was already streamed."""
        cut = split_point(text, NATIVE_CHARS, floor=self._sent)
        return len(text) if cut is None else cut

    async def _stop_at(self, cut: int, close: str) -> bool:
        """End the stream cleanly with the text up to ``cut`` (closing an open code fence)."""
        rest = self._text()[self._sent : cut] + close
        self._sent = cut
        return await self._stop(None, None, final=False, rest=rest)

    def _release_stop(self) -> None:
        if self._stop_promised:
            self._stop_promised = False
            self._budgets.stop_done(self._team)

    async def _stop_flusher(self) -> None:
        self._closing.set()
        self._dirty.set()
        if self._flusher is not None:
            await self._flusher
            self._flusher = None

    async def _set_status(self, status: str) -> None:
        kwargs: dict[str, Any] = {
            "channel_id": self._channel,
            "thread_ts": self._thread_ts,
            "status": status,
        }
        if self._activity and status == self._activity:
            kwargs["loading_messages"] = [status]
        try:
            await self._client.assistant_threads_setStatus(**kwargs)
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
            log.debug("setStatus refused: %s", exc)


def _streamable_end(text: str) -> int:
    """How much of ``text`` may be streamed now. Near the end of a message's room only whole
    lines go out, so that when the answer rolls over to a new message the split rule can still
    end this one at a line (or paragraph) boundary rather than wherever an append stopped."""
    if len(text) <= NATIVE_CHARS - ROLLOVER_ZONE:
        return len(text)
    line_end = text.rfind("\n") + 1
    return max(line_end, NATIVE_CHARS - ROLLOVER_ZONE)


def _pieces(text: str) -> list[str]:
    return [text[i : i + APPEND_CHARS] for i in range(0, len(text), APPEND_CHARS)] or [""]


def _has_stop(block: dict[str, Any]) -> bool:
    return any(e.get("action_id") == STOP_ACTION_ID for e in block.get("elements") or [])
