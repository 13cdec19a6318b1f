"""The GLM stream's edge cases, end to end: how a stream may end, and what may arrive in it.

Wire notes (docs/glm-assistant-api.md): §0 and §2.1 say clients must accept both endings, the
completed chunk then EOF or ``data: [DONE]``, and also EOF without a final chunk; §2.7 gives the
generic in-stream ``{"error":{...}}`` event; ``GLM_TOTAL_TIMEOUT`` bounds a whole answer however
busy the stream is. Each case asserts what the person in Slack ends up reading.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.action_ids import RETRY_ACTION_ID
from tests.conftest import RunningBot
from tests.fakes import FakeGLM, FakeSlack, Message, Reply, mention_event

JSON = dict[str, Any]


def only_reply(fake: FakeSlack, event: JSON) -> Message:
    replies = fake.thread_replies_by_bot(event["channel"], event["ts"])
    assert len(replies) == 1, fake.describe_calls()
    return replies[0]


def has_retry(message: Message) -> bool:
    return any(
        e.get("action_id") == RETRY_ACTION_ID
        for b in message.blocks or []
        if b["type"] == "actions"
        for e in b["elements"]
    )


@pytest.mark.parametrize(
    "reply",
    [
        Reply(chunks=["Hello", " from", " GLM."], done_marker=True),
        Reply(chunks=["Hello", " from", " GLM."], done_marker=True, final_chunk=False),
        Reply(chunks=["Hello", " from", " GLM."], final_chunk=False),
    ],
    ids=["completed-then-DONE", "DONE-without-final-chunk", "EOF-without-final-chunk"],
)
async def test_every_normal_ending_gives_the_whole_answer(
    running_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM, reply: Reply
) -> None:
    fake_glm.enqueue(reply)
    event = mention_event("hello")
    await running_bot.slack.event(event)
    await running_bot.wait_handled(1)
    message = only_reply(fake_slack, event)
    assert message.text == "Hello from GLM."
    assert not has_retry(message)
    assert len(await running_bot.bot.repo.replies_with_status("done")) == 1
    assert len(fake_glm.requests) == 1


async def test_an_undecodable_chunk_keeps_the_partial_answer_and_says_why(
    running_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    fake_glm.enqueue(
        Reply(chunks=["partial ", "answer", " never shown"], garbage_after=2, chunk_delay=0.05)
    )
    event = mention_event("hello")
    await running_bot.slack.event(event)
    await running_bot.wait_handled(1)
    message = only_reply(fake_slack, event)
    assert message.text == (
        "partial answer\n\n"
        ":warning: GLM error: the GLM service sent a response the bot could not read"
    )
    assert len(await running_bot.bot.repo.replies_with_status("failed")) == 1
    assert len(fake_glm.requests) == 1, "never retried once text was shown"


async def test_an_error_object_inside_the_stream_keeps_the_partial_answer_and_offers_retry(
    running_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    fake_glm.enqueue(Reply(chunks=["partial ", "answer", " never sent"], error_after=2))
    event = mention_event("hello")
    await running_bot.slack.event(event)
    await running_bot.wait_handled(1)
    message = only_reply(fake_slack, event)
    assert message.text == (
        "partial answer\n\n"
        ":warning: GLM error 1302: too many requests right now, please try again in a moment"
    )
    assert has_retry(message), "a rate limit is worth another try"
    assert len(fake_glm.requests) == 1, "never retried automatically once text was shown"


@pytest.fixture
async def bot_with_total_timeout(
    bot_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[RunningBot]:
    monkeypatch.setenv("GLM_TOTAL_TIMEOUT", "1")  # the idle timeout (5 s) is never reached
    bot = await RunningBot().start()
    yield bot
    await bot.stop()


async def test_total_timeout_ends_a_busy_stream_and_hangs_up(
    bot_with_total_timeout: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    # A chunk every 0.1 s for 20 s: never idle, but far past the 1 s total.
    chunks = [f"w{i} " for i in range(200)]
    fake_glm.enqueue(Reply(chunks=chunks, chunk_delay=0.1))
    event = mention_event("hello")
    await bot_with_total_timeout.slack.event(event)
    await bot_with_total_timeout.wait_handled(1, timeout=15)
    stream = await fake_glm.wait_for_stream_state("client_closed", "completed", timeout=10)
    assert stream.state == "client_closed", "the bot hung up on GLM"
    assert len(stream.events) < len(chunks)
    message = only_reply(fake_slack, event)
    notice = "\n\n:warning: GLM error: the assistant stopped responding (timed out)"
    assert message.text.endswith(notice)
    words = message.text.removesuffix(notice).split()
    assert 1 <= len(words) < len(chunks)
    assert words == [f"w{i}" for i in range(len(words))], "what arrived, in order, nothing more"
    assert has_retry(message)
    assert len(fake_glm.requests) == 1
