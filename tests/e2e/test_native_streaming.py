"""Native streaming end to end (STREAM_MODE=native / auto): chat.startStream / appendStream /
stopStream against a fake Slack that refuses channel streams without recipients and closes
streams on its own; the person always ends with the whole answer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.action_ids import RETRY_ACTION_ID, STOP_ACTION_ID
from bot.reply.render import render_reply
from tests.bot_process import BotProcess
from tests.conftest import SIGNING_SECRET, RunningBot
from tests.fakes import (
    FakeGLM,
    FakeSlack,
    Reply,
    SlackSender,
    block_actions_payload,
    button_action,
    mention_event,
    message_event,
)
from tests.fakes.slack import stream_text

JSON = dict[str, Any]


def context_texts(blocks: list[JSON] | None) -> list[str]:
    return [
        element["text"]
        for block in blocks or []
        if block["type"] == "context"
        for element in block["elements"]
    ]


@pytest.fixture
async def native_bot(
    bot_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[RunningBot]:
    monkeypatch.setenv("STREAM_MODE", "native")
    bot = await RunningBot().start()
    yield bot
    await bot.stop()


@pytest.fixture
async def auto_bot(
    bot_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[RunningBot]:
    monkeypatch.delenv("STREAM_MODE")  # the default
    bot = await RunningBot().start()
    yield bot
    await bot.stop()


async def ask(bot: RunningBot, event: JSON) -> None:
    before = bot.executor.finished
    await bot.slack.event(event)
    await bot.wait_handled(before + 1)


def streamed(fake: FakeSlack, method: str) -> list[JSON]:
    return [c.args for c in fake.calls_to(method) if c.ok]


async def test_a_dm_answer_streams_natively_and_ends_whole_with_feedback(
    native_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    chunks = ["The **answer** ", "comes ", "in ", "pieces."]
    fake_glm.enqueue(Reply(chunks=chunks, chunk_delay=0.25))
    event = message_event("hi", channel="D0001", channel_type="im")
    await ask(native_bot, event)
    (message,) = fake_slack.thread_replies_by_bot("D0001", event["ts"])
    assert message.text == "".join(chunks) and not message.streaming
    starts = streamed(fake_slack, "chat.startStream")
    appends = streamed(fake_slack, "chat.appendStream")
    (stop,) = streamed(fake_slack, "chat.stopStream")
    assert starts[0]["thread_ts"] == event["ts"]
    sent = [stream_text(starts[0]), *(a["markdown_text"] for a in appends)]
    sent.append(stop.get("markdown_text") or "")
    assert "".join(sent) == "".join(chunks)  # each call carries only the new text
    assert appends, "text is flushed on time while the model writes, not only at the end"
    assert any(b["type"] == "context_actions" for b in stop["blocks"])
    assert not fake_slack.calls_to("chat.update")


async def test_channel_streams_name_their_recipient(
    native_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    event = mention_event("hello there")
    await ask(native_bot, event)
    start = streamed(fake_slack, "chat.startStream")[0]
    assert (start["recipient_user_id"], start["recipient_team_id"]) == ("U0001", "T0001")
    (message,) = fake_slack.thread_replies_by_bot("C0001", event["ts"])
    assert "hello there" in message.text


async def test_a_stream_slack_closes_is_finished_by_edit_whole(
    native_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    chunks = [f"part {i}. " for i in range(8)]
    fake_glm.enqueue(Reply(chunks=chunks, chunk_delay=0.15))
    event = mention_event("long one")
    await native_bot.slack.event(event)
    start = await fake_slack.wait_for_call("chat.startStream", lambda c: c.ok)
    assert start.response is not None
    fake_slack.expire_stream("C0001", start.response["ts"])  # Slack's own timeout
    await native_bot.wait_handled(1)
    replies = fake_slack.thread_replies_by_bot("C0001", event["ts"])
    assert [m.ts for m in replies] != [start.response["ts"]], "the broken stream is gone"
    assert "".join(m.text for m in replies) == render_reply("".join(chunks))
    assert not any(m.streaming for m in replies)
    errors = [c for c in fake_slack.calls_to("chat.appendStream") if not c.ok]
    assert errors and errors[0].response["error"] == "message_not_in_streaming_state"


async def test_stop_ends_a_native_stream(
    native_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    fake_glm.enqueue(Reply(chunks=["Thinking out loud ", "and on"], stall_after=1))
    event = mention_event("ramble", user="U0002")  # Stop is the asker's
    await native_bot.slack.event(event)
    message = await fake_slack.wait_for(
        lambda f: next((m for m in f.thread_replies_by_bot("C0001", event["ts"]) if m.text), None),
        what="the streamed first text",
    )
    stop = [
        e
        for b in message.blocks or []
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == STOP_ACTION_ID
    ]
    assert stop, "a native stream offers Stop"
    payload = block_actions_payload(
        [button_action(STOP_ACTION_ID, stop[0]["value"])],
        message_ts=message.ts,
        thread_ts=event["ts"],
        user="U0002",
    )
    assert (await native_bot.slack.action(payload)).status == 200
    await native_bot.wait_handled(1)
    final = fake_slack.message("C0001", message.ts)
    assert final is not None and not final.streaming
    assert final.text.startswith("Thinking out loud")
    assert any("Stopped by <@U0002>" in str(b) for b in final.blocks or [])
    assert await native_bot.bot.repo.replies_with_status("stopped")

    # The Stop button a stream carried stays on the finished message; pressing it again is
    # explained to the presser alone, and nothing else happens.
    assert (await native_bot.slack.action(payload)).status == 200
    note = await fake_slack.wait_for_call("chat.postEphemeral")
    assert (note.args["user"], note.args["text"]) == (
        "U0002",
        "That answer has already finished; there is nothing left to stop.",
    )
    assert len(fake_glm.requests) == 1


async def test_a_very_long_answer_continues_by_edit_after_a_clean_stop(
    native_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    paragraph = "word " * 400 + "\n\n"  # 2,002 characters
    fake_glm.enqueue(Reply(chunks=[paragraph] * 7, chunk_delay=0.05))
    event = mention_event("essay")
    await ask(native_bot, event)
    replies = fake_slack.thread_replies_by_bot("C0001", event["ts"])
    assert len(replies) >= 2 and not any(m.streaming for m in replies)
    assert len(streamed(fake_slack, "chat.stopStream")) == 1
    assert len(replies[0].text) <= 11_000
    total = "".join(m.text for m in replies).replace("\n", "").replace(" ", "")
    assert total == (paragraph * 7).replace("\n", "").replace(" ", "")


async def test_tool_activity_shows_as_loading_messages(
    native_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    fake_glm.enqueue(
        Reply(
            chunks=["Found it."],
            tool_calls=[(0, Reply.tool("web_browser", input='search("x")'))],
            chunk_delay=0.2,
        )
    )
    await ask(native_bot, mention_event("search something"))
    loading = [c.args for c in fake_slack.calls_to("assistant.threads.setStatus")]
    assert any(a.get("loading_messages") for a in loading), fake_slack.describe_calls()


async def test_auto_streams_natively_while_stops_are_affordable_then_edits(
    auto_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    """Burst of 10 for stopStream: the 11th concurrent reply must not start natively."""
    fake_slack.enforce_rate_limits()
    fake_slack.enforce_stream_limits()
    gate = asyncio.Event()
    for _ in range(12):
        fake_glm.enqueue(Reply(chunks=["a ", "b"], stall_after=1, gate=gate))
    events = [mention_event(f"q{i}", channel=f"C10{i:02d}") for i in range(12)]
    for event in events:
        await auto_bot.slack.event(event)
    await fake_glm.wait_for_requests(12)
    await fake_slack.wait_for(
        lambda f: (
            len([c for c in f.calls if c.method == "chat.postMessage" and c.ok])
            + len([c for c in f.calls if c.method == "chat.startStream" and c.ok])
            >= 12
        ),
        what="first text of all replies",
    )
    gate.set()
    await auto_bot.wait_handled(12)
    assert len(streamed(fake_slack, "chat.startStream")) == 10
    assert len(streamed(fake_slack, "chat.stopStream")) == 10
    assert not fake_slack.rate_limited
    for event in events:
        (reply,) = fake_slack.thread_replies_by_bot(event["channel"], event["ts"])
        assert "a b" in reply.text and not reply.streaming


def _retry_button(blocks: list[JSON] | None) -> bool:
    return any(
        e.get("action_id") == RETRY_ACTION_ID
        for b in blocks or []
        if b.get("type") == "actions"
        for e in b["elements"]
    )


async def test_shutdown_past_grace_stops_the_stream_with_retry(
    bot_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    fake_slack: FakeSlack,
    fake_glm: FakeGLM,
) -> None:
    monkeypatch.setenv("STREAM_MODE", "native")
    monkeypatch.setenv("SHUTDOWN_GRACE_SECONDS", "0.3")
    fake_glm.enqueue(Reply(chunks=["Started ", "but", " stuck"], stall_after=2))
    bot = await RunningBot().start()
    event = mention_event("slow question")
    try:
        await bot.slack.event(event)
        await fake_glm.wait_for_stream_state("stalled")
        await fake_slack.wait_for_call("chat.startStream", lambda c: c.ok)
    finally:
        await bot.stop()
    (reply,) = fake_slack.thread_replies_by_bot("C0001", event["ts"])
    assert reply.text.startswith("Started but") and not reply.streaming
    assert _retry_button(reply.blocks)
    assert any("interrupted" in str(b) for b in reply.blocks or [])


async def test_a_crashed_native_stream_is_finalised_with_retry(
    tmp_path: Path,
    bot_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    fake_slack: FakeSlack,
    fake_glm: FakeGLM,
) -> None:
    fake_glm.enqueue(Reply(chunks=["Half of ", "an answer", " never sent"], stall_after=2))
    settings = {**bot_env, "STREAM_MODE": "native", "INSTANCE_HEARTBEAT_SECONDS": "0.3"}
    crashed = await BotProcess(tmp_path, **settings).start()
    event = mention_event("explain everything")
    try:
        async with aiohttp.ClientSession(trust_env=False) as session:
            sender = SlackSender(f"{crashed.url}/slack/events", SIGNING_SECRET, session)
            assert (await sender.event(event)).status == 200
        await fake_slack.wait_for(
            lambda f: any(
                "Half of an answer" in m.text for m in f.thread_replies_by_bot("C0001", event["ts"])
            ),
            timeout=10,
            what="the partial native stream",
        )
    finally:
        await crashed.kill()
    monkeypatch.setenv("INSTANCE_HEARTBEAT_SECONDS", "0.3")
    survivor = await RunningBot().start()
    try:
        message = await fake_slack.wait_for(
            lambda f: next(
                (
                    m
                    for m in f.thread_replies_by_bot("C0001", event["ts"])
                    if _retry_button(m.blocks)
                ),
                None,
            ),
            timeout=10,
            what="the orphaned stream finalised with Retry",
        )
    finally:
        await survivor.stop()
    assert message.text.startswith("Half of an answer") and "interrupted" in message.text
    assert not message.streaming


async def test_reasoning_streamed_natively_is_taken_back_at_a_stray_close_tag(
    native_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    """Streamed text cannot be unsaid: when ``</think>`` shows it was reasoning, the stream
    message goes and the edit strategy shows only the answer."""
    gate = asyncio.Event()
    reasoning = ["Let me plan ", "the greeting. "]
    fake_glm.enqueue(
        Reply(chunks=[*reasoning, "</think>Hello!"], stall_after=len(reasoning), gate=gate)
    )
    event = message_event("greet me", channel="D0001", channel_type="im")
    before = native_bot.executor.finished
    await native_bot.slack.event(event)
    await fake_slack.wait_for_call("chat.startStream")
    gate.set()
    await native_bot.wait_handled(before + 1)

    (message,) = fake_slack.thread_replies_by_bot("D0001", event["ts"])
    assert message.text == "Hello!", fake_slack.describe_calls()
    assert fake_slack.calls_to("chat.delete"), "the stream holding reasoning was deleted"


async def test_the_first_native_reply_in_a_channel_thread_names_its_assistant(
    native_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    """As the edit strategy does: the thread's first answer says who is answering, before the
    text, and later answers in the thread do not repeat it."""
    fake_glm.enqueue(Reply(chunks=["First answer."]))
    fake_glm.enqueue(Reply(chunks=["Second answer."]))
    event = mention_event("hello")
    await ask(native_bot, event)
    await ask(native_bot, message_event("more", thread_ts=event["ts"]))

    first, second = streamed(fake_slack, "chat.startStream")
    assert first["chunks"][0] == {
        "type": "blocks",
        "blocks": [
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": ":robot_face: *ChatGLM（官方）*"}],
            }
        ],
    }
    assert first["chunks"][1] == {"type": "markdown_text", "text": "First answer."}
    assert "markdown_text" not in first, "text goes as a chunk, never beside the chunks"
    replies = fake_slack.thread_replies_by_bot("C0001", event["ts"])
    assert [m.text for m in replies] == ["First answer.", "Second answer."]
    assert context_texts(replies[0].blocks) == [":robot_face: *ChatGLM（官方）*"]
    assert context_texts(second["chunks"][0].get("blocks")) == []


async def test_a_hand_over_keeps_the_order_of_text_arriving_while_slack_refuses(
    native_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    """Issue 14 defect 1: Slack ends the stream while text keeps arriving, and the hand-over
    (delete the stream message, start the edit strategy) takes Slack round trips. Whatever
    arrives during them must land after what came before, and nothing may be lost."""
    words = [
        "alpha",
        "bravo",
        "charlie",
        "delta",
        "echo",
        "foxtrot",
        "golf",
        "hotel",
        "india",
        "juliet",
        "kilo",
        "lima",
    ]
    chunks = [f"{words[i % len(words)]}{i} " for i in range(60)]
    fake_glm.enqueue(Reply(chunks=chunks, chunk_delay=0.02))
    fake_slack.delay("chat.delete", 0.25)  # the hand-over's round trips take a while
    fake_slack.delay("assistant.threads.setStatus", 0.25)
    event = message_event("spell it out", channel="D0001", channel_type="im")
    before = native_bot.executor.finished
    await native_bot.slack.event(event)
    start = await fake_slack.wait_for_call("chat.startStream", lambda c: c.ok)
    assert start.response is not None
    fake_slack.expire_stream("D0001", start.response["ts"])  # Slack's own timeout
    await native_bot.wait_handled(before + 1)
    replies = fake_slack.thread_replies_by_bot("D0001", event["ts"])
    assert fake_slack.calls_to("chat.delete"), "the refused stream was handed over"
    assert "".join(m.text for m in replies) == render_reply("".join(chunks))


def _chopped(text: str, size: int) -> list[str]:
    """The model's chunks end anywhere, mid-word and mid-line."""
    return [text[i : i + size] for i in range(0, len(text), size)]


async def test_native_rollover_ends_a_message_at_a_line_boundary(
    native_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    """Issue 14 defect 2: the first message of a 12,000-character answer used to end wherever
    an append had ended (``line 198 alpha bravo`` | ``charlie delta echo``)."""
    lines = [f"line {n} alpha bravo charlie delta echo foxtrot" for n in range(1, 281)]
    answer = "\n".join(lines)
    assert len(answer) > 12_000
    fake_glm.enqueue(Reply(chunks=_chopped(answer, 37), chunk_delay=0.002))
    event = mention_event("count lines")
    await ask(native_bot, event)
    replies = fake_slack.thread_replies_by_bot("C0001", event["ts"])
    assert len(replies) >= 2 and not any(m.streaming for m in replies)
    assert len(replies[0].text) <= 11_000
    for message in replies:
        for line in message.text.strip("\n").split("\n"):
            assert line in lines, f"a line was split across messages: {line!r}"
    shown = [line for m in replies for line in m.text.strip("\n").split("\n")]
    assert shown == lines


async def test_native_rollover_inside_code_closes_and_reopens_the_fence(
    native_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    code = "\n".join(f"print('row {n}', {n} * {n})  # squares" for n in range(400))
    answer = f"Here:\n\n```python\n{code}\n```\n\nDone."
    fake_glm.enqueue(Reply(chunks=_chopped(answer, 41), chunk_delay=0.002))
    event = mention_event("code please")
    await ask(native_bot, event)
    first, *rest = fake_slack.thread_replies_by_bot("C0001", event["ts"])
    assert rest and not first.streaming
    assert first.text.rstrip().endswith("```"), first.text[-80:]
    assert first.text.count("```") == 2, "the stream message closes the fence it opened"
    assert rest[0].text.startswith("```"), rest[0].text[:80]
    streamed_rows = [ln for ln in first.text.split("\n") if ln.startswith("print(")]
    assert streamed_rows and all(ln.endswith("# squares") for ln in streamed_rows)
