"""What one reply is about, and what it has received so far: the records every view reads.

:class:`ReplyText` is the answer as one ordered record. The model's chunks go in through the
markup filter in O(chunk); a view reads :attr:`ReplyText.value` at flush time only. Because
both views read this one record (a native stream up to where it stopped, the edit strategy from
there on), handing a reply over from one to the other moves an *offset*, never text: nothing
that arrives meanwhile can be lost or land out of order.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bot.reply.markup import MarkupFilter
from bot.reply.tools import ToolLedger
from bot.texts import Lang


@dataclass(frozen=True, slots=True)
class ReplyTarget:
    """Where a reply goes and who it is for; fixed for the reply's life."""

    team_id: str
    channel_id: str
    thread_ts: str
    user_id: str  # who asked: a channel stream's recipient
    lang: Lang = "en"
    header: str | None = None  # who answers (the thread's first reply names its assistant)
    stop_value: str | None = None  # the turn id carried by Stop and 👍/👎
    on_messages: Callable[[list[str]], Awaitable[None]] | None = None  # for crash recovery


class ReplyText:
    """The visible answer received so far, in order (model markup already removed)."""

    def __init__(self) -> None:
        self._filter = MarkupFilter()
        self._parts: list[str] = []
        self.generation = 0  # bumped when what was shown turns out to be reasoning

    def feed(self, chunk: str) -> str:
        """Add a raw model chunk; the visible text it added (often all of it, maybe none)."""
        visible = self._filter.feed(chunk)
        if visible.restart:
            self.take_back()
        if visible.text:
            self._parts.append(visible.text)
        return visible.text

    def take_back(self) -> None:
        self._parts.clear()
        self.generation += 1

    def close(self) -> str:
        """The end of the stream: whatever the filter still held back."""
        tail = self._filter.flush()
        if tail:
            self._parts.append(tail)
        return tail

    @property
    def thinking(self) -> bool:
        return self._filter.thinking

    @property
    def value(self) -> str:
        """The whole text; joined here, at flush time, so appending stays O(chunk)."""
        if len(self._parts) > 1:
            self._parts[:] = ["".join(self._parts)]
        return self._parts[0] if self._parts else ""

    def __bool__(self) -> bool:
        return bool(self._parts)


@dataclass(slots=True)
class ReplyState:
    """The reply as both views show it: its text, what the tools produced, what is going on."""

    text: ReplyText = field(default_factory=ReplyText)
    tools: ToolLedger = field(default_factory=ToolLedger)
    activity: str | None = None  # a tool at work, or "Reasoning…"
