"""Mention → streamed threaded reply → follow-ups continue the same GLM conversation."""

from __future__ import annotations

from tests.conftest import RunningBot
from tests.fakes import FakeGLM, FakeSlack, Reply, event_envelope, mention_event, message_event

CHATGLM = "65940acff94777010aa6b796"


def bot_messages(fake: FakeSlack, channel: str, thread_ts: str) -> list:
    return fake.thread_replies_by_bot(channel, thread_ts)


async def test_mention_gets_streamed_threaded_reply(
    running_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    fake_glm.enqueue(
        Reply(chunks=["**Hello**", " there, ", "here is a [link](https://example.com)."])
    )
    event = mention_event("hello")
    resp = await running_bot.slack.event(event)
    assert resp.status == 200
    await running_bot.wait_handled(1)

    replies = bot_messages(fake_slack, "C0001", event["ts"])
    assert len(replies) == 1, fake_slack.describe_calls()
    final = replies[0]
    assert final.thread_ts == event["ts"]
    assert final.text == "*Hello* there, here is a <https://example.com|link>."
    section = next(b for b in final.blocks if b["type"] == "section")
    assert section["text"]["text"] == final.text
    context = [b for b in final.blocks if b["type"] == "context"]
    assert "ChatGLM" in context[0]["elements"][0]["text"]
    assert not any(b["type"] == "actions" for b in final.blocks)
    # life was shown before the answer ("is thinking…" first), and cleared at the end
    history = [s for c, t, s in fake_slack.status_history if (c, t) == ("C0001", event["ts"])]
    assert history, fake_slack.describe_calls()
    assert history[0] == "is thinking…"
    assert history[-1] == ""
    assert fake_slack.statuses[("C0001", event["ts"])] == ""

    (request,) = fake_glm.requests
    body = request.body
    assert body["assistant_id"] == CHATGLM
    assert body["stream"] is True
    assert body["model"] == "glm-4-assistant"
    assert body["messages"] == [{"role": "user", "content": [{"type": "text", "text": "hello"}]}]
    assert "conversation_id" not in body
    assert 6 <= len(body["request_id"]) <= 64
    assert 6 <= len(body["user_id"]) <= 128
    assert request.headers["Authorization"] == "Bearer test-glm-key.secret"


async def test_thread_follow_up_continues_conversation_across_restart(
    bot_env: dict[str, str], fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    bot = await RunningBot().start()
    try:
        root = mention_event("first question")
        await bot.slack.event(root)
        await bot.wait_handled(1)
        conversation_id = fake_glm.streams[0].conversation_id

        follow = message_event("second question", thread_ts=root["ts"])
        await bot.slack.event(follow)
        await bot.wait_handled(2)
    finally:
        await bot.stop()

    assert fake_glm.requests[1].body["conversation_id"] == conversation_id

    restarted = await RunningBot().start()
    try:
        later = message_event("third question, after a restart", thread_ts=root["ts"])
        await restarted.slack.event(later)
        await restarted.wait_handled(1)
    finally:
        await restarted.stop()

    assert fake_glm.requests[2].body["conversation_id"] == conversation_id
    texts = [m["content"][0]["text"] for m in fake_glm.conversations[conversation_id]]
    assert texts == [
        "first question",
        "second question",
        "third question, after a restart",
    ]
    assert len(bot_messages(fake_slack, "C0001", root["ts"])) == 3


async def test_unmentioned_messages_outside_bot_threads_are_ignored(
    running_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    human_root = fake_slack.add_message("C0001", "people talking", user="U0002")
    await running_bot.slack.event(message_event("top-level chatter"))
    await running_bot.slack.event(message_event("a reply in a human thread", thread_ts=human_root))
    await running_bot.slack.event(message_event("edited", subtype="message_changed", user=None))
    await running_bot.slack.event(message_event("from a bot", bot_id="B0OTHER", user="U0BOTX"))
    marker = mention_event("only this")
    await running_bot.slack.event(marker)
    await running_bot.wait_handled(2)  # the human-thread reply (skipped) and the mention
    assert [r.user_text for r in fake_glm.requests] == ["only this"]


async def test_dm_top_level_and_thread_replies(
    running_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    dm = message_event("hi in a DM", channel="D0001", channel_type="im")
    await running_bot.slack.event(dm)
    await running_bot.wait_handled(1)
    reply = message_event("and a follow-up", channel="D0001", channel_type="im", thread_ts=dm["ts"])
    await running_bot.slack.event(reply)
    await running_bot.wait_handled(2)

    assert len(bot_messages(fake_slack, "D0001", dm["ts"])) == 2
    first, second = fake_glm.requests
    assert second.body["conversation_id"] == fake_glm.streams[0].conversation_id
    assert "conversation_id" not in first.body


async def test_retry_and_double_delivery_answer_once(
    running_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    root = mention_event("start")
    await running_bot.slack.event(root)
    await running_bot.wait_handled(1)

    # A mention inside the bot's thread arrives as app_mention and as message.
    ts = "1800000000.000100"
    text_event = message_event("<@UBOT> again", thread_ts=root["ts"], ts=ts)
    mention = mention_event("again", thread_ts=root["ts"], ts=ts)
    await running_bot.slack.event(mention, event_id="EvMention1")
    await running_bot.slack.event(text_event, event_id="EvMessage1")
    # Slack retries the first delivery.
    retry = await running_bot.slack.event(mention, event_id="EvMention1", retry_num=1)
    assert retry.status == 200
    await running_bot.wait_handled(4)

    assert [r.user_text for r in fake_glm.requests] == ["start", "again"]
    assert len(bot_messages(fake_slack, "C0001", root["ts"])) == 2


async def test_bad_signature_is_rejected(
    running_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    import json
    import time

    sneaky = mention_event("sneaky")
    envelope = event_envelope(sneaky, event_id="EvSneaky")
    resp = await running_bot.slack.raw(
        json.dumps(envelope).encode(),
        {
            "Content-Type": "application/json",
            "X-Slack-Request-Timestamp": str(int(time.time())),
            "X-Slack-Signature": "v0=deadbeef",
        },
    )
    assert resp.status == 401

    # Handling is asynchronous: synchronise on a genuine message in the same thread. Turns of one
    # thread run in delivery order, so once it is answered the forged one would have been too.
    marker = mention_event("genuine", thread_ts=sneaky["ts"])
    await running_bot.slack.event(marker)
    await running_bot.wait_handled(1)
    await fake_slack.wait_for(
        lambda f: len(f.thread_replies_by_bot("C0001", sneaky["ts"])) >= 1, what="the reply"
    )
    assert [r.user_text for r in fake_glm.requests] == ["genuine"]
    assert running_bot.executor.finished == 1


async def test_healthz(running_bot: RunningBot) -> None:
    status, body = await running_bot.get("/healthz")
    assert status == 200
    assert body["ok"] is True and body["database"] == "ok"
