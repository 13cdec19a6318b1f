"""Property: whenever Slack refuses a native stream, and whatever arrives meanwhile, the person
ends with exactly the text the model sent, in order (issue 14, defect 1).

The two real strategies run against an in-memory Slack that answers each call after a drawn
number of event-loop turns, so Hypothesis explores *interleavings* (text arriving while a
refused append, the delete or the hand-over's status call is in flight) deterministically and
fast, rather than wall-clock timings. The end-to-end twin, over HTTP against the fake Slack, is
``test_a_hand_over_keeps_the_order_of_text_arriving_while_slack_refuses``.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_sdk.errors import SlackApiError

from bot.reply.choose import Replies, ReplyBudgets
from bot.reply.ratelimit import Budgets, LocalStore, Tier
from bot.reply.state import ReplyTarget
from bot.reply.stream_budgets import StreamBudgets
from bot.reply.views.edit import StreamerConfig

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


class InMemorySlack:
    """The calls both strategies make, each answered after ``lag()`` loop turns; appends and
    stops after ``refuse_after`` successful appends get ``message_not_in_streaming_state``."""

    def __init__(self, lags: list[int], refuse_after: int) -> None:
        self._lags = itertools.cycle(lags)
        self._refuse_after = refuse_after
        self._appends = 0
        self._ts = 0
        self.messages: dict[str, _Message] = {}

    async def _lag(self) -> None:
        for _ in range(next(self._lags)):
            await asyncio.sleep(0)

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
        """The thread as a person reads it: messages in order, each one's text."""
        parts = []
        for msg in self.messages.values():
            assert not msg.streaming
            body = "".join(b["text"]["text"] for b in msg.blocks if b["type"] == "section").strip()
            parts.append(msg.markdown.strip() or body)
        return "".join(parts)


def _budgets() -> tuple[StreamBudgets, Budgets]:
    shared = Budgets(LocalStore(), margin=1.0)
    roomy = Tier(10_000, 10_000)
    return (
        StreamBudgets(
            start=shared.budget("chat.startStream", roomy),
            stop=shared.budget("chat.stopStream", roomy),
            append=shared.budget("chat.appendStream", roomy),
        ),
        shared,
    )


words = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    chunks=st.lists(words.map(lambda w: w + " "), min_size=1, max_size=40),
    gaps=st.lists(st.integers(0, 6), min_size=1, max_size=12),
    lags=st.lists(st.integers(0, 8), min_size=1, max_size=12),
    refuse_after=st.integers(0, 12),
)
def test_a_refused_stream_ends_with_exactly_the_models_text(
    chunks: list[str], gaps: list[int], lags: list[int], refuse_after: int
) -> None:
    async def scenario() -> str:
        slack = InMemorySlack(lags, refuse_after)
        stream, shared = _budgets()
        replies = Replies(
            mode="native",
            budgets=ReplyBudgets(
                edits=shared.edits(per_minute=10_000, burst=10_000),
                posts=None,
                streams=stream,
            ),
            config=StreamerConfig(edit_interval=0.0),
        )
        target = ReplyTarget(team_id="T1", channel_id="D1", thread_ts="1.000001", user_id="U1")
        native = await replies.open(target, client=slack)  # type: ignore[arg-type]
        await native.start()
        for chunk, gap in zip(chunks, itertools.cycle(gaps), strict=False):
            native.append(chunk)
            for _ in range(gap):
                await asyncio.sleep(0)
        async with asyncio.timeout(10):
            await native.finish()
        return slack.shown()

    assert asyncio.run(scenario()) == "".join(chunks).strip()
