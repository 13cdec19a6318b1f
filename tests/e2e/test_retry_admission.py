"""The Retry button is a way into a paid GLM turn: it passes the same admission as a message."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.action_ids import RETRY_ACTION_ID
from tests.conftest import RunningBot
from tests.fakes import FakeGLM, FakeSlack, Reply, mention_event
from tests.fakes.slack_requests import block_actions_payload, button_action


def _retry_value(message) -> str | None:
    for block in message.blocks or []:
        for element in block.get("elements") or []:
            if element.get("action_id") == RETRY_ACTION_ID:
                return str(element["value"])
    return None


async def _failed_reply(bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM):
    """A reply whose stream broke mid-way: it ends with a Retry button."""
    fake_glm.enqueue(Reply(chunks=["Half ", "an answer", " never sent"], drop_after=1))
    event = mention_event("question", user="U0001")
    await bot.slack.event(event)
    await bot.wait_handled(1)
    (reply,) = fake_slack.thread_replies_by_bot("C0001", event["ts"])
    assert _retry_value(reply) is not None, fake_slack.describe_calls()
    return event, reply


async def _press_retry(bot: RunningBot, reply, *, user: str) -> None:
    payload = block_actions_payload(
        [button_action(RETRY_ACTION_ID, _retry_value(reply) or "")],
        message_ts=reply.ts,
        user=user,
        message={"ts": reply.ts, "text": reply.text, "blocks": reply.blocks},
    )
    resp = await bot.slack.action(payload)
    assert resp.status == 200


@pytest.fixture
async def allow_listed_bot(
    monkeypatch: pytest.MonkeyPatch, bot_env: dict[str, str]
) -> AsyncIterator[RunningBot]:
    monkeypatch.setenv("ALLOWED_USER_IDS", "U0001")
    bot = await RunningBot().start()
    yield bot
    await bot.stop()


async def test_a_user_outside_the_allow_list_cannot_retry(
    allow_listed_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    _, reply = await _failed_reply(allow_listed_bot, fake_slack, fake_glm)
    await _press_retry(allow_listed_bot, reply, user="U0666")
    ephemeral = await fake_slack.wait_for_call("chat.postEphemeral")
    assert ephemeral.args["user"] == "U0666"
    assert ephemeral.args["text"] == ":lock: Sorry, this bot is not enabled for you here."
    assert len(fake_glm.requests) == 1, "no paid turn for a stranger"
    assert _retry_value(fake_slack.message("C0001", reply.ts)) is not None, "button left for others"

    # The allowed user still can: the refused press did not use the button up.
    fake_glm.enqueue(Reply(chunks=["Whole answer."]))
    await _press_retry(allow_listed_bot, reply, user="U0001")
    await allow_listed_bot.wait_handled(2)
    assert [r.user_text for r in fake_glm.requests] == ["question", "question"]


async def test_retry_counts_against_the_per_user_rate_limit(
    monkeypatch: pytest.MonkeyPatch,
    bot_env: dict[str, str],
    fake_slack: FakeSlack,
    fake_glm: FakeGLM,
) -> None:
    monkeypatch.setenv("USER_TURNS_PER_WINDOW", "1")
    bot = await RunningBot().start()
    try:
        _, reply = await _failed_reply(bot, fake_slack, fake_glm)
        await _press_retry(bot, reply, user="U0001")
        ephemeral = await fake_slack.wait_for_call("chat.postEphemeral")
    finally:
        await bot.stop()
    assert ephemeral.args["user"] == "U0001"
    assert ephemeral.args["text"] == (
        ":hourglass: You have reached the limit on recent questions (1); please try again in about "
        "10 minutes."
    )
    assert len(fake_glm.requests) == 1
