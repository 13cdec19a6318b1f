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
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.glm.events import ToolCall
from bot.metrics import Metrics
from bot.reply.blocks import SECTION_LIMIT, reply_message, tool_appendix
from bot.reply.markup import MarkupFilter
from bot.reply.ratelimit import EditBudget, PostBudget
from bot.reply.render import escape_mrkdwn, render_reply
from bot.reply.split import MIN_LIMIT, fence_repair, split_point
from bot.reply.tools import ToolLedger
from bot.texts import Lang, t

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

MAX_SHRINKS = 4
MIN_SEGMENT = max(MIN_LIMIT, 500)
TOO_LONG_ERRORS = frozenset({"msg_too_long", "msg_blocks_too_long"})


class MessageTooLong(Exception):
    """Slack refused the message size; the streamer splits smaller and tries again."""


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


@dataclass(slots=True)
class _Posted:
    """What this reply looks like in Slack right now (the streamer's side of the thread)."""

    ts: list[str] = field(default_factory=list)  # its messages, oldest first; the last is live
    next_is_new: bool = False  # the live one is full (frozen): the next text goes in a new post
    stale: bool = False  # rolled-over messages hold taken-back reasoning: delete them
    segment: str | None = None  # the Markdown the live message shows
    activity: str | None = None  # the activity line it shows
    at: float = 0.0  # when it was last posted or edited


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
        posts: PostBudget | None = None,
        lang: Lang = "en",
    ) -> None:
        self._lang = lang
        self._reasoning = t("reasoning", lang)
        self._metrics = metrics
        self._posts = posts
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
        self._posted = _Posted()
        self._pending: list[str] = []
        self._segment = ""  # markdown of the message being edited
        self._activity: str | None = None
        self.tools = ToolLedger(lang=lang)

        self._dirty = asyncio.Event()
        self._closing = asyncio.Event()
        self._flusher: asyncio.Task[None] | None = None
        self._status_on = False
        self.gone: str | None = None
        self._retry_value: str | None = None
        self._prepaid = False
        self._opened = False
        self._limit = self._cfg.segment_chars
        self._render_cache: tuple[str | None, str] = (None, "")
        self.first_text_at: float | None = None

    # -- public ------------------------------------------------------------------------------
    @property
    def has_text(self) -> bool:
        return bool(self._segment or self._pending or len(self._posted.ts) > 1)

    async def start(self, status: str | None = None) -> None:
        """Show life at once: a thread status, or a placeholder message where that is refused."""
        status = status or t("status_thinking", self._lang)
        if self._cfg.use_status and await self._set_status(status):
            self._status_on = True
        else:
            await self._post(self._compose("", streaming=True))
        self._budget.open(self._team)
        self._opened = True
        self._flusher = asyncio.create_task(self._run(), name=f"flush:{self._thread_ts}")

    async def set_status(self, status: str) -> None:
        if self._status_on:
            await self._set_status(status)

    def append(self, text: str) -> None:
        visible = self._filter.feed(text)
        if visible.restart:
            self.take_back()
        if visible.text:
            if self._activity == self._reasoning:
                self._activity = None
            self._pending.append(visible.text)
            self.tools.note_text(visible.text)
            self._dirty.set()
        elif self._filter.thinking and self._activity is None:
            self._activity = self._reasoning  # <think> text is never shown, but progress is
            self._dirty.set()

    def take_back(self) -> None:
        """What was shown turned out to be reasoning: the answer starts again from here."""
        self._pending.clear()
        self._segment = ""
        self._posted.stale = len(self._posted.ts) > 1 or self._posted.next_is_new
        self._dirty.set()

    def tool(self, call: ToolCall) -> None:
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
        if not notice and not self.has_text and not self.tools.images:
            notice = t("empty_answer", self._lang)
        try:
            if not self.gone:
                await self._flush(final=True, notice=notice or "")
        except ReplyGone:
            pass
        finally:
            if self._opened:
                self._opened = False
                self._budget.close(self._team)
            if self._status_on:
                await self._set_status("")

    # -- flushing ----------------------------------------------------------------------------
    async def _run(self) -> None:
        try:
            while True:
                await self._dirty.wait()
                if self._closing.is_set():
                    return
                wait = self._posted.at + self._cfg.edit_interval - self._clock()
                if self._posted.ts and wait > 0:
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(wait):
                            await self._closing.wait()
                    if self._closing.is_set():
                        return
                # Wait for the shared budget *before* rendering, so the edit that finally goes
                # out carries the newest text; give up the wait when the reply ends.
                # The first text into a placeholder is urgent: it is paid for in _update.
                editing = bool(self._posted.ts) and not self._posted.next_is_new
                first_text = self._posted.segment in (None, "")
                if editing and not first_text and not await self._routine_token():
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

    async def _routine_token(self) -> bool:
        if not await self._budget.acquire_unless(self._team, self._closing):
            return False
        self._prepaid = True  # a token taken is a token used, by this edit or the final one
        return not self._closing.is_set()

    async def _stop_flusher(self) -> None:
        self._closing.set()
        self._dirty.set()
        if self._flusher is not None:
            await self._flusher
            self._flusher = None

    async def _flush(self, *, final: bool, notice: str = "") -> None:
        if self._posted.stale:
            await self._delete_continuations()
        if self._pending:
            self._segment += "".join(self._pending)
            self._pending.clear()
        if not final and not self._posted.ts and not self._segment and self._status_on:
            # Tools at work before any text: say so in the thread status, post nothing yet.
            if self._activity != self._posted.activity:
                self._posted.activity = self._activity
                await self._set_status(self._activity or t("status_thinking", self._lang))
            return
        for _ in range(MAX_SHRINKS):
            try:
                await self._roll_over(notice if final else "")
                if (
                    final
                    or self._segment != self._posted.segment
                    or self._activity != self._posted.activity
                ):
                    await self._show(self._segment, final=final, notice=notice)
                return
            except MessageTooLong:
                self._limit = max(MIN_SEGMENT, int(self._limit * 0.6))
                log.warning("Slack said the message is too long; splitting at %d", self._limit)
        raise ReplyGone("msg_too_long")

    async def _delete_continuations(self) -> None:
        """Keep the first message (header, Stop button, the one recovery knows) and delete the
        rest, so taken-back reasoning does not stay in the thread."""
        self._posted.stale = False
        first, rest = self._posted.ts[0], self._posted.ts[1:]
        for ts in rest:
            try:
                await self._call(
                    "chat_delete", dict(channel=self._channel, ts=ts), budget=False, retry=True
                )
            except SlackApiError as exc:
                log.warning("could not delete a taken-back message: %s", exc.response.get("error"))
        self._posted.ts = [first]
        self._posted.next_is_new = False
        self._posted.segment = None
        if self._on_messages is not None:
            await self._on_messages(list(self._posted.ts))

    async def _roll_over(self, notice: str) -> None:
        """Freeze finished messages while the current one is over Slack's limits."""
        while (cut := self._cut_point(notice)) is not None:
            close, reopen = fence_repair(self._segment, cut)
            head, rest = self._segment[:cut] + close, reopen + self._segment[cut:]
            if head.strip():
                await self._show(head, final=True, continued=True)
                self._posted.next_is_new = True
            self._segment = rest

    def _cut_point(self, notice: str) -> int | None:
        """Where to end the current message, or None when it fits whole (with ``notice``).

        Measured on the *rendered* text: escaping (``<`` → ``&lt;``) can make it much longer
        than the Markdown, so the cut shrinks until the part fits Slack's limit.
        """
        segment = self._segment
        budget = self._cfg.rendered_limit
        limit = min(self._limit, max(len(segment), MIN_SEGMENT))
        while True:
            cut = split_point(segment, limit) if len(segment) > limit else None
            if cut is None:
                size = len(self._render(segment)) + (len(notice) + 2 if notice else 0)
            else:
                size = len(render_reply(segment[:cut] + fence_repair(segment, cut)[0]))
            if size <= budget or limit <= MIN_SEGMENT:
                return cut
            limit = max(MIN_SEGMENT, min(limit - 1, int(limit * budget / size * 0.95)))

    async def _show(
        self, md: str, *, final: bool, continued: bool = False, notice: str = ""
    ) -> None:
        body = self._render(md)
        if notice:
            body = f"{body}\n\n{notice}" if body else notice
        payload = self._compose(body, streaming=not final, final=final and not continued)
        try:
            await self._deliver(
                payload, first_text=self._posted.segment in (None, "") and bool(md), final=final
            )
        except SlackApiError as exc:
            if not final:
                raise
            # Rich blocks refused (an image Slack could not fetch, say): the final text must
            # still land, so send it as plain mrkdwn with images and sources as links.
            log.warning("final message refused (%s); sending plain text", exc.response.get("error"))
            await self._deliver(self._plain(body), first_text=False, final=True)
        if not continued:
            self._posted.segment = md
            self._posted.activity = self._activity
        if md and self.first_text_at is None:
            self.first_text_at = self._clock()

    async def _deliver(self, payload: dict[str, Any], *, first_text: bool, final: bool) -> None:
        if not self._posted.ts or self._posted.next_is_new:
            await self._post(payload)
            self._posted.next_is_new = False
        else:
            await self._update(payload, urgent=final or first_text, retry=final)

    def _plain(self, body: str) -> dict[str, Any]:
        published = self.tools.published
        outputs = [
            (p.permalink or p.source, p.title) if (p := published.get(o.url)) else (o.url, o.title)
            for o in self.tools.shown_outputs()
        ]
        links = [*outputs, *((s.url, s.title) for s in self.tools.sources)]
        if links:
            body += "\n\n" + "\n".join(
                f"<{escape_mrkdwn(url)}|{escape_mrkdwn(title[:100])}>" for url, title in links
            )
        text = body[:SECTION_LIMIT] or " "
        return {
            "text": text,
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
        }

    def _render(self, md: str) -> str:
        if md != self._render_cache[0]:
            self._render_cache = (md, render_reply(md))
        return self._render_cache[1]

    def _compose(self, body: str, *, streaming: bool, final: bool = False) -> dict[str, Any]:
        header = self._header if not self._posted.ts or self._is_first_slot() else None
        text, blocks = reply_message(
            body,
            header=header,
            activity=self._activity,
            streaming=streaming,
            images=self.tools.unpublished_images() if final else (),
            sources=self.tools.sources if final else (),
            appendix=tool_appendix(self.tools, self._lang) if final else (),
            lang=self._lang,
            stop_value=self._stop_value,
            retry_value=self._retry_value if final else None,
            # 👍/👎 on a finished answer (not on an error notice alone, nor next to Retry).
            feedback_value=self._stop_value if final and self._rateable() else None,
        )
        return {"text": text, "blocks": blocks}

    def _rateable(self) -> bool:
        return bool(self.has_text or self.tools.images) and not self._retry_value

    def _is_first_slot(self) -> bool:
        return len(self._posted.ts) == 1 and not self._posted.next_is_new

    # -- Slack calls -------------------------------------------------------------------------
    async def _post(self, payload: dict[str, Any]) -> None:
        if self._posts is not None:
            await self._posts.acquire(self._channel)
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
            self._posted.ts.append(str(ts))
            self._posted.at = self._clock()
            if self._on_messages is not None:
                await self._on_messages(list(self._posted.ts))

    async def _update(self, payload: dict[str, Any], *, urgent: bool, retry: bool) -> None:
        await self._call(
            "chat_update",
            dict(channel=self._channel, ts=self._posted.ts[-1], **payload),
            budget=True,
            urgent=urgent,
            retry=retry,
        )
        self._posted.at = self._clock()

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
            if budget and self._prepaid:
                self._prepaid = False
            elif budget:
                await self._budget.acquire(self._team, urgent=urgent)
            try:
                return await getattr(self._client, method)(**kwargs)
            except SlackApiError as exc:
                error = str(exc.response.get("error", "")) if exc.response is not None else ""
                status = exc.response.status_code if exc.response is not None else 0
                if self._metrics is not None:
                    self._metrics.slack_errors.labels(method, error or str(status)).inc()
                if error in TOO_LONG_ERRORS:
                    raise MessageTooLong(error) from exc
                if error in GONE_ERRORS:
                    self.gone = error
                    log.info("reply in %s/%s is gone: %s", self._channel, self._thread_ts, error)
                    raise ReplyGone(error) from exc
                if status == 429:
                    retry_after = float(exc.response.headers.get("Retry-After", 1) or 1)
                    if budget:
                        self._budget.rate_limited(self._team, retry_after)
                    elif self._posts is not None:
                        self._posts.rate_limited(self._channel, retry_after)
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
