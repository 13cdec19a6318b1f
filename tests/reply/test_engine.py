"""The reply engine's pacing and ending, with the real views over an in-memory Slack."""

from __future__ import annotations

import asyncio
import itertools

from bot.reply.choose import Replies, ReplyBudgets
from bot.reply.engine import ReplyEngine
from bot.reply.ratelimit import Budgets, LocalStore, Tier
from bot.reply.state import ReplyTarget
from bot.reply.stream_budgets import StreamBudgets
from bot.reply.views.edit import StreamerConfig
from tests.reply.memory_slack import InMemorySlack

TARGET = ReplyTarget(team_id="T1", channel_id="C1", thread_ts="1.000001", user_id="U1")


async def _engine(
    slack: InMemorySlack, *, mode: str = "edit", interval: float = 0.0, **config: int
) -> ReplyEngine:
    shared = Budgets(LocalStore())
    roomy = Tier(10_000, 10_000)
    streams = StreamBudgets(
        start=shared.budget("chat.startStream", roomy),
        stop=shared.budget("chat.stopStream", roomy),
        append=shared.budget("chat.appendStream", roomy),
    )
    replies = Replies(
        mode=mode,  # type: ignore[arg-type]
        budgets=ReplyBudgets(
            edits=shared.edits(per_minute=10_000, burst=10_000), posts=None, streams=streams
        ),
        config=StreamerConfig(edit_interval=interval, **config),  # type: ignore[arg-type]
    )
    return await replies.open(TARGET, client=slack)  # type: ignore[arg-type]


async def test_one_call_in_flight_and_flushes_spaced_by_the_interval() -> None:
    slack = InMemorySlack([3])
    engine = await _engine(slack, interval=0.05)
    await engine.start()
    for i in range(40):
        engine.append(f"word{i} ")
        await asyncio.sleep(0.005)
    async with asyncio.timeout(5):
        await engine.finish()
    assert slack.max_in_flight == 1, "never two Slack calls in flight for one reply"
    edits = [at for method, at in slack.calls if method in ("chat_postMessage", "chat_update")]
    routine = edits[:-1]  # the final edit goes at once
    assert len(routine) >= 2
    gaps = [b - a for a, b in itertools.pairwise(routine)]
    assert min(gaps) >= 0.05 * 0.9, gaps
    assert slack.shown() == "".join(f"word{i} " for i in range(40)).strip()


async def test_appending_is_cheap_and_rendering_waits_for_the_flush() -> None:
    """Hundreds of chunks between two flushes cost one flush, not hundreds."""
    slack = InMemorySlack([0])
    engine = await _engine(slack, interval=10.0)
    await engine.start()
    engine.append("first ")
    async with asyncio.timeout(5):
        await slack.wait_for(lambda: slack.count("chat_postMessage") > 0)
    for i in range(500):
        engine.append(f"{i} ")  # about 1,900 characters: one message
    async with asyncio.timeout(5):
        await engine.finish()
    assert slack.count("chat_postMessage") == 1 and slack.count("chat_update") == 1


async def test_taken_back_reasoning_removes_the_messages_it_rolled_over_into() -> None:
    slack = InMemorySlack([0])
    engine = await _engine(slack, segment_chars=600, rendered_limit=700)
    await engine.start()
    for i in range(60):
        engine.append(f"thinking step {i} ")
        await asyncio.sleep(0)
    async with asyncio.timeout(5):
        await slack.wait_for(lambda: len(slack.messages) >= 2)
    engine.append("</think>The answer.")
    async with asyncio.timeout(5):
        await engine.finish()
    assert slack.shown() == "The answer."
    assert slack.count("chat_delete") >= 1


async def test_a_native_reply_that_outgrows_a_message_continues_by_edit_at_a_line() -> None:
    slack = InMemorySlack([1])
    engine = await _engine(slack, mode="native")
    await engine.start()
    lines = [f"line {n} with some words in it" for n in range(500)]
    for line in lines:
        engine.append(line + "\n")
        await asyncio.sleep(0)
    async with asyncio.timeout(10):
        await engine.finish()
    stream, *edits = slack.messages.values()
    assert stream.markdown.endswith("\n") and edits
    shown = [ln for m in slack.messages.values() for ln in m.text().split("\n")]
    assert shown == lines
