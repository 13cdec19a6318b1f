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

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.reply.choose import Replies, ReplyBudgets
from bot.reply.ratelimit import Budgets, LocalStore, Tier
from bot.reply.state import ReplyTarget
from bot.reply.stream_budgets import StreamBudgets
from bot.reply.views.edit import StreamerConfig
from tests.reply.memory_slack import InMemorySlack


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
