"""The reply engine: the one place that knows how a reply is paced, ended and handed over.

What both strategies do alike lives here; how Slack is called lives in the two views
(:mod:`bot.reply.views.edit`: post, update, delete; :mod:`bot.reply.views.native`: start,
append, stop), which share :class:`~bot.reply.calls.SlackCalls` for budgets and retries.

* Text arrives in O(chunk) into one ordered record (:class:`~bot.reply.state.ReplyText`); a
  view reads it at flush time only.
* One flusher task per reply: never two Slack calls in flight for one reply, at most one flush
  per ``interval`` after the first text, and the view's routine token is waited for *before*
  the flush, so what finally goes out is the newest text. The wait is given up when the reply
  ends: the final call goes urgent instead.
* :meth:`finish` makes the view end the reply with the whole answer, retried until it lands.
* A native view that cannot go on raises :class:`~bot.reply.views.native.HandOver`; the engine
  then continues with an edit view from the offset it names. The text never moves, so whatever
  arrives meanwhile is neither lost nor reordered.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Protocol

from bot.glm.events import ToolCall
from bot.reply.calls import ReplyGone
from bot.reply.state import ReplyState
from bot.reply.tools import ToolLedger
from bot.reply.views.native import HandOver
from bot.texts import Lang, t

log = logging.getLogger(__name__)


class View(Protocol):
    """How one strategy shows a reply in Slack; the engine drives it."""

    first_text_at: float | None
    gone: str | None

    async def open(self, status: str) -> None:
        """Show life at once (a thread status or a placeholder)."""

    async def set_status(self, status: str) -> None: ...

    def ready_at(self, interval: float) -> float | None:
        """When the next routine flush may go (None: at once)."""

    async def routine_token(self, ended: asyncio.Event) -> bool:
        """Pay for a routine flush; False when ``ended`` was set first."""

    async def flush(self) -> None:
        """Show the newest state (may raise HandOver or ReplyGone)."""

    async def finish(self, notice: str, retry_value: str | None) -> None:
        """The whole answer plus ``notice``, retried until it lands (may raise HandOver)."""

    def close(self) -> None:
        """Give back what the view holds of the workspace's budgets."""


Fallback = Callable[[HandOver], View]


class ReplyEngine:
    """A :class:`~bot.reply.view.ReplyView` over one view at a time."""

    def __init__(
        self,
        *,
        view: View,
        state: ReplyState,
        interval: float,
        lang: Lang = "en",
        fallback: Fallback | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._view = view
        self._state = state
        self._interval = interval
        self._lang = lang
        self._fallback = fallback
        self._clock = clock
        self._dirty = asyncio.Event()
        self._closing = asyncio.Event()
        self._flusher: asyncio.Task[None] | None = None
        self._kept_first_text: float | None = None  # a handed-over stream message's

    # -- ReplyView ---------------------------------------------------------------------------
    @property
    def view(self) -> View:
        return self._view

    @property
    def gone(self) -> str | None:
        return self._view.gone

    @property
    def first_text_at(self) -> float | None:
        return self._kept_first_text or self._view.first_text_at

    @property
    def has_text(self) -> bool:
        return bool(self._state.text)

    @property
    def tools(self) -> ToolLedger:
        return self._state.tools

    async def start(self, status: str | None = None) -> None:
        await self._view.open(status or t("status_thinking", self._lang))
        self._flusher = asyncio.create_task(self._run(), name="reply-flusher")

    async def set_status(self, status: str) -> None:
        await self._view.set_status(status)

    def append(self, text: str) -> None:
        state = self._state
        if visible := state.text.feed(text):
            state.tools.note_text(visible)
            if state.activity == t("reasoning", self._lang):
                state.activity = None
            self._dirty.set()
        elif state.text.thinking and state.activity is None:
            state.activity = t("reasoning", self._lang)  # <think> is never shown; progress is
            self._dirty.set()

    def take_back(self) -> None:
        self._state.text.take_back()
        self._dirty.set()

    def tool(self, call: ToolCall) -> None:
        activity = self._state.tools.apply(call)
        if activity:
            self._state.activity = activity
            self._dirty.set()

    async def finish(self, notice: str | None = None, *, retry_value: str | None = None) -> None:
        await self._stop_flusher()
        self._state.text.close()
        if not notice and not self._state.text and not self._state.tools.images:
            notice = t("empty_answer", self._lang)
        while True:
            try:
                await self._view.finish(notice or "", retry_value)
                return
            except HandOver as handover:
                await self._hand_over(handover)
            except ReplyGone:
                return  # the view recorded it: nothing more can be shown

    # -- pacing ------------------------------------------------------------------------------
    async def _run(self) -> None:
        try:
            while not self._closing.is_set():
                await self._dirty.wait()
                if self._closing.is_set():
                    return
                ready = self._view.ready_at(self._interval)
                if ready is not None and (wait := ready - self._clock()) > 0:
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(wait):
                            await self._closing.wait()
                    if self._closing.is_set():
                        return
                if not await self._view.routine_token(self._closing):
                    return
                self._dirty.clear()
                try:
                    await self._view.flush()
                except HandOver as handover:
                    await self._hand_over(handover)
                except ReplyGone:
                    return
                except Exception:  # a progress call may fail; the final one retries
                    log.warning("reply progress failed", exc_info=True)
                if self._view.gone:
                    return
        except asyncio.CancelledError:
            pass

    async def _stop_flusher(self) -> None:
        self._closing.set()
        self._dirty.set()
        if self._flusher is not None:
            await self._flusher
            self._flusher = None

    async def _hand_over(self, handover: HandOver) -> None:
        if self._fallback is None:
            raise RuntimeError("a view handed over, but this reply has no fallback")
        self._kept_first_text = handover.first_text_at
        self._view.close()
        self._view = self._fallback(handover)
        self._fallback = None
        await self._view.open(self._state.activity or t("status_thinking", self._lang))
        self._dirty.set()  # show what arrived meanwhile
