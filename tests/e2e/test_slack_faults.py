"""Faults on the Slack side and in the database, injected for real; the bot keeps serving."""

from __future__ import annotations

import asyncio
import sqlite3

import aiohttp

from tests.conftest import RunningBot
from tests.fakes import FakeGLM, FakeSlack, Reply, mention_event


async def _healthy(bot: RunningBot) -> None:
    status, body = await bot.get("/healthz")
    assert status == 200 and body["ok"], body


async def test_msg_too_long_makes_the_reply_continue_in_a_new_message(
    running_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    fake_slack.max_text_len = 1500  # a workspace that is stricter than usual
    paragraphs = [f"Paragraph {i}: " + "lorem ipsum " * 20 for i in range(12)]
    fake_glm.enqueue(Reply(chunks=[p + "\n\n" for p in paragraphs]))
    event = mention_event("long please")
    await running_bot.slack.event(event)
    await running_bot.wait_handled(1)

    replies = fake_slack.thread_replies_by_bot("C0001", event["ts"])
    assert len(replies) >= 3
    assert all(len(m.text) <= 1500 for m in replies)
    joined = "\n\n".join(m.text.strip() for m in replies)
    for p in paragraphs:
        assert p.strip() in joined
    assert joined.count("Paragraph 3:") == 1, "nothing duplicated"
    await _healthy(running_bot)


async def _delete_as_a_person(fake_slack: FakeSlack, channel: str, ts: str) -> None:
    """Someone removes the reply in Slack (a real ``chat.delete`` on the fake)."""
    async with (
        aiohttp.ClientSession(trust_env=False) as session,
        session.post(
            fake_slack.api_url + "chat.delete",
            json={"channel": channel, "ts": ts},
            headers={"Authorization": f"Bearer {fake_slack.token}"},
        ) as resp,
    ):
        assert (await resp.json())["ok"] is True


async def test_reply_deleted_mid_stream_stops_the_turn_and_closes_the_upstream(
    running_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    # GLM would go on for 200 more chunks (about 4 s); the reply is deleted after the first.
    gate = asyncio.Event()
    chunks = ["first part. "] + [f"more {i}. " for i in range(200)]
    reply = Reply(chunks=chunks, stall_after=1, gate=gate, chunk_delay=0.02)
    fake_glm.enqueue(reply)
    event = mention_event("delete me")
    await running_bot.slack.event(event)
    call = await fake_slack.wait_for_call("chat.postMessage")
    assert call.args["thread_ts"] == event["ts"]
    ts = str(call.response["ts"])
    await _delete_as_a_person(fake_slack, "C0001", ts)
    gate.set()

    # Slack says message_not_found on the next edit: the turn stops and hangs up on GLM early.
    stream = await fake_glm.wait_for_stream_state("client_closed", "completed", timeout=10)
    assert stream.state == "client_closed", fake_glm.describe()
    assert len(stream.events) < len(chunks), "the bot hung up before GLM's last chunk"
    await running_bot.wait_handled(1)
    edits = fake_slack.calls_to("chat.update")
    assert edits and edits[-1].response["error"] == "message_not_found"
    (failed,) = await running_bot.bot.repo.replies_with_status("failed")
    assert failed.message_ts == (ts,)
    assert fake_slack.thread_replies_by_bot("C0001", event["ts"]) == [], "nothing re-posted"
    await _healthy(running_bot)
    # and the bot still answers the next question
    nxt = mention_event("still there?")
    await running_bot.slack.event(nxt)
    await running_bot.wait_handled(2)
    assert fake_slack.thread_replies_by_bot("C0001", nxt["ts"])


async def test_slack_429_and_5xx_on_posts_and_edits_still_deliver_the_answer(
    running_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    fake_slack.fail("chat.postMessage", "ratelimited", retry_after=1, times=1)
    fake_slack.fail("chat.update", "internal_error", status=500, times=2)
    fake_glm.enqueue(Reply(chunks=["resilient ", "answer"]))
    event = mention_event("hi")
    await running_bot.slack.event(event)
    await running_bot.wait_handled(1)
    (reply,) = fake_slack.thread_replies_by_bot("C0001", event["ts"])
    assert reply.text == "resilient answer"


async def test_not_in_channel_is_logged_not_crashed(
    running_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    fake_slack.fail("chat.postMessage", "not_in_channel", times=1)
    fake_slack.fail("assistant.threads.setStatus", "not_in_channel", times=1)
    event = mention_event("anyone?", channel="C0404")
    await running_bot.slack.event(event)
    await running_bot.wait_handled(1)
    failed = await running_bot.bot.repo.replies_with_status("failed")
    assert len(failed) == 1
    await _healthy(running_bot)


async def test_database_outage_during_a_turn_tells_the_user_and_keeps_serving(
    running_bot: RunningBot, bot_env: dict[str, str], fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    path = bot_env["DATABASE_URL"].split(":///", 1)[1]

    def break_db() -> None:
        with sqlite3.connect(path, timeout=10) as conn:
            conn.execute("ALTER TABLE processed_events RENAME TO processed_events_gone")

    def fix_db() -> None:
        with sqlite3.connect(path, timeout=10) as conn:
            conn.execute("ALTER TABLE processed_events_gone RENAME TO processed_events")

    await asyncio.to_thread(break_db)
    event = mention_event("are you there?")
    await running_bot.slack.event(event)
    await running_bot.wait_handled(1)
    (apology,) = fake_slack.thread_replies_by_bot("C0001", event["ts"])
    assert "can't reach my database" in apology.text
    assert fake_glm.requests == []

    await asyncio.to_thread(fix_db)
    again = mention_event("now?")
    await running_bot.slack.event(again)
    await running_bot.wait_handled(2)
    assert [r.user_text for r in fake_glm.requests] == ["now?"]


async def test_a_429_on_a_notice_is_retried_after_retry_after(
    running_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    """Calls outside the budgets (notices, button edits, recovery, thread reads) had no 429
    retry: the help line was lost. slack_sdk's rate-limit handler now waits Retry-After."""
    fake_slack.fail("chat.postMessage", "ratelimited", retry_after=1, times=1)
    event = mention_event("")  # just a mention: the help line, a ThreadNotices post
    await running_bot.slack.event(event)
    await running_bot.wait_handled(1)
    (help_line,) = fake_slack.thread_replies_by_bot("C0001", event["ts"])
    assert help_line.text.startswith("Hi! Mention me")
    first, second = fake_slack.calls_to("chat.postMessage")
    assert (first.status, second.status) == (429, 200)
    assert second.at - first.at >= 1.0, "Retry-After was honoured"
    assert not fake_glm.requests


async def test_a_429_on_a_streamed_reply_is_left_to_the_budgets(
    running_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    """The reply strategies' client has no 429 retry of its own: the edit strategy sees the
    429, penalises its bucket and waits (counted in /metrics); a client retry would hide it."""
    fake_slack.fail("chat.update", "ratelimited", retry_after=1, times=1)
    fake_glm.enqueue(Reply(chunks=["paced ", "answer"], chunk_delay=0.3))
    event = mention_event("hi")
    await running_bot.slack.event(event)
    await running_bot.wait_handled(1)
    (reply,) = fake_slack.thread_replies_by_bot("C0001", event["ts"])
    assert reply.text == "paced answer"
    statuses = [c.status for c in fake_slack.calls_to("chat.update")]
    assert statuses.count(429) == 1
    _, metrics = await running_bot.get_text("/metrics")
    assert 'glm_bot_slack_api_errors_total{error="ratelimited",method="chat_update"} 1.0' in metrics
