"""Hostile input, access control, rate limits, the upstream slot cap, and observability."""

from __future__ import annotations

import asyncio
import json
import random
import time
from urllib.parse import urlencode

import pytest

from tests.conftest import SIGNING_SECRET, RunningBot
from tests.fakes import FakeGLM, FakeSlack, Reply, mention_event, message_event
from tests.fakes.slack_requests import event_envelope, sign


def _mutations(rng: random.Random) -> list[tuple[bytes, dict[str, str], str]]:
    """Malformed, unsigned, stale and oversized requests, each with why it must be refused."""
    good = json.dumps(event_envelope(mention_event("valid-looking")))
    now = int(time.time())
    cases: list[tuple[bytes, dict[str, str], str]] = []
    for i in range(300):
        kind = i % 10
        body = good
        headers = {"Content-Type": "application/json"}
        if kind == 0:  # unsigned
            pass
        elif kind == 1:  # wrong signature
            headers |= sign("not-the-secret", body)
        elif kind == 2:  # stale timestamp, correctly signed
            headers |= sign(SIGNING_SECRET, body, ts=now - 301 - rng.randrange(10_000))
        elif kind == 3:  # signed, then tampered with
            headers |= sign(SIGNING_SECRET, body)
            body = body.replace("valid-looking", "tampered!")
        elif kind == 4:  # signed garbage
            body = "".join(chr(rng.randrange(32, 0x2FFF)) for _ in range(rng.randrange(0, 300)))
            headers |= sign(SIGNING_SECRET, body)
        elif kind == 5:  # signed truncated JSON
            body = good[: rng.randrange(1, len(good) - 1)]
            headers |= sign(SIGNING_SECRET, body)
        elif kind == 6:  # signed JSON of the wrong shape
            body = json.dumps(
                rng.choice([[], 1, "x", {"type": "event_callback", "event": 3}, {"type": 7}, None])
            )
            headers |= sign(SIGNING_SECRET, body)
        elif kind == 7:  # signed form with a broken interaction payload
            body = urlencode({"payload": "{" * rng.randrange(1, 20)})
            headers = {"Content-Type": "application/x-www-form-urlencoded"}
            headers |= sign(SIGNING_SECRET, body)
        elif kind == 8:  # missing headers / odd content types
            headers = rng.choice([{}, {"Content-Type": "text/plain"}]) | sign(SIGNING_SECRET, body)
            headers.pop(rng.choice(["X-Slack-Signature", "X-Slack-Request-Timestamp"]), None)
        else:  # huge
            body = json.dumps({"type": "event_callback", "pad": "x" * (1_100_000 + i)})
            headers |= sign(SIGNING_SECRET, body)
        cases.append((body.encode(), headers, f"case {i} kind {kind}"))
    return cases


async def test_fuzzed_requests_are_refused_and_the_bot_stays_healthy(
    running_bot: RunningBot, fake_glm: FakeGLM, fake_slack: FakeSlack
) -> None:
    rng = random.Random(20261126)
    for body, headers, label in _mutations(rng):
        resp = await running_bot.slack.raw(body, headers)
        assert 400 <= resp.status < 500, f"{label}: {resp.status} {resp.text[:120]}"
    status, health = await running_bot.get("/healthz")
    assert status == 200 and health["ok"]
    event = mention_event("a real question")
    await running_bot.slack.event(event)
    await running_bot.wait_handled(1)
    assert [r.user_text for r in fake_glm.requests] == ["a real question"]


async def test_slack_specials_in_user_text_and_model_output_never_ping(
    running_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    fake_glm.enqueue(Reply(chunks=["Sure <!channel> and <!here> and <@U0002> & <#C0001>"]))
    event = mention_event("tell <!channel> about <@U0002> in <#C0001|general> see <https://x.io|x>")
    await running_bot.slack.event(event)
    await running_bot.wait_handled(1)
    sent = fake_glm.requests[0].user_text
    assert sent == "tell @channel about @bob in #general see x (https://x.io)"
    (reply,) = fake_slack.thread_replies_by_bot("C0001", event["ts"])
    assert "<!" not in reply.text and "<@" not in reply.text and "<#" not in reply.text
    assert "&lt;!channel&gt;" in reply.text and "&amp;" in reply.text


async def test_odd_text_reaches_glm_readably_and_long_text_is_refused(
    bot_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    fake_slack: FakeSlack,
    fake_glm: FakeGLM,
) -> None:
    monkeypatch.setenv("MAX_INPUT_CHARS", "100")
    bot = await RunningBot().start()
    try:
        odd = "RTL \u05e9\u05dc\u05d5\u05dd, emoji 👩‍💻, zero\u200bwidth, bell\x07, 中文"
        await bot.slack.event(mention_event(odd))
        long_event = mention_event("x" * 101)
        await bot.slack.event(long_event)
        await bot.wait_handled(2)
    finally:
        await bot.stop()
    assert [r.user_text for r in fake_glm.requests] == [
        "RTL \u05e9\u05dc\u05d5\u05dd, emoji 👩‍💻, zerowidth, bell, 中文"
    ]
    (refusal,) = fake_slack.thread_replies_by_bot("C0001", long_event["ts"])
    assert "101 characters" in refusal.text and "limit is 100" in refusal.text


async def test_allow_lists_refuse_politely_in_dms_and_silently_in_channels(
    bot_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    fake_slack: FakeSlack,
    fake_glm: FakeGLM,
) -> None:
    monkeypatch.setenv("ALLOWED_CHANNEL_IDS", "C0001")
    monkeypatch.setenv("ALLOWED_USER_IDS", "U0001, U0002")
    bot = await RunningBot().start()
    try:
        other_channel = mention_event("hi", channel="C0999")
        stranger_dm = message_event("hi", channel="D0009", channel_type="im", user="U0009")
        allowed = mention_event("allowed", channel="C0001", user="U0002")
        await bot.slack.event(other_channel)
        await bot.slack.event(stranger_dm)
        await bot.slack.event(allowed)
        await bot.wait_handled(3)
        await fake_slack.wait_for(
            lambda f: f.thread_replies_by_bot("D0009", stranger_dm["ts"]), what="DM refusal"
        )
    finally:
        await bot.stop()
    assert [r.user_text for r in fake_glm.requests] == ["allowed"]
    assert fake_slack.thread_replies_by_bot("C0999", other_channel["ts"]) == []
    (refusal,) = fake_slack.thread_replies_by_bot("D0009", stranger_dm["ts"])
    assert "not enabled for you" in refusal.text


async def test_per_user_rate_limit(
    bot_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    fake_slack: FakeSlack,
    fake_glm: FakeGLM,
) -> None:
    monkeypatch.setenv("USER_TURNS_PER_WINDOW", "2")
    bot = await RunningBot().start()
    try:
        events = [mention_event(f"q{i}") for i in range(3)]
        for event in events:
            await bot.slack.event(event)
        await bot.wait_handled(3)
        other_user = mention_event("someone else", user="U0002")
        await bot.slack.event(other_user)
        await bot.wait_handled(4)
    finally:
        await bot.stop()
    asked = [r.user_text for r in fake_glm.requests]
    assert len(asked) == 3 and asked[-1] == "someone else"
    (refused,) = [e for e in events if e["text"].split()[-1] not in asked]
    (refusal,) = fake_slack.thread_replies_by_bot("C0001", refused["ts"])
    assert "try again in about" in refusal.text


async def test_upstream_slot_cap_queues_and_says_so(
    bot_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    fake_slack: FakeSlack,
    fake_glm: FakeGLM,
) -> None:
    monkeypatch.setenv("MAX_CONCURRENT_STREAMS", "1")
    bot = await RunningBot().start()
    gate = asyncio.Event()
    fake_glm.enqueue(Reply(chunks=["first ", "answer"], stall_after=1, gate=gate))
    fake_glm.enqueue(Reply(chunks=["second answer"]))
    try:
        one, two = mention_event("one"), mention_event("two")
        await bot.slack.event(one)
        await fake_glm.wait_for_stream_start(1)
        await bot.slack.event(two)
        await fake_slack.wait_for(
            lambda f: f.statuses.get(("C0001", two["ts"])) == "is waiting for a free slot…",
            what="the queued status",
        )
        assert len(fake_glm.requests) == 1, "the second waits for a slot"
        _, metrics = await bot.get_text("/metrics")
        assert "glm_bot_queued_turns 1.0" in metrics
        gate.set()
        await bot.wait_handled(2)
        _, metrics = await bot.get_text("/metrics")
    finally:
        await bot.stop()
    assert [r.user_text for r in fake_glm.requests] == ["one", "two"]
    assert fake_slack.thread_replies_by_bot("C0001", two["ts"])[0].text == "second answer"
    assert 'glm_bot_turns_total{outcome="done"} 2.0' in metrics
    assert "glm_bot_queued_turns 0.0" in metrics
    assert "glm_bot_ack_seconds_count" in metrics
    assert "glm_bot_first_text_seconds_count 2.0" in metrics


async def test_metrics_count_upstream_errors(running_bot: RunningBot, fake_glm: FakeGLM) -> None:
    fake_glm.enqueue(Reply.error(400, "1301"))
    await running_bot.slack.event(mention_event("bad"))
    await running_bot.wait_handled(1)
    status, metrics = await running_bot.get_text("/metrics")
    assert status == 200
    assert 'glm_bot_upstream_errors_total{code="1301"} 1.0' in metrics
    assert 'glm_bot_turns_total{outcome="failed"} 1.0' in metrics


async def test_a_flooded_thread_is_told_to_wait_not_queued_without_end(
    bot_env: dict[str, str], fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    """The executor's queues are bounded: past the bound a message is refused with a notice in
    the thread (and counted), the queued ones are still answered in order."""
    bot = await RunningBot(max_per_key=1).start()
    try:
        gate = asyncio.Event()
        fake_glm.enqueue(Reply(chunks=["first ", "answer"], stall_after=1, gate=gate))
        root = mention_event("first")
        await bot.slack.event(root)
        await fake_glm.wait_for_stream_state("stalled")
        queued = mention_event("second", thread_ts=root["ts"])
        refused = mention_event("third", thread_ts=root["ts"])
        await bot.slack.event(queued)
        await bot.slack.event(refused)
        notice = await fake_slack.wait_for(
            lambda f: next(
                (m for m in f.thread_replies_by_bot("C0001", root["ts"]) if "waiting" in m.text),
                None,
            ),
            what="the overload notice",
        )
        assert notice.text == (
            ":hourglass: Too many questions are waiting right now; please ask again in a minute."
        )
        gate.set()
        await bot.wait_handled(2)
        assert [r.user_text for r in fake_glm.requests] == ["first", "second"]
        _, metrics = await bot.get_text("/metrics")
        assert 'glm_bot_refusals_total{reason="overloaded"} 1.0' in metrics
    finally:
        await bot.stop()
