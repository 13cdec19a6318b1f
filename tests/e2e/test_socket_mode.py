"""With SLACK_APP_TOKEN the same listeners run over Socket Mode (and /healthz still answers)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.action_ids import STOP_ACTION_ID
from tests.conftest import RunningBot
from tests.fakes import (
    FakeGLM,
    FakeSlack,
    Reply,
    block_actions_payload,
    button_action,
    mention_event,
    message_event,
)
from tests.fakes.slack_requests import event_envelope

JSON = dict[str, Any]
DRAWING = "66437ef3d920bdc5c60f338e"


async def test_socket_mode_answers_mentions_and_skips_retries(
    bot_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    fake_slack: FakeSlack,
    fake_glm: FakeGLM,
) -> None:
    monkeypatch.setenv("SLACK_APP_TOKEN", fake_slack.app_token)
    monkeypatch.delenv("SLACK_SIGNING_SECRET")  # not needed in Socket Mode
    bot = await RunningBot().start()
    try:
        await fake_slack.wait_for(lambda f: f.sockets, what="the Socket Mode connection")
        event = mention_event("over the socket")
        envelope = event_envelope(event, event_id="EvSock1")
        first = await fake_slack.socket_send(envelope)
        await fake_slack.socket_send(envelope, retry_attempt=1)  # Slack's redelivery
        await bot.wait_handled(2)
        follow = message_event("and a follow-up", thread_ts=event["ts"])
        await fake_slack.socket_send(event_envelope(follow))
        await bot.wait_handled(3)
        status, health = await bot.get("/healthz")
        injected = await bot.slack.event(mention_event("injected over HTTP"))
    finally:
        await bot.stop()

    assert {"envelope_id": first} in fake_slack.socket_acks
    assert status == 200 and health["mode"] == "socket"
    assert injected.status == 404, "no HTTP events route in Socket Mode"
    assert [r.user_text for r in fake_glm.requests] == ["over the socket", "and a follow-up"]
    assert len(fake_slack.thread_replies_by_bot("C0001", event["ts"])) == 2


@pytest.fixture
async def socket_bot(
    bot_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, fake_slack: FakeSlack
) -> AsyncIterator[RunningBot]:
    """The bot configured for Socket Mode only (an app token, no signing secret)."""
    monkeypatch.setenv("SLACK_APP_TOKEN", fake_slack.app_token)
    monkeypatch.delenv("SLACK_SIGNING_SECRET")
    bot = await RunningBot().start()
    try:
        await fake_slack.wait_for(lambda f: f.sockets, what="the Socket Mode connection")
        yield bot
    finally:
        await bot.stop()


def slash_command(text: str, *, response_url: str, user: str = "U0001") -> JSON:
    """The payload of a ``slash_commands`` envelope: the same fields as the HTTP form."""
    return {
        "token": "verification-token",
        "team_id": "T0001",
        "team_domain": "fake",
        "channel_id": "C0001",
        "channel_name": "general",
        "user_id": user,
        "user_name": "alice",
        "command": "/glm-agent",
        "text": text,
        "api_app_id": "A0001",
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": "1700000000.1.0123456789abcdef01234567",
    }


async def response_to(fake: FakeSlack, url: str) -> JSON:
    rid = url.rsplit("/", 1)[1]
    post = await fake.wait_for(
        lambda f: next((r for r in f.responses if r.id == rid), None),
        what=f"a response_url post to {rid}",
    )
    return post.body


async def test_slash_command_over_the_socket_is_acked_and_answered(
    socket_bot: RunningBot, fake_slack: FakeSlack
) -> None:
    url = fake_slack.new_response_url()
    envelope_id = await fake_slack.socket_send(
        slash_command("drawing", response_url=url), kind="slash_commands"
    )
    body = await response_to(fake_slack, url)
    assert body["text"] == (
        ":white_check_mark: New threads in this channel will use "
        "*AI画图（官方） · AI drawing* (`drawing`).\n"
        "Existing threads keep the assistant they started with."
    )
    # acked on the socket (the ack and the response_url answer travel independently)
    await fake_slack.wait_for(
        lambda f: any(a.get("envelope_id") == envelope_id for a in f.socket_acks),
        what="the slash command's ack",
    )
    assert (
        await socket_bot.bot.repo.get_channel_assistant(team_id="T0001", channel_id="C0001")
        == DRAWING
    )


async def test_picker_and_stop_buttons_over_the_socket(
    socket_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    # the picker's menu
    url = fake_slack.new_response_url()
    option = {"text": {"type": "plain_text", "text": "6. AI画图（官方）"}, "value": DRAWING}
    picked = block_actions_payload(
        [
            {
                "type": "static_select",
                "action_id": "glm_agent_select",
                "block_id": "glm_agent_picker",
                "selected_option": option,
                "action_ts": "1700000000.000001",
            }
        ],
        message_ts="1700000000.000000",
        response_url=url,
    )
    await fake_slack.socket_send(picked, kind="interactive")
    body = await response_to(fake_slack, url)
    assert body["text"].startswith(
        ":white_check_mark: New threads in this channel will use *AI画图（官方） · AI drawing*"
    )
    assert (
        await socket_bot.bot.repo.get_channel_assistant(team_id="T0001", channel_id="C0001")
        == DRAWING
    )

    # Stop on a streaming reply
    fake_glm.enqueue(Reply(chunks=["Thinking out ", "loud", " forever"], stall_after=2))
    event = mention_event("ramble", user="U0002")  # Stop is the asker's
    await fake_slack.socket_send(event_envelope(event))
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
    (stop,) = [
        e
        for b in message.blocks
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == STOP_ACTION_ID
    ]
    pressed = block_actions_payload(
        [button_action(STOP_ACTION_ID, stop["value"])],
        message_ts=message.ts,
        thread_ts=event["ts"],
        user="U0002",
    )
    await fake_slack.socket_send(pressed, kind="interactive")
    await socket_bot.wait_handled(1)
    await fake_glm.wait_for_stream_state("client_closed")
    final = fake_slack.message("C0001", message.ts)
    assert final is not None
    assert final.text == "Thinking out loud\n\n:black_square_for_stop: _Stopped by <@U0002>._"
    assert fake_glm.requests[0].body["assistant_id"] == DRAWING


@pytest.mark.parametrize(
    ("locale", "line"),
    [
        ("en-US", ":zzz: I am restarting; please send that again in a minute."),
        ("zh-CN", ":zzz: 我正在重启，请一分钟后再发一次。"),
    ],
)
async def test_a_message_waiting_when_the_bot_shuts_down_gets_the_restarting_line(
    bot_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    fake_slack: FakeSlack,
    fake_glm: FakeGLM,
    locale: str,
    line: str,
) -> None:
    fake_slack.add_user("U0009", name="carol", locale=locale)
    monkeypatch.setenv("SLACK_APP_TOKEN", fake_slack.app_token)
    monkeypatch.delenv("SLACK_SIGNING_SECRET")
    bot = await RunningBot().start()
    stopping: asyncio.Task[None] | None = None
    try:
        await fake_slack.wait_for(lambda f: f.sockets, what="the Socket Mode connection")
        gate = asyncio.Event()
        fake_glm.enqueue(Reply(chunks=["The first ", "answer."], stall_after=1, gate=gate))
        first = mention_event("first question")
        await fake_slack.socket_send(event_envelope(first))
        await fake_glm.wait_for_stream_state("stalled")
        # A follow-up in the same thread waits for the running turn (one turn per thread).
        follow = message_event("one more thing", thread_ts=first["ts"], user="U0009")
        await fake_slack.socket_send(event_envelope(follow))
        # Delivered after it, in another thread: once this is answered, the follow-up has been
        # taken in too (it needed no I/O to be queued).
        other = mention_event("meanwhile")
        await fake_slack.socket_send(event_envelope(other))
        await bot.wait_handled(1)
        assert fake_slack.thread_replies_by_bot("C0001", other["ts"])

        stopping = asyncio.create_task(bot.stop())
        # Shutdown stops taking turns, then hangs up the socket.
        await fake_slack.wait_for(lambda f: not f.sockets, what="the bot to hang up")
        gate.set()  # the running answer finishes within the grace period
        await asyncio.wait_for(stopping, 15)
    finally:
        if stopping is None:
            await bot.stop()

    first_reply, apology = fake_slack.thread_replies_by_bot("C0001", first["ts"])
    assert first_reply.text == "The first answer."
    assert apology.text == line
    assert [r.user_text for r in fake_glm.requests] == ["first question", "meanwhile"]
