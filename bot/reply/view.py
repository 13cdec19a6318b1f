"""The small interface the turn drives to show one reply, whatever the strategy.

:class:`bot.reply.engine.ReplyEngine` satisfies it whatever its view (post, then coalesced
``chat.update`` edits; or ``chat.startStream`` / ``appendStream`` / ``stopStream``), so
``Conversations`` never knows which one it has.
"""

from __future__ import annotations

from typing import Protocol

from bot.glm.events import ToolCall
from bot.reply.tools import ToolLedger


class ReplyView(Protocol):
    @property
    def gone(self) -> str | None:
        """Set when the reply can no longer be shown (deleted message, access lost)."""

    @property
    def first_text_at(self) -> float | None:
        """Monotonic time the first text became visible."""

    @property
    def has_text(self) -> bool: ...

    @property
    def tools(self) -> ToolLedger:
        """Sources, images and files the tools produced, shown at the end of the reply."""

    async def start(self, status: str | None = None) -> None:
        """Show life at once (a thread status); no message yet."""

    async def set_status(self, status: str) -> None: ...

    def append(self, text: str) -> None:
        """Raw model text, in O(chunk); shown on the strategy's own schedule."""

    def take_back(self) -> None:
        """What was shown turned out to be reasoning (a ``</think>`` with no opening tag): the
        answer starts again from the next text."""

    def tool(self, call: ToolCall) -> None: ...

    async def finish(self, notice: str | None = None, *, retry_value: str | None = None) -> None:
        """End the reply with the whole answer (plus ``notice``), retried until it lands; a
        Stop, an error or a shutdown end a reply through here too."""
