"""The native view: a reply streamed with ``chat.startStream`` / ``appendStream`` / ``stopStream``.

The stream opens at the first visible text (in channels with ``recipient_user_id`` and
``recipient_team_id``, or Slack refuses); each append carries only the *new* Markdown (at most
12,000 characters a call), at most once per interval, on time rather than after N characters;
``stopStream`` ends it with the final blocks (tool results, sources, feedback or Retry). See
slack-platform-and-peers §2.7. Tool activity shows as the thread's loading message.

When this view cannot finish the reply it says so by raising :class:`HandOver` after doing its
own part in Slack, and the engine goes on with the edit view from :attr:`HandOver.keep`:

* Slack closed the stream (``message_not_in_streaming_state``: after minutes, idle time, or
  our own stop), or streamed text turned out to be reasoning: the stream message is deleted and
  the edit view shows the whole answer (``keep`` = 0);
* the answer outgrew one message: the stream is stopped cleanly at the split rule's cut, with
  an open code fence closed, and the edit view continues from there with the fence reopened.
  Near the end of a message's room only whole lines are streamed, so that cut can be at a line.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError

from bot.action_ids import STOP_ACTION_ID
from bot.reply.blocks import context_block, reply_message, tool_appendix
from bot.reply.calls import FINAL_ATTEMPTS, ReplyGone, SlackCalls, StreamClosed, ThreadStatus
from bot.reply.split import fence_repair, split_point
from bot.reply.state import ReplyState, ReplyTarget
from bot.reply.stream_budgets import StreamBudgets
from bot.texts import t

log = logging.getLogger(__name__)

APPEND_CHARS = 12_000  # Slack's limit per markdown_text
NATIVE_CHARS = 11_000  # one streamed message holds this much; more continues by edit
ROLLOVER_ZONE = 2_000  # within this much of NATIVE_CHARS, only whole lines are streamed


class HandOver(Exception):
    """The edit view takes the reply on from ``keep`` characters of the text (``reopen``
    first: the code fence the stream message closed)."""

    def __init__(self, *, keep: int = 0, reopen: str = "", first_text_at: float | None = None):
        super().__init__(keep)
        self.keep = keep
        self.reopen = reopen
        self.first_text_at = first_text_at  # of the stream message kept, if any


@dataclass(slots=True)
class _Stream:
    """The stream message as Slack has it."""

    ts: str | None = None
    sent: int = 0  # characters of the text already in it
    generation: int = 0  # the text generation streamed (reasoning taken back: a new one)
    requested: bool = False  # startStream was sent (its answer may still be on the way)
    at: float = 0.0  # the last start or append
    activity: str | None = None  # the activity the thread status shows


class NativeView:
    def __init__(
        self,
        *,
        calls: SlackCalls,
        state: ReplyState,
        target: ReplyTarget,
        budgets: StreamBudgets,
        start_prepaid: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._calls = calls
        self._state = state
        self._target = target
        self._budgets = budgets
        self._start_prepaid = start_prepaid
        self._clock = clock
        self._status = ThreadStatus(
            calls.client, channel_id=target.channel_id, thread_ts=target.thread_ts
        )
        self._stream = _Stream(generation=state.text.generation)
        self._stop_promised = False
        self.first_text_at: float | None = None
        self.gone: str | None = None

    # -- the view's side of the engine --------------------------------------------------------
    async def open(self, status: str) -> None:
        self._budgets.promise_stop(self._target.team_id)  # the chooser counted on this stop
        self._stop_promised = True
        await self._status.set(status)

    async def set_status(self, status: str) -> None:
        if self._stream.ts is None:
            await self._status.set(status)

    def ready_at(self, interval: float) -> float | None:
        return self._stream.at + interval if self._stream.ts else None

    async def routine_token(self, ended: asyncio.Event) -> bool:
        """An append token when there is text to append (status changes are free)."""
        if self._stream.ts is None or not self._unsent():
            return True
        return await self._budgets.append.acquire_unless(self._target.team_id, ended)

    async def flush(self) -> None:
        try:
            await self._flush()
        except StreamClosed:
            await self._hand_over(dead=True)

    async def finish(self, notice: str, retry_value: str | None) -> None:
        if self.gone:
            self.close()
            return
        try:
            stream = self._stream
            if stream.ts is None or stream.generation != self._state.text.generation:
                await self._hand_over(dead=True)  # nothing streamed (or reasoning): edit says it
            if len(self._state.text.value) > NATIVE_CHARS:
                await self._hand_over(dead=False)  # stop cleanly, the rest by edit
            if not await self._stop(notice, retry_value):
                await self._hand_over(dead=True)
        finally:
            self.close()

    def close(self) -> None:
        if self._stop_promised:
            self._stop_promised = False
            self._budgets.stop_done(self._target.team_id)

    # -- streaming -----------------------------------------------------------------------------
    def _unsent(self) -> str:
        text = self._state.text.value
        return text[self._stream.sent : _streamable_end(text)]

    async def _flush(self) -> None:
        stream = self._stream
        if stream.requested and stream.generation != self._state.text.generation:
            await self._hand_over(dead=True)  # streamed text was reasoning: it cannot be unsaid
        stream.generation = self._state.text.generation
        activity = self._state.activity
        if activity != stream.activity:
            stream.activity = activity
            status = activity or t("status_thinking", self._target.lang)
            await self._status.set(status, loading=activity is not None)
        text = self._state.text.value
        if len(text) > NATIVE_CHARS:
            await self._hand_over(dead=False)
        end = _streamable_end(text)
        new = text[stream.sent : end]
        if not new:
            return
        if stream.ts is None:
            await self._start_stream(new)
        else:
            prepaid = True  # routine_token paid for the first append
            for piece in _pieces(new):
                await self._append(piece, prepaid=prepaid)
                prepaid = False
        stream.sent = max(stream.sent, end)
        stream.at = self._clock()

    async def _start_stream(self, first: str) -> None:
        target = self._target
        # In order, as slack_sdk's ChatStream sends them (text as a markdown chunk, never beside
        # the markdown_text argument): who answers, the text, then the Stop button.
        chunks: list[dict[str, Any]] = []
        if target.header:
            chunks.append({"type": "blocks", "blocks": [context_block(target.header)]})
        chunks.append({"type": "markdown_text", "text": first[:APPEND_CHARS]})
        if target.stop_value:
            chunks.append({"type": "blocks", "blocks": [self._stop_button()]})
        prepaid, self._start_prepaid = self._start_prepaid, False
        self._stream.requested = True
        try:
            resp = await self._call(
                "chat_startStream",
                budget=self._budgets.start,
                prepaid=prepaid,
                channel=target.channel_id,
                thread_ts=target.thread_ts,
                chunks=chunks,
                # Channels: Slack refuses a stream without these; harmless in DMs.
                recipient_user_id=target.user_id,
                recipient_team_id=target.team_id,
            )
        except SlackApiError as exc:  # refused (a 429 included): the edit view shows the text
            log.info("startStream refused (%s); replying by edit", exc.response.get("error"))
            raise StreamClosed(str(exc.response.get("error"))) from exc
        self._stream.ts = str(resp["ts"])
        self.first_text_at = self._clock()
        if target.on_messages is not None:
            await target.on_messages([self._stream.ts])
        for piece in _pieces(first)[1:]:
            await self._append(piece, prepaid=False)

    async def _append(self, piece: str, *, prepaid: bool) -> None:
        await self._call(
            "chat_appendStream",
            budget=self._budgets.append,
            prepaid=prepaid,
            channel=self._target.channel_id,
            ts=self._stream.ts,
            markdown_text=piece,
        )

    async def _stop(
        self, notice: str | None, retry_value: str | None, *, rest: str | None = None
    ) -> bool:
        """``stopStream`` with the rest of the text and the final blocks (only ``rest`` when
        the edit view continues the answer); False if Slack would not."""
        final = rest is None
        if rest is None:
            rest = self._state.text.value[self._stream.sent :]
        blocks = self._final_blocks(notice, retry_value) if final else []
        try:
            await self._call(
                "chat_stopStream",
                budget=self._budgets.stop,
                attempts=FINAL_ATTEMPTS,
                channel=self._target.channel_id,
                ts=self._stream.ts,
                markdown_text=rest or None,
                blocks=blocks or None,
            )
        except StreamClosed:
            return False
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
            log.warning("stopStream refused: %s", exc)
            return False
        self.close()
        if final:
            self._stream.sent += len(rest)
            await self._status.set("")  # as the edit view does when it ends
        return True

    async def _call(self, method: str, **kwargs: Any) -> Any:
        try:
            return await self._calls.call(method, scope=self._target.team_id, **kwargs)
        except ReplyGone as exc:
            self.gone = exc.error
            raise

    # -- hand-over -----------------------------------------------------------------------------
    async def _hand_over(self, *, dead: bool) -> None:
        """End this view's part in Slack, then hand the reply to the edit view: from where the
        stream message stops (a clean cut), or from the start (the message deleted)."""
        stream = self._stream
        keep, reopen = 0, ""
        if not dead and stream.ts is not None:
            text = self._state.text.value
            cut = split_point(text, NATIVE_CHARS, floor=stream.sent)
            cut = len(text) if cut is None else cut
            close, reopen = fence_repair(text, cut)
            rest = text[stream.sent : cut] + close
            if await self._stop(None, None, rest=rest) and (
                stream.generation == self._state.text.generation
            ):
                keep = cut
        if keep == 0 and stream.ts is not None:
            log.info("native stream in %s ended; continuing by edit", self._target.channel_id)
            with contextlib.suppress(SlackApiError, aiohttp.ClientError, TimeoutError):
                await self._calls.client.chat_delete(channel=self._target.channel_id, ts=stream.ts)
        self.close()
        kept_at = self.first_text_at if keep else None
        raise HandOver(keep=keep, reopen=reopen if keep else "", first_text_at=kept_at)

    # -- blocks --------------------------------------------------------------------------------
    def _final_blocks(self, notice: str | None, retry_value: str | None) -> list[dict[str, Any]]:
        tools = self._state.tools
        rateable = (bool(self._state.text) or bool(tools.images)) and not retry_value
        _, blocks = reply_message(
            " ",
            images=tools.images,
            sources=tools.sources,
            appendix=tool_appendix(tools, self._target.lang),
            footer=notice,
            retry_value=retry_value,
            feedback_value=self._target.stop_value if rateable else None,
            lang=self._target.lang,
        )
        return [b for b in blocks if b.get("type") != "section"]  # the body is the stream

    def _stop_button(self) -> dict[str, Any]:
        _, blocks = reply_message(
            " ", streaming=True, stop_value=self._target.stop_value, lang=self._target.lang
        )
        return next(b for b in blocks if b.get("type") == "actions" and _has_stop(b))


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
