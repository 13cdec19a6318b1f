"""End to end: a GLM that accepts the request and then says nothing (issue 14, defect 3).

The bot runs as configured by an operator (``GLM_IDLE_TIMEOUT``, ``GLM_TOTAL_TIMEOUT``,
``MAX_CONCURRENT_STREAMS``) against the loopback fakes. What the person must see: the reply says
what happened (code and hint, in their language) and offers Retry; and the thread is free, so
a follow-up in it is answered (the lease and the one concurrency slot were released).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.action_ids import RETRY_ACTION_ID
from bot.reply.blocks import CURSOR
from tests.conftest import RunningBot
from tests.fakes import FakeGLM, FakeSlack, Message, Reply, mention_event, message_event

JSON = dict[str, Any]
TIMED_OUT = {
    "en": ":warning: GLM error: the assistant stopped responding (timed out)",
    "zh": ":warning: GLM 错误：智能体没有响应（超时）",
}
RATE_LIMITED = ":warning: GLM error 1302: too many requests right now, please try again in a moment"
# Generous against a loaded 2-core machine, far below "hangs": the limits set are 0.5-1 s.
PROMPT = 6.0


def replies(fake: FakeSlack, event: JSON) -> list[Message]:
    return fake.thread_replies_by_bot(event["channel"], event["ts"])


def has_retry(message: Message) -> bool:
    return any(
        e.get("action_id") == RETRY_ACTION_ID
        for b in message.blocks or []
        if b["type"] == "actions"
        for e in b["elements"]
    )


async def start_bot(monkeypatch: pytest.MonkeyPatch, **env: str) -> RunningBot:
    monkeypatch.setenv("MAX_CONCURRENT_STREAMS", "1")  # a slot left held would block the next turn
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return await RunningBot().start()


@pytest.fixture
async def impatient_bot(
    bot_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[RunningBot]:
    bot = await start_bot(monkeypatch, GLM_IDLE_TIMEOUT="0.5")
    yield bot
    await bot.stop()


async def ask_and_time(bot: RunningBot, event: JSON) -> float:
    started = time.monotonic()
    await bot.slack.event(event)
    await bot.wait_handled(1, timeout=PROMPT + 4)
    return time.monotonic() - started


async def assert_thread_is_free(bot: RunningBot, fake_slack: FakeSlack, event: JSON) -> None:
    """A follow-up in the same thread is answered (lease and concurrency slot were released)."""
    follow_up = message_event("again", thread_ts=event["ts"], user=event["user"])
    await bot.slack.event(follow_up)
    await bot.wait_handled(2, timeout=PROMPT)
    assert replies(fake_slack, event)[-1].text == "Echo: again"


@pytest.mark.parametrize("lang", ["en", "zh"])
async def test_a_glm_that_never_sends_headers_times_out_and_frees_the_thread(
    impatient_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM, lang: str
) -> None:
    user = "U0001"
    if lang == "zh":
        user = "U0CN"
        fake_slack.add_user(user, name="li", real_name="李雷", locale="zh-CN")
    fake_glm.enqueue(Reply(silent="before_headers"))
    event = mention_event("hello", user=user)
    elapsed = await ask_and_time(impatient_bot, event)

    assert elapsed < PROMPT, "GLM_IDLE_TIMEOUT (0.5 s) bounds the wait for the headers"
    await fake_glm.wait_for(lambda f: f.requests[0].hung_up, what="the bot to hang up")
    [message] = replies(fake_slack, event)
    assert message.text == TIMED_OUT[lang]
    assert CURSOR not in message.text
    assert has_retry(message), "a timeout is worth another try, by the person"
    assert len(fake_glm.requests) == 1, "not retried by itself: GLM may be working on it"
    assert len(await impatient_bot.bot.repo.replies_with_status("failed")) == 1
    await assert_thread_is_free(impatient_bot, fake_slack, event)


async def test_a_glm_that_sends_headers_then_nothing_times_out_and_frees_the_thread(
    impatient_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    fake_glm.enqueue(Reply(silent="after_headers"))
    event = mention_event("hello")
    elapsed = await ask_and_time(impatient_bot, event)

    assert elapsed < PROMPT
    stream = await fake_glm.wait_for_stream_state("client_closed")
    assert stream.events == []
    [message] = replies(fake_slack, event)
    assert message.text == TIMED_OUT["en"]
    assert has_retry(message)
    await assert_thread_is_free(impatient_bot, fake_slack, event)


async def test_total_timeout_bounds_the_wait_for_headers(
    bot_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    fake_slack: FakeSlack,
    fake_glm: FakeGLM,
) -> None:
    # The idle timeout (5 s in bot_env) is never reached: the total (0.5 s) ends the wait.
    bot = await start_bot(monkeypatch, GLM_TOTAL_TIMEOUT="0.5")
    try:
        fake_glm.enqueue(Reply(silent="before_headers"))
        event = mention_event("hello")
        elapsed = await ask_and_time(bot, event)
        assert elapsed < 4.5, "well before the 5 s idle timeout"
        await fake_glm.wait_for(lambda f: f.requests[0].hung_up, what="the bot to hang up")
        [message] = replies(fake_slack, event)
        assert message.text == TIMED_OUT["en"]
        assert has_retry(message)
        await assert_thread_is_free(bot, fake_slack, event)
    finally:
        await bot.stop()


async def test_total_timeout_bounds_the_retries_before_the_first_byte(
    bot_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    fake_slack: FakeSlack,
    fake_glm: FakeGLM,
) -> None:
    # GLM asks to come back in 30 s; the whole request may take 1 s: say so now, don't sleep.
    bot = await start_bot(monkeypatch, GLM_TOTAL_TIMEOUT="1")
    try:
        fake_glm.enqueue(*[Reply.error(429, "1302", retry_after=30)] * 4)
        event = mention_event("hello")
        elapsed = await ask_and_time(bot, event)
        assert elapsed < PROMPT
        [message] = replies(fake_slack, event)
        assert message.text == RATE_LIMITED
        assert has_retry(message)
        assert len(fake_glm.requests) == 1, "no retry that would end past GLM_TOTAL_TIMEOUT"
    finally:
        await bot.stop()


async def test_in_a_native_stream_a_silent_glm_times_out_and_frees_the_dm(
    bot_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    fake_slack: FakeSlack,
    fake_glm: FakeGLM,
) -> None:
    bot = await start_bot(monkeypatch, GLM_IDLE_TIMEOUT="0.5", STREAM_MODE="native")
    try:
        fake_glm.enqueue(Reply(silent="before_headers"))
        event = message_event("hello", channel="D0001", channel_type="im")
        elapsed = await ask_and_time(bot, event)
        assert elapsed < PROMPT
        [message] = replies(fake_slack, event)
        assert TIMED_OUT["en"] in message.text, fake_slack.describe_calls()
        assert has_retry(message)
        follow_up = message_event(
            "again", channel="D0001", channel_type="im", thread_ts=event["ts"]
        )
        await bot.slack.event(follow_up)
        await bot.wait_handled(2, timeout=PROMPT)
        assert replies(fake_slack, event)[-1].text == "Echo: again"
    finally:
        await bot.stop()
