"""Crash recovery (SIGKILL), graceful SIGTERM, and the Retry button, on the real process."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sqlite3
from pathlib import Path

import aiohttp
import pytest

from bot.action_ids import RETRY_ACTION_ID
from tests.bot_process import BotProcess
from tests.conftest import BOT_TOKEN, GLM_KEY, SIGNING_SECRET, RunningBot
from tests.fakes import FakeGLM, FakeSlack, Reply, mention_event
from tests.fakes.slack_requests import SlackSender, block_actions_payload, button_action


def _settings(bot_env: dict[str, str], **extra: str) -> dict[str, str]:
    return {**bot_env, "INSTANCE_HEARTBEAT_SECONDS": "0.3", **extra}


def _retry_value(message) -> str | None:
    for block in message.blocks or []:
        if block.get("type") == "actions":
            for element in block["elements"]:
                if element.get("action_id") == RETRY_ACTION_ID:
                    return str(element["value"])
    return None


async def _recorded_message_ts(bot_env: dict[str, str], question: str) -> tuple[str, ...]:
    """The reply's Slack message ts once the bot has recorded it (read-only, bounded wait)."""
    path = bot_env["DATABASE_URL"].split(":///", 1)[1]

    def read() -> str | None:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            row = conn.execute(
                "SELECT message_ts FROM replies WHERE question = ?", (question,)
            ).fetchone()
        return row[0] if row else None

    # No event says "committed": poll the database read-only, bounded by the timeout.
    async with asyncio.timeout(10):
        while not (recorded := await asyncio.to_thread(read)):  # noqa: ASYNC110
            await asyncio.sleep(0.05)
    return tuple(recorded.split())


async def _send_mention(url: str, event: dict) -> None:
    async with aiohttp.ClientSession(trust_env=False) as session:
        resp = await SlackSender(f"{url}/slack/events", SIGNING_SECRET, session).event(event)
        assert resp.status == 200


async def test_sigkill_mid_stream_is_finalised_with_retry_on_restart(
    tmp_path: Path,
    bot_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    fake_slack: FakeSlack,
    fake_glm: FakeGLM,
) -> None:
    fake_glm.enqueue(Reply(chunks=["Half of ", "an answer", " never sent"], stall_after=2))
    crashed = await BotProcess(tmp_path, **_settings(bot_env)).start()
    event = mention_event("explain everything")
    try:
        await _send_mention(crashed.url, event)
        await fake_slack.wait_for(
            lambda f: any(
                "Half of an answer" in m.text for m in f.thread_replies_by_bot("C0001", event["ts"])
            ),
            timeout=10,
            what="the partial answer",
        )
        # The normal case: the post was recorded before the crash, so recovery knows the message.
        (recorded,) = await _recorded_message_ts(bot_env, "explain everything")
    finally:
        await crashed.kill()  # SIGKILL: no cleanup at all

    monkeypatch.setenv("INSTANCE_HEARTBEAT_SECONDS", "0.3")
    survivor = await RunningBot().start()
    try:
        message = await fake_slack.wait_for(
            lambda f: next(
                (m for m in f.thread_replies_by_bot("C0001", event["ts"]) if _retry_value(m)),
                None,
            ),
            timeout=10,
            what="the interrupted reply with a Retry button",
        )
        assert message.ts == recorded, "the recorded message itself was finalised"
        assert message.text == (
            "Half of an answer\n\n:octagonal_sign: _This answer was interrupted because the bot "
            "restarted. Press Retry to ask again._"
        )
        assert not any(b["type"] == "context" and "hourglass" in str(b) for b in message.blocks)
        # recovery read that one message back (its _fetch), not the whole thread
        (read,) = fake_slack.calls_to("conversations.replies")
        assert (read.args["oldest"], read.args["latest"]) == (recorded, recorded)
        assert len(fake_slack.thread_replies_by_bot("C0001", event["ts"])) == 1, "no extra post"
        interrupted = await survivor.bot.repo.replies_with_status("interrupted")
        assert [r.question for r in interrupted] == ["explain everything"]

        fake_glm.enqueue(Reply(chunks=["The whole answer."]))
        payload = block_actions_payload(
            [button_action(RETRY_ACTION_ID, _retry_value(message) or "")],
            message_ts=message.ts,
            thread_ts=event["ts"],
            message={
                "type": "message",
                "ts": message.ts,
                "text": message.text,
                "blocks": message.blocks,
            },
        )
        assert (await survivor.slack.action(payload)).status == 200
        assert (await survivor.slack.action(payload)).status == 200  # a double click
        await survivor.wait_handled(1)
    finally:
        await survivor.stop()

    _first, retried = fake_glm.requests
    assert retried.user_text == "explain everything"
    assert retried.body["conversation_id"] == fake_glm.streams[0].conversation_id
    replies = fake_slack.thread_replies_by_bot("C0001", event["ts"])
    assert replies[-1].text == "The whole answer."
    assert _retry_value(fake_slack.message("C0001", message.ts)) is None, "button removed"


async def test_sigkill_then_the_reply_deleted_gets_a_notice_with_retry(
    tmp_path: Path,
    bot_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    fake_slack: FakeSlack,
    fake_glm: FakeGLM,
) -> None:
    fake_glm.enqueue(Reply(chunks=["Gone ", "soon", " never sent"], stall_after=2))
    crashed = await BotProcess(tmp_path, **_settings(bot_env)).start()
    event = mention_event("a question whose answer vanished")
    try:
        await _send_mention(crashed.url, event)
        (recorded,) = await _recorded_message_ts(bot_env, "a question whose answer vanished")
    finally:
        await crashed.kill()
    # Someone deleted the half-written reply while no bot was running.
    async with (
        aiohttp.ClientSession(trust_env=False) as session,
        session.post(
            fake_slack.api_url + "chat.delete",
            json={"channel": "C0001", "ts": recorded},
            headers={"Authorization": f"Bearer {BOT_TOKEN}"},
        ) as resp,
    ):
        assert (await resp.json())["ok"] is True

    monkeypatch.setenv("INSTANCE_HEARTBEAT_SECONDS", "0.3")
    before = len(fake_slack.calls)
    survivor = await RunningBot().start()
    try:
        notice = await fake_slack.wait_for(
            lambda f: next(
                (m for m in f.thread_replies_by_bot("C0001", event["ts"]) if _retry_value(m)),
                None,
            ),
            timeout=10,
            what="the interrupted notice with a Retry button",
        )
    finally:
        await survivor.stop()
    assert notice.ts != recorded
    assert notice.text == (
        ":octagonal_sign: _This answer was interrupted because the bot restarted. "
        "Press Retry to ask again._"
    )
    (read,) = fake_slack.calls_to("conversations.replies")
    assert read.args["latest"] == recorded
    assert not [c for c in fake_slack.calls[before:] if c.method == "chat.update"]


async def test_sigterm_lets_running_answers_finish_then_exits_0(
    tmp_path: Path, bot_env: dict[str, str], fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    gate = asyncio.Event()
    fake_glm.enqueue(Reply(chunks=["Almost ", "done", " and finished."], stall_after=2, gate=gate))
    bot = await BotProcess(tmp_path, **_settings(bot_env)).start()
    event = mention_event("long question")
    try:
        await _send_mention(bot.url, event)
        await fake_glm.wait_for_stream_state("stalled")
        bot.signal(signal.SIGTERM)
        gate.set()
        assert await bot.wait(30) == 0
    finally:
        await bot.kill()
    (reply,) = fake_slack.thread_replies_by_bot("C0001", event["ts"])
    assert reply.text == "Almost done and finished."


async def test_sigterm_past_grace_finalises_as_interrupted(
    tmp_path: Path, bot_env: dict[str, str], fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    fake_glm.enqueue(Reply(chunks=["Started ", "but", " stuck"], stall_after=2))
    bot = await BotProcess(tmp_path, **_settings(bot_env, SHUTDOWN_GRACE_SECONDS="0.3")).start()
    event = mention_event("slow question")
    try:
        await _send_mention(bot.url, event)
        await fake_glm.wait_for_stream_state("stalled")
        bot.signal(signal.SIGTERM)
        assert await bot.wait(30) == 0
        log = await bot.rest_of_stderr()
    finally:
        await bot.kill()
    (reply,) = fake_slack.thread_replies_by_bot("C0001", event["ts"])
    assert reply.text.startswith("Started but")
    assert "interrupted" in reply.text
    assert _retry_value(reply) is not None
    for secret in (BOT_TOKEN, SIGNING_SECRET, GLM_KEY):
        assert secret not in log


async def test_stop_button_cancels_upstream_and_keeps_the_partial_answer(
    running_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    from bot.action_ids import STOP_ACTION_ID

    fake_glm.enqueue(Reply(chunks=["Thinking out ", "loud", " forever"], stall_after=2))
    event = mention_event("ramble", user="U0002")  # Stop is the asker's
    await running_bot.slack.event(event)
    message = await fake_slack.wait_for(
        lambda f: next(
            (
                m
                for m in f.thread_replies_by_bot("C0001", event["ts"])
                if "Thinking out loud" in m.text
            ),
            None,
        ),
        what="the partial answer with its Stop button",
    )
    stop = [
        e
        for b in message.blocks
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == STOP_ACTION_ID
    ]
    assert stop, "a streaming reply offers Stop"
    payload = block_actions_payload(
        [button_action(STOP_ACTION_ID, stop[0]["value"])],
        message_ts=message.ts,
        thread_ts=event["ts"],
        user="U0002",
    )
    assert (await running_bot.slack.action(payload)).status == 200
    await running_bot.wait_handled(1)
    await fake_glm.wait_for_stream_state("client_closed")

    final = fake_slack.message("C0001", message.ts)
    assert final.text.startswith("Thinking out loud")
    assert "Stopped by <@U0002>" in final.text
    assert not any(b["type"] == "actions" for b in final.blocks)
    stopped = await running_bot.bot.repo.replies_with_status("stopped")
    assert len(stopped) == 1


async def test_stop_pressed_on_another_instance_reaches_the_streaming_one(
    bot_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    fake_slack: FakeSlack,
    fake_glm: FakeGLM,
) -> None:
    from bot.action_ids import STOP_ACTION_ID

    monkeypatch.setenv("STOP_POLL_SECONDS", "0.1")
    streaming = await RunningBot().start()
    other = await RunningBot().start()  # same database, like two instances behind a balancer
    try:
        fake_glm.enqueue(Reply(chunks=["Going on ", "and on", " forever"], stall_after=2))
        event = mention_event("talk", user="U0002")  # Stop is the asker's
        await streaming.slack.event(event)
        message = await fake_slack.wait_for(
            lambda f: next(
                (m for m in f.thread_replies_by_bot("C0001", event["ts"]) if "and on" in m.text),
                None,
            ),
            what="the partial answer",
        )
        stop = next(
            e["value"]
            for b in message.blocks
            if b["type"] == "actions"
            for e in b["elements"]
            if e["action_id"] == STOP_ACTION_ID
        )
        payload = block_actions_payload(
            [button_action(STOP_ACTION_ID, stop)], message_ts=message.ts, user="U0002"
        )
        assert (await other.slack.action(payload)).status == 200
        await streaming.wait_handled(1)
    finally:
        await streaming.stop()
        await other.stop()
    final = fake_slack.message("C0001", message.ts)
    assert final.text.startswith("Going on and on")
    assert "Stopped by <@U0002>" in final.text
