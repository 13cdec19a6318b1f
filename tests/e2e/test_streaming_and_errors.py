"""Streaming edits, turn ordering, thread context and every upstream error path."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from bot.reply.blocks import CURSOR
from tests.conftest import RunningBot
from tests.fakes import FakeGLM, FakeSlack, Reply, mention_event, message_event


def only_reply(fake: FakeSlack, event: dict):
    replies = fake.thread_replies_by_bot(event["channel"], event["ts"])
    assert len(replies) == 1, fake.describe_calls()
    return replies[0]


async def test_answer_grows_by_coalesced_edits_and_ends_complete(
    running_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    chunks = [f"word{i} " for i in range(30)]
    fake_glm.enqueue(Reply(chunks=chunks, chunk_delay=0.03))
    event = mention_event("count")
    await running_bot.slack.event(event)
    await running_bot.wait_handled(1)

    reply = only_reply(fake_slack, event)
    assert reply.text == "".join(chunks).strip()
    assert not reply.text.endswith(CURSOR)
    updates = fake_slack.calls_to("chat.update")
    assert len(updates) >= 2, "the answer should have grown in place"
    assert len(updates) <= 8, "edits must be coalesced (about one per interval), not per chunk"
    texts = [u.args["text"] for u in updates]
    for earlier, later in itertools.pairwise(texts):
        assert len(earlier.removesuffix(CURSOR)) <= len(later.removesuffix(CURSOR))
    intermediate = [u for u in updates[:-1]]
    for a, b in itertools.pairwise(intermediate):
        assert b.at - a.at >= 0.2 * 0.9, "at most one edit per STREAM_EDIT_INTERVAL"
    assert texts[0].endswith(CURSOR)
    posts = fake_slack.calls_to("chat.postMessage")
    assert len(posts) == 1 and posts[0].args["thread_ts"] == event["ts"]


async def test_two_quick_messages_are_answered_in_order_in_one_conversation(
    running_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    root = mention_event("first")
    await running_bot.slack.event(root)
    await running_bot.wait_handled(1)

    gate = asyncio.Event()
    fake_glm.enqueue(Reply(chunks=["answer ", "two"], stall_after=1, gate=gate))
    fake_glm.enqueue(Reply(chunks=["answer three"]))
    second = message_event("second", thread_ts=root["ts"])
    third = message_event("third", thread_ts=root["ts"])
    await running_bot.slack.event(second)
    await running_bot.slack.event(third)
    await fake_glm.wait_for_stream_start(2)
    # While the second answer is still streaming, the third must not have been sent upstream.
    assert [r.user_text for r in fake_glm.requests] == ["first", "second"]
    gate.set()
    await running_bot.wait_handled(3)

    assert [r.user_text for r in fake_glm.requests] == ["first", "second", "third"]
    conversation = fake_glm.streams[0].conversation_id
    assert fake_glm.requests[2].body["conversation_id"] == conversation
    texts = [m.text for m in fake_slack.thread_replies_by_bot("C0001", root["ts"])]
    assert texts[1:] == ["answer two", "answer three"]


async def test_mention_in_a_human_thread_sends_the_thread_as_context(
    running_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    root = fake_slack.add_message("C0001", "Should we ship on Friday?", user="U0001")
    fake_slack.add_message("C0001", "Only if QA signs off.", user="U0002", thread_ts=root)
    event = mention_event("what do you think?", thread_ts=root, user="U0001")
    await running_bot.slack.event(event)
    await running_bot.wait_handled(1)

    assert fake_glm.requests[0].user_text == (
        "This Slack thread started with: [alice]: Should we ship on Friday?\n\n"
        "Latest messages in this thread before the question, oldest first:\n"
        "[bob]: Only if QA signs off.\n\n"
        "Question from alice: what do you think?"
    )
    assert fake_slack.thread_replies_by_bot("C0001", root), "answered in that thread"

    # Later replies in that thread continue without a mention, and without re-sending context.
    await running_bot.slack.event(message_event("and on Monday?", thread_ts=root))
    await running_bot.wait_handled(2)
    assert fake_glm.requests[1].user_text == "and on Monday?"


async def test_empty_mention_gets_help_without_calling_glm(
    running_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    event = mention_event("")
    await running_bot.slack.event(event)
    await running_bot.wait_handled(1)
    assert fake_glm.requests == []
    assert "Mention me" in only_reply(fake_slack, event).text


async def test_status_refused_falls_back_to_a_placeholder_message(
    running_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    fake_slack.fail("assistant.threads.setStatus", "not_allowed_token_type", times=10)
    gate = asyncio.Event()
    fake_glm.enqueue(Reply(chunks=["late ", "answer"], stall_after=0, gate=gate))
    event = mention_event("hello")
    await running_bot.slack.event(event)
    await fake_slack.wait_for_call("chat.postMessage")
    placeholder = only_reply(fake_slack, event)
    assert placeholder.text.startswith("_…_")
    gate.set()
    await running_bot.wait_handled(1)
    assert only_reply(fake_slack, event).text == "late answer"


ERROR_CASES = [
    (Reply.error(429, "1302"), "GLM error 1302: too many requests right now"),
    (Reply.error(429, "1113"), "GLM error 1113"),
    (Reply.error(400, "1301"), "GLM error 1301"),
    (Reply.error(401, "1002"), "GLM error 1002"),
    (Reply.error(500, "500"), "GLM error 500"),
    (Reply.error(400, "1261", flat=True), "GLM error 1261"),
]


@pytest.mark.parametrize(
    ("reply", "expected"), ERROR_CASES, ids=lambda v: getattr(v, "http_error", v)
)
async def test_upstream_errors_become_a_short_human_message(
    running_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM, reply: Reply, expected: str
) -> None:
    retryable = (
        reply.http_error is not None
        and reply.http_error[0] in (429, 500)
        and expected
        in (
            "GLM error 1302: too many requests right now",
            "GLM error 500",
        )
    )
    for _ in range(4 if retryable else 1):
        fake_glm.enqueue(reply)
    event = mention_event("hello")
    await running_bot.slack.event(event)
    await running_bot.wait_handled(1)
    text = only_reply(fake_slack, event).text
    assert expected in text
    assert CURSOR not in text
    assert len(fake_glm.requests) == (4 if retryable else 1), "retry only transient failures"
    assert "test-glm-key" not in text


async def test_transient_429_is_retried_then_answered(
    running_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    fake_glm.enqueue(Reply.error(429, "1302", retry_after=0), Reply(chunks=["fine now"]))
    event = mention_event("hello")
    await running_bot.slack.event(event)
    await running_bot.wait_handled(1)
    assert only_reply(fake_slack, event).text == "fine now"
    assert len(fake_glm.requests) == 2
    assert fake_glm.requests[0].body["request_id"] == fake_glm.requests[1].body["request_id"]


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (Reply(chunks=["partial ", "answer", " more"], fail_after=2), "GLM error 1301"),
        (
            Reply(
                chunks=["partial ", "answer", " more"],
                fail_after=2,
                fail_finish_reason="network_error",
                fail_code="1234",
            ),
            "cut off",
        ),
        (Reply(chunks=["partial ", "answer", " more"], drop_after=2), "cut off"),
    ],
    ids=["sensitive", "network_error", "dropped"],
)
async def test_mid_stream_failure_keeps_partial_answer(
    running_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM, reply: Reply, expected: str
) -> None:
    fake_glm.enqueue(reply)
    event = mention_event("hello")
    await running_bot.slack.event(event)
    await running_bot.wait_handled(1)
    text = only_reply(fake_slack, event).text
    assert text.startswith("partial answer")
    assert expected in text
    assert CURSOR not in text
    assert len(fake_glm.requests) == 1, "never retried once text was shown"


async def test_idle_upstream_ends_with_partial_answer_and_notice(
    bot_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    fake_slack: FakeSlack,
    fake_glm: FakeGLM,
) -> None:
    monkeypatch.setenv("GLM_IDLE_TIMEOUT", "0.5")
    bot = await RunningBot().start()
    try:
        fake_glm.enqueue(Reply(chunks=["so far ", "so good", "never"], stall_after=2))
        event = mention_event("hello")
        await bot.slack.event(event)
        await bot.wait_handled(1)
    finally:
        await bot.stop()
    text = only_reply(fake_slack, event).text
    assert text.startswith("so far so good")
    assert "timed out" in text


async def test_unknown_conversation_starts_a_new_one_and_says_so(
    running_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    root = mention_event("first")
    await running_bot.slack.event(root)
    await running_bot.wait_handled(1)
    fake_glm.forget_conversation(fake_glm.streams[0].conversation_id)

    await running_bot.slack.event(message_event("again", thread_ts=root["ts"]))
    await running_bot.wait_handled(2)
    assert "conversation_id" in fake_glm.requests[1].body
    assert "conversation_id" not in fake_glm.requests[2].body
    last = fake_slack.thread_replies_by_bot("C0001", root["ts"])[-1]
    assert "started a new one" in last.text
    # and the new conversation is the one continued next time
    await running_bot.slack.event(message_event("third", thread_ts=root["ts"]))
    await running_bot.wait_handled(3)
    assert fake_glm.requests[3].body["conversation_id"] == fake_glm.streams[-2].conversation_id


async def test_an_empty_answer_says_so_instead_of_a_blank_message(
    running_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    fake_glm.enqueue(Reply(chunks=[]))
    event = mention_event("say nothing")
    await running_bot.slack.event(event)
    await running_bot.wait_handled(1)
    assert "finished without writing anything" in only_reply(fake_slack, event).text


async def test_unreachable_glm_gets_a_clear_message(
    bot_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, fake_slack: FakeSlack
) -> None:
    from tests.bot_process import free_port

    monkeypatch.setenv("ZHIPUAI_BASE_URL", f"http://127.0.0.1:{free_port()}/api/paas/v4")
    monkeypatch.setenv("GLM_MAX_RETRIES", "1")
    bot = await RunningBot().start()
    try:
        event = mention_event("hello?")
        await bot.slack.event(event)
        await bot.wait_handled(1)
    finally:
        await bot.stop()
    assert "could not reach the GLM service" in only_reply(fake_slack, event).text


async def test_a_bad_api_key_is_logged_once_not_per_turn(
    running_bot: RunningBot,
    fake_slack: FakeSlack,
    fake_glm: FakeGLM,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake_glm.api_key = "rotated-key-the-bot-does-not-have"
    for i in range(3):
        await running_bot.slack.event(mention_event(f"q{i}"))
    await running_bot.wait_handled(3)
    errors = [r for r in caplog.records if "fix ZHIPUAI_API_KEY" in r.getMessage()]
    assert len(errors) == 1
    replies = [m.text for m in fake_slack.messages("C0001") if m.user == "UBOT"]
    assert len(replies) == 3 and all("GLM error 1002" in t for t in replies)


async def test_a_chinese_slack_user_is_answered_in_chinese(
    running_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    from bot.action_ids import STOP_ACTION_ID

    fake_slack.add_user("U0CN", name="li", real_name="李雷", locale="zh-CN")
    gate = asyncio.Event()
    fake_glm.enqueue(Reply(chunks=["第一部分", "第二部分"], stall_after=1, gate=gate))
    event = mention_event("你好", user="U0CN")
    await running_bot.slack.event(event)
    streaming = await fake_slack.wait_for(
        lambda f: next(
            (m for m in f.thread_replies_by_bot("C0001", event["ts"]) if "第一部分" in m.text),
            None,
        ),
        what="the first part",
    )
    labels = [
        e["text"]["text"]
        for b in streaming.blocks
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == STOP_ACTION_ID
    ]
    assert labels == ["停止"]
    assert fake_slack.status_history[0][2] == "正在思考…"
    gate.set()
    await running_bot.wait_handled(1)

    fake_glm.enqueue(Reply.error(429, "1302"), *[Reply.error(429, "1302")] * 3)
    busy = mention_event("再来", user="U0CN")
    await running_bot.slack.event(busy)
    await running_bot.wait_handled(2)
    assert "GLM 错误 1302：当前请求过多" in only_reply(fake_slack, busy).text

    empty = mention_event("", user="U0CN")
    await running_bot.slack.event(empty)
    await running_bot.wait_handled(3)
    assert only_reply(fake_slack, empty).text.startswith("你好！@我并提问")


async def test_reasoning_before_a_stray_close_tag_is_taken_back_even_after_it_was_shown(
    running_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    """Some chat templates open ``<think>`` in the prompt: the stream starts with reasoning and
    only ``</think>`` says so. What was already shown (here over two messages) is taken back."""
    reasoning = [f"Let me plan the greeting, step {i}. " * 3 for i in range(60)]  # > 1 message
    gate = asyncio.Event()
    fake_glm.enqueue(
        Reply(chunks=[*reasoning, "</think>Hello!"], stall_after=len(reasoning), gate=gate)
    )
    event = mention_event("greet me")
    await running_bot.slack.event(event)
    await fake_slack.wait_for(
        lambda f: (
            len(f.thread_replies_by_bot(event["channel"], event["ts"])) >= 2
            and any(
                "step 59" in m.text for m in f.thread_replies_by_bot(event["channel"], event["ts"])
            )
        )
    )
    gate.set()
    await running_bot.wait_handled(1)

    replies = fake_slack.thread_replies_by_bot(event["channel"], event["ts"])
    assert [m.text for m in replies] == ["Hello!"], fake_slack.describe_calls()
    assert fake_slack.calls_to("chat.delete"), "the continuation holding reasoning is deleted"


def _long_human_thread(fake_slack: FakeSlack, replies: int) -> str:
    root = fake_slack.add_message("C0001", "Topic: the Friday release", user="U0002")
    for i in range(replies):
        fake_slack.add_message("C0001", f"reply {i}", user="U0002", thread_ts=root)
    return root


def _context_lines(prompt: str) -> list[str]:
    return [line for line in prompt.splitlines() if line.startswith("[bob]: reply ")]


async def test_joining_a_long_thread_sends_the_messages_just_before_the_mention(
    running_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    root = _long_human_thread(fake_slack, 61)  # 62 messages with the root
    event = mention_event("summarise please", thread_ts=root)
    fake_slack.add_message("C0001", "written after the mention", user="U0002", thread_ts=root)
    await running_bot.slack.event(event)
    await running_bot.wait_handled(1)

    prompt = fake_glm.requests[0].user_text
    assert prompt.startswith(
        "This Slack thread started with: [bob]: Topic: the Friday release\n\n"
        "Latest messages in this thread before the question, oldest first:\n"
    )
    assert _context_lines(prompt) == [f"[bob]: reply {i}" for i in range(41, 61)]
    assert "written after the mention" not in prompt
    assert prompt.endswith("Question from alice: summarise please")


async def test_under_the_non_marketplace_page_cap_the_thread_is_still_read_to_its_end(
    running_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    fake_slack.history_page_cap = 15
    root = _long_human_thread(fake_slack, 61)
    await running_bot.slack.event(mention_event("summarise please", thread_ts=root))
    await running_bot.wait_handled(1)

    prompt = fake_glm.requests[0].user_text
    assert _context_lines(prompt) == [f"[bob]: reply {i}" for i in range(41, 61)]
    assert len(fake_slack.calls_to("conversations.replies")) == 5  # 62 messages / 15 a page


async def test_when_slack_stops_the_paging_the_model_is_told_the_slice_is_partial(
    running_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    fake_slack.history_page_cap = 15
    fake_slack.fail("conversations.replies", retry_after=60, when=lambda args: "cursor" in args)
    root = _long_human_thread(fake_slack, 61)
    event = mention_event("summarise please", thread_ts=root)
    await running_bot.slack.event(event)
    await running_bot.wait_handled(1)

    prompt = fake_glm.requests[0].user_text
    assert "The start of this thread (Slack let us read only part of it), oldest first:" in prompt
    assert _context_lines(prompt) == [f"[bob]: reply {i}" for i in range(14)]
    assert fake_slack.thread_replies_by_bot("C0001", root), "answered all the same"
