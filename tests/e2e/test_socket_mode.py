"""With SLACK_APP_TOKEN the same listeners run over Socket Mode (and /healthz still answers)."""

from __future__ import annotations

import pytest

from tests.conftest import RunningBot
from tests.fakes import FakeGLM, FakeSlack, mention_event, message_event
from tests.fakes.slack_requests import event_envelope


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
