"""The edit view: a reply posted in the thread, then edited (``chat.update``, Tier 3).

The first text is *posted* (it spends the per-channel post budget, not the scarce shared edit
budget); then the newest text replaces the message at most once per interval, each edit drawn
from the workspace's :class:`EditBudget`. The final edit carries the complete text and is
retried until it lands. A long answer rolls over to new messages by the one split rule
(``split_point`` + ``fence_repair``), measured on the *rendered* text. Rendering happens only
here, at flush time, and only for the message being edited.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.reply.blocks import SECTION_LIMIT, reply_message, tool_appendix
from bot.reply.calls import FINAL_ATTEMPTS, MessageTooLong, ReplyGone, SlackCalls, ThreadStatus
from bot.reply.ratelimit import EditBudget, PostBudget
from bot.reply.render import escape_mrkdwn, render_reply
from bot.reply.split import MIN_LIMIT, fence_repair, split_point
from bot.reply.state import ReplyState, ReplyTarget
from bot.texts import t

log = logging.getLogger(__name__)

MAX_SHRINKS = 4
MIN_SEGMENT = max(MIN_LIMIT, 500)


@dataclass(frozen=True, slots=True)
class StreamerConfig:
    edit_interval: float = 1.0
    segment_chars: int = 2600  # markdown per message; rendered text must stay under 3,000
    rendered_limit: int = 2900
    use_status: bool = True


@dataclass(slots=True)
class _Posted:
    """What this reply looks like in Slack right now (the view's side of the thread)."""

    ts: list[str] = field(default_factory=list)  # its messages, oldest first; the last is live
    next_is_new: bool = False  # the live one is full (frozen): the next text goes in a new post
    segment: str | None = None  # the Markdown the live message shows
    activity: str | None = None  # the activity line it shows
    at: float = 0.0  # when it was last posted or edited


@dataclass(slots=True)
class _Live:
    """Where the live message's Markdown starts in the reply's text."""

    start: int = 0  # offset into ReplyText.value
    prefix: str = ""  # a reopened code fence, when the previous message ended inside one
    generation: int = 0  # the text generation it belongs to (reasoning taken back: a new one)
    limit: int = 2600  # Markdown characters per message (shrinks when Slack says too long)


@dataclass(slots=True)
class _Flags:
    status_on: bool = False  # the thread status shows life (no placeholder message)
    opened: bool = False  # counted among the workspace's open replies (edit reserve)
    prepaid: bool = False  # a routine edit token is in hand


class EditView:
    def __init__(
        self,
        *,
        calls: SlackCalls,
        state: ReplyState,
        target: ReplyTarget,
        budget: EditBudget,
        posts: PostBudget | None = None,
        config: StreamerConfig | None = None,
        header: str | None = None,
        start: int = 0,
        prefix: str = "",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._calls = calls
        self._state = state
        self._target = target
        self._budget = budget
        self._posts = posts
        self._cfg = config or StreamerConfig()
        self._header = header
        self._clock = clock
        self._status = ThreadStatus(
            calls.client, channel_id=target.channel_id, thread_ts=target.thread_ts
        )
        self._posted = _Posted()
        self._live = _Live(start, prefix, state.text.generation, self._cfg.segment_chars)
        self._flags = _Flags()
        self._render_cache: tuple[str | None, str] = (None, "")
        self.first_text_at: float | None = None
        self.gone: str | None = None

    # -- the view's side of the engine --------------------------------------------------------
    async def open(self, status: str) -> None:
        """Show life at once: a thread status, or a placeholder message where that is refused."""
        if self._cfg.use_status and await self._status.set(status):
            self._flags.status_on = True
        else:
            await self._post(self._compose("", streaming=True))
        self._budget.open(self._target.team_id)
        self._flags.opened = True

    async def set_status(self, status: str) -> None:
        if self._flags.status_on:
            await self._status.set(status)

    def ready_at(self, interval: float) -> float | None:
        return self._posted.at + interval if self._posted.ts else None

    async def routine_token(self, ended: asyncio.Event) -> bool:
        """Wait for the shared budget *before* rendering, so the edit that finally goes out
        carries the newest text; give the wait up when the reply ends. The first text into a
        placeholder is urgent and paid for when it is sent."""
        editing = bool(self._posted.ts) and not self._posted.next_is_new
        if not editing or self._posted.segment in (None, ""):
            return True
        if not await self._budget.acquire_unless(self._target.team_id, ended):
            return False
        self._flags.prepaid = True  # a token taken is a token used, by this edit or the final
        return not ended.is_set()

    async def flush(self) -> None:
        await self._flush(final=False)

    async def finish(self, notice: str, retry_value: str | None) -> None:
        """Final edits: complete text (plus ``notice``), retried until they land."""
        try:
            if not self.gone:
                await self._flush(final=True, notice=notice, retry_value=retry_value)
        except ReplyGone as exc:
            self.gone = exc.error
        finally:
            self.close()
            if self._flags.status_on:
                await self._status.set("")

    def close(self) -> None:
        if self._flags.opened:
            self._flags.opened = False
            self._budget.close(self._target.team_id)

    # -- flushing ------------------------------------------------------------------------------
    def _segment(self) -> str:
        """The Markdown of the live message: the text from where it starts."""
        text = self._state.text
        if text.generation != self._live.generation:  # reasoning was taken back
            self._live.generation = text.generation
            self._live.start, self._live.prefix = 0, ""
        return self._live.prefix + text.value[self._live.start :]

    async def _flush(
        self, *, final: bool, notice: str = "", retry_value: str | None = None
    ) -> None:
        if self._state.text.generation != self._live.generation and (
            len(self._posted.ts) > 1 or self._posted.next_is_new
        ):
            await self._delete_continuations()
        segment = self._segment()
        activity = self._state.activity
        if not final and not self._posted.ts and not segment and self._flags.status_on:
            # Tools at work before any text: say so in the thread status, post nothing yet.
            if activity != self._posted.activity:
                self._posted.activity = activity
                await self._status.set(activity or t("status_thinking", self._target.lang))
            return
        for _ in range(MAX_SHRINKS):
            try:
                segment = await self._roll_over(segment, notice if final else "")
                if final or segment != self._posted.segment or activity != self._posted.activity:
                    await self._show(segment, final=final, notice=notice, retry_value=retry_value)
                return
            except MessageTooLong:
                self._live.limit = max(MIN_SEGMENT, int(self._live.limit * 0.6))
                log.warning("Slack said the message is too long; splitting at %d", self._live.limit)
                segment = self._segment()
        raise ReplyGone("msg_too_long")

    async def _delete_continuations(self) -> None:
        """Keep the first message (header, Stop button, the one recovery knows) and delete the
        rest, so taken-back reasoning does not stay in the thread."""
        first, rest = self._posted.ts[0], self._posted.ts[1:]
        for ts in rest:
            try:
                await self._calls.call(
                    "chat_delete", channel=self._target.channel_id, ts=ts, attempts=FINAL_ATTEMPTS
                )
            except ReplyGone:
                pass  # deleted already
            except SlackApiError as exc:
                log.warning("could not delete a taken-back message: %s", exc.response.get("error"))
        self._posted.ts = [first]
        self._posted.next_is_new = False
        self._posted.segment = None
        if self._target.on_messages is not None:
            await self._target.on_messages(list(self._posted.ts))

    async def _roll_over(self, segment: str, notice: str) -> str:
        """Freeze finished messages while the live one is over Slack's limits; the rest."""
        while (cut := self._cut_point(segment, notice)) is not None:
            close, reopen = fence_repair(segment, cut)
            head = segment[:cut] + close
            if head.strip():
                await self._show(head, final=True, continued=True)
                self._posted.next_is_new = True
            self._live.start += max(1, cut - len(self._live.prefix))
            self._live.prefix = reopen
            segment = self._segment()
        return segment

    def _cut_point(self, segment: str, notice: str) -> int | None:
        """Where to end the live message, or None when it fits whole (with ``notice``).

        Measured on the *rendered* text: escaping (``<`` → ``&lt;``) can make it much longer
        than the Markdown, so the cut shrinks until the part fits Slack's limit.
        """
        budget = self._cfg.rendered_limit
        limit = min(self._live.limit, max(len(segment), MIN_SEGMENT))
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
        self,
        md: str,
        *,
        final: bool,
        continued: bool = False,
        notice: str = "",
        retry_value: str | None = None,
    ) -> None:
        body = self._render(md)
        if notice:
            body = f"{body}\n\n{notice}" if body else notice
        last = final and not continued
        payload = self._compose(body, streaming=not final, final=last, retry_value=retry_value)
        first_text = self._posted.segment in (None, "") and bool(md)
        try:
            await self._deliver(payload, first_text=first_text, final=final)
        except SlackApiError as exc:
            if not final:
                raise
            # Rich blocks refused (an image Slack could not fetch, say): the final text must
            # still land, so send it as plain mrkdwn with images and sources as links.
            log.warning("final message refused (%s); sending plain text", exc.response.get("error"))
            await self._deliver(self._plain(body), first_text=False, final=True)
        if not continued:
            self._posted.segment = md
            self._posted.activity = self._state.activity
        if md and self.first_text_at is None:
            self.first_text_at = self._clock()

    async def _deliver(self, payload: dict[str, Any], *, first_text: bool, final: bool) -> None:
        if not self._posted.ts or self._posted.next_is_new:
            await self._post(payload)
            self._posted.next_is_new = False
        else:
            await self._update(payload, urgent=final or first_text, retry=final)

    def _plain(self, body: str) -> dict[str, Any]:
        tools = self._state.tools
        published = tools.published
        outputs = [
            (p.permalink or p.source, p.title) if (p := published.get(o.url)) else (o.url, o.title)
            for o in tools.shown_outputs()
        ]
        links = [*outputs, *((s.url, s.title) for s in tools.sources)]
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

    def _compose(
        self, body: str, *, streaming: bool, final: bool = False, retry_value: str | None = None
    ) -> dict[str, Any]:
        tools, lang = self._state.tools, self._target.lang
        first_slot = len(self._posted.ts) == 1 and not self._posted.next_is_new
        header = self._header if not self._posted.ts or first_slot else None
        rateable = bool(self._state.text or tools.images) and not retry_value
        text, blocks = reply_message(
            body,
            header=header,
            activity=self._state.activity,
            streaming=streaming,
            images=tools.unpublished_images() if final else (),
            sources=tools.sources if final else (),
            appendix=tool_appendix(tools, lang) if final else (),
            lang=lang,
            stop_value=self._target.stop_value,
            retry_value=retry_value if final else None,
            # 👍/👎 on a finished answer (not on an error notice alone, nor next to Retry).
            feedback_value=self._target.stop_value if final and rateable else None,
        )
        return {"text": text, "blocks": blocks}

    # -- Slack calls -----------------------------------------------------------------------------
    async def _post(self, payload: dict[str, Any]) -> None:
        channel = self._target.channel_id
        resp = await self._call(
            "chat_postMessage",
            budget=self._posts,
            scope=channel,
            attempts=FINAL_ATTEMPTS,
            channel=channel,
            thread_ts=self._target.thread_ts,
            unfurl_links=False,
            unfurl_media=False,
            **payload,
        )
        ts = resp.get("ts") if resp is not None else None
        if ts:
            self._posted.ts.append(str(ts))
            self._posted.at = self._clock()
            if self._target.on_messages is not None:
                await self._target.on_messages(list(self._posted.ts))

    async def _update(self, payload: dict[str, Any], *, urgent: bool, retry: bool) -> None:
        prepaid, self._flags.prepaid = self._flags.prepaid, False
        await self._call(
            "chat_update",
            budget=self._budget,
            scope=self._target.team_id,
            urgent=urgent,
            prepaid=prepaid,
            attempts=FINAL_ATTEMPTS if retry else 1,
            channel=self._target.channel_id,
            ts=self._posted.ts[-1],
            **payload,
        )
        self._posted.at = self._clock()

    async def _call(self, method: str, **kwargs: Any) -> Any:
        try:
            return await self._calls.call(method, **kwargs)
        except ReplyGone as exc:
            self.gone = exc.error
            log.info("reply in %s is gone: %s", self._target.channel_id, exc.error)
            raise
