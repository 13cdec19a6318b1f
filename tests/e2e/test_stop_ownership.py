"""Stop belongs to the person who asked (and to AGENT_ADMIN_USER_IDS): on this instance, across
instances (through the database) and on native streams. Anyone else is told privately, in their
language, and the answer runs on to its end."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bot.action_ids import STOP_ACTION_ID
from tests.conftest import RunningBot
from tests.fakes import FakeGLM, FakeSlack, Reply, mention_event
from tests.fakes.slack import Message
from tests.fakes.slack_requests import block_actions_payload, button_action

NOT_YOURS_EN = "Only the person who asked can stop this answer; it will carry on."
NOT_YOURS_ZH = "只有提问的人才能停止这个回答；回答会继续。"


@pytest.fixture
async def native_bot(
    bot_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[RunningBot]:
    monkeypatch.setenv("STREAM_MODE", "native")
    bot = await RunningBot().start()
    yield bot
    await bot.stop()


def _stop_value(message: Message) -> str:
    (value,) = [
        str(e["value"])
        for b in message.blocks or []
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == STOP_ACTION_ID
    ]
    return value


async def _streaming(fake_slack: FakeSlack, thread_ts: str, text: str) -> Message:
    return await fake_slack.wait_for(
        lambda f: next(
            (m for m in f.thread_replies_by_bot("C0001", thread_ts) if text in m.text), None
        ),
        what=f"the partial answer {text!r} with its Stop button",
    )


async def _press(bot: RunningBot, message: Message, *, user: str, thread_ts: str) -> None:
    payload = block_actions_payload(
        [button_action(STOP_ACTION_ID, _stop_value(message))],
        message_ts=message.ts,
        thread_ts=thread_ts,
        user=user,
    )
    assert (await bot.slack.action(payload)).status == 200


async def _refused_then_finished(
    bot: RunningBot,
    fake_slack: FakeSlack,
    fake_glm: FakeGLM,
    gate: asyncio.Event,
    message: Message,
    *,
    presser: str,
    note: str,
) -> None:
    """The presser alone is told; upstream is untouched and the whole answer lands."""
    call = await fake_slack.wait_for_call("chat.postEphemeral")
    assert (call.args["user"], call.args["channel"], call.args["text"]) == (
        presser,
        "C0001",
        note,
    )
    assert fake_glm.streams[0].state != "client_closed"
    gate.set()
    await bot.wait_handled(1)
    final = fake_slack.message("C0001", message.ts)
    assert final is not None and not final.streaming
    assert "Stopped by" not in str(final.blocks) + final.text
    assert await bot.bot.repo.replies_with_status("done")
    assert not await bot.bot.repo.replies_with_status("stopped")


async def test_someone_elses_stop_is_refused_privately_and_the_answer_runs_on(
    running_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    gate = asyncio.Event()
    fake_glm.enqueue(
        Reply(chunks=["Thinking out ", "loud", " to the end"], stall_after=2, gate=gate)
    )
    event = mention_event("ramble", user="U0001")
    await running_bot.slack.event(event)
    message = await _streaming(fake_slack, event["ts"], "Thinking out loud")
    fake_slack.add_user("U0CN", name="li", real_name="李雷", locale="zh-CN")
    await _press(running_bot, message, user="U0CN", thread_ts=event["ts"])
    await _refused_then_finished(
        running_bot, fake_slack, fake_glm, gate, message, presser="U0CN", note=NOT_YOURS_ZH
    )
    final = fake_slack.message("C0001", message.ts)
    assert final is not None and final.text.startswith("Thinking out loud to the end")


async def test_an_admin_may_stop_anyones_answer(
    bot_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    fake_slack: FakeSlack,
    fake_glm: FakeGLM,
) -> None:
    monkeypatch.setenv("AGENT_ADMIN_USER_IDS", "U0ADMIN")
    bot = await RunningBot().start()
    try:
        fake_glm.enqueue(Reply(chunks=["Going on ", "and on", " forever"], stall_after=2))
        event = mention_event("talk", user="U0001")
        await bot.slack.event(event)
        message = await _streaming(fake_slack, event["ts"], "Going on and on")
        await _press(bot, message, user="U0ADMIN", thread_ts=event["ts"])
        await bot.wait_handled(1)
    finally:
        await bot.stop()
    final = fake_slack.message("C0001", message.ts)
    assert final is not None and "Stopped by <@U0ADMIN>" in final.text
    assert not fake_slack.ephemerals


async def test_someone_elses_stop_on_another_instance_is_refused_too(
    bot_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    fake_slack: FakeSlack,
    fake_glm: FakeGLM,
) -> None:
    monkeypatch.setenv("STOP_POLL_SECONDS", "0.1")
    streaming = await RunningBot().start()
    other = await RunningBot().start()  # same database, like two instances behind a balancer
    try:
        gate = asyncio.Event()
        fake_glm.enqueue(
            Reply(chunks=["Going on ", "and on", " to the end"], stall_after=2, gate=gate)
        )
        event = mention_event("talk", user="U0001")
        await streaming.slack.event(event)
        message = await _streaming(fake_slack, event["ts"], "Going on and on")
        await _press(other, message, user="U0002", thread_ts=event["ts"])
        # Nothing was left in the database for the streaming instance to act on.
        assert await other.bot.repo.stop_requests([_stop_value(message)]) == {}
        await _refused_then_finished(
            streaming, fake_slack, fake_glm, gate, message, presser="U0002", note=NOT_YOURS_EN
        )
    finally:
        await streaming.stop()
        await other.stop()


async def test_the_asker_stops_through_another_instance(
    bot_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    fake_slack: FakeSlack,
    fake_glm: FakeGLM,
) -> None:
    monkeypatch.setenv("STOP_POLL_SECONDS", "0.1")
    streaming = await RunningBot().start()
    other = await RunningBot().start()
    try:
        fake_glm.enqueue(Reply(chunks=["Going on ", "and on", " forever"], stall_after=2))
        event = mention_event("talk", user="U0001")
        await streaming.slack.event(event)
        message = await _streaming(fake_slack, event["ts"], "Going on and on")
        await _press(other, message, user="U0001", thread_ts=event["ts"])
        await streaming.wait_handled(1)
    finally:
        await streaming.stop()
        await other.stop()
    final = fake_slack.message("C0001", message.ts)
    assert final is not None and "Stopped by <@U0001>" in final.text
    assert not fake_slack.ephemerals


async def test_someone_elses_stop_on_a_native_stream_is_refused_privately(
    native_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    gate = asyncio.Event()
    fake_glm.enqueue(Reply(chunks=["Thinking out loud ", "and on"], stall_after=1, gate=gate))
    event = mention_event("ramble", user="U0001")
    await native_bot.slack.event(event)
    message = await _streaming(fake_slack, event["ts"], "Thinking out loud")
    assert message.streaming
    await _press(native_bot, message, user="U0002", thread_ts=event["ts"])
    await _refused_then_finished(
        native_bot, fake_slack, fake_glm, gate, message, presser="U0002", note=NOT_YOURS_EN
    )
