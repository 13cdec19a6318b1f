"""An in-memory Slack for the reply engine's own tests: the calls both views make, answered
after a chosen number of event-loop turns, so tests explore *interleavings* deterministically
instead of wall-clock timings. End-to-end tests use the HTTP fake in ``tests/fakes``."""

from __future__ import annotations

import asyncio
import itertools
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.errors import SlackApiError

JSON = dict[str, Any]


@dataclass
class _Response:
    data: JSON
    status_code: int = 200
    headers: dict[str, str] = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def __getitem__(self, key: str) -> Any:
        return self.data[key]


@dataclass
class _Message:
    ts: str
    markdown: str = ""  # native stream text
    blocks: list[JSON] = field(default_factory=list)  # edit strategy's rendered blocks
    streaming: bool = False

    def text(self) -> str:
        """What a person reads in it: the streamed Markdown, or the body section's mrkdwn."""
        assert not self.streaming, "a stream left open"
        body = "".join(b["text"]["text"] for b in self.blocks if b["type"] == "section")
        return self.markdown.strip() or body.strip()


class InMemorySlack:
    """The calls both strategies make, each answered after ``lag()`` loop turns; appends and
    stops after ``refuse_after`` successful appends get ``message_not_in_streaming_state``."""

    def __init__(self, lags: list[int], refuse_after: int = 1_000_000) -> None:
        self._lags = itertools.cycle(lags)
        self._refuse_after = refuse_after
        self._appends = 0
        self._ts = 0
        self.messages: dict[str, _Message] = {}
        self.calls: list[tuple[str, float]] = []  # (method, loop time when it arrived)
        self.in_flight = 0
        self.max_in_flight = 0
        self._answered = asyncio.Event()

    async def _lag(self) -> None:
        method = sys._getframe(1).f_code.co_name
        self.calls.append((method, asyncio.get_running_loop().time()))
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            for _ in range(next(self._lags)):
                await asyncio.sleep(0)
        finally:
            self.in_flight -= 1
            self._answered.set()  # waiters run after this call's (synchronous) effect

    async def wait_for(self, predicate: Callable[[], bool]) -> None:
        """Until ``predicate()`` holds after some call; bound it with ``asyncio.timeout``."""
        while not predicate():
            self._answered.clear()
            await self._answered.wait()

    def count(self, method: str) -> int:
        return sum(1 for name, _ in self.calls if name == method)

    def _new(self) -> _Message:
        self._ts += 1
        msg = _Message(ts=f"2.{self._ts:06d}")
        self.messages[msg.ts] = msg
        return msg

    async def chat_startStream(self, **kw: Any) -> _Response:
        await self._lag()
        msg = self._new()
        msg.streaming = True
        msg.markdown = "".join(c["text"] for c in kw["chunks"] if c["type"] == "markdown_text")
        return _Response({"ok": True, "ts": msg.ts})

    async def chat_appendStream(self, *, ts: str, markdown_text: str, **_: Any) -> _Response:
        await self._lag()
        msg = self.messages[ts]
        if self._appends >= self._refuse_after:
            msg.streaming = False
        if not msg.streaming:
            err = _Response({"ok": False, "error": "message_not_in_streaming_state"})
            raise SlackApiError("refused", err)
        self._appends += 1
        msg.markdown += markdown_text
        return _Response({"ok": True, "ts": ts})

    async def chat_stopStream(self, *, ts: str, markdown_text: str | None = None, **_: Any) -> Any:
        await self._lag()
        msg = self.messages[ts]
        if self._appends >= self._refuse_after or not msg.streaming:
            msg.streaming = False
            err = _Response({"ok": False, "error": "message_not_in_streaming_state"})
            raise SlackApiError("refused", err)
        msg.markdown += markdown_text or ""
        msg.streaming = False
        return _Response({"ok": True, "ts": ts})

    async def chat_delete(self, *, ts: str, **_: Any) -> _Response:
        await self._lag()
        self.messages.pop(ts, None)
        return _Response({"ok": True})

    async def chat_postMessage(self, *, blocks: list[JSON], **_: Any) -> _Response:
        await self._lag()
        msg = self._new()
        msg.blocks = blocks
        return _Response({"ok": True, "ts": msg.ts})

    async def chat_update(self, *, ts: str, blocks: list[JSON], **_: Any) -> _Response:
        await self._lag()
        self.messages[ts].blocks = blocks
        return _Response({"ok": True, "ts": ts})

    async def assistant_threads_setStatus(self, **_: Any) -> _Response:
        await self._lag()
        return _Response({"ok": True})

    def shown(self) -> str:
        """The thread as a person reads it: the messages' texts, concatenated."""
        return "".join(msg.text() for msg in self.messages.values())
