"""ALLOWED_TEAM_IDS and USE_SLACK_LOCALE, set as an operator would (environment variables)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.conftest import RunningBot
from tests.fakes import FakeGLM, FakeSlack, Reply, mention_event, message_event


@pytest.fixture
async def team_bot(
    bot_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[RunningBot]:
    monkeypatch.setenv("ALLOWED_TEAM_IDS", "T0001")
    bot = await RunningBot().start()
    yield bot
    await bot.stop()


async def test_allowed_team_ids_refuse_other_workspaces(
    team_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    # Another workspace of an Enterprise Grid (or a shared channel): same app, other team_id.
    foreign_channel = mention_event("hi from elsewhere")
    foreign_dm = message_event("hi in a DM", channel="D0777", channel_type="im")
    home = mention_event("hi from home")
    await team_bot.slack.event(foreign_channel, team_id="T0999")
    await team_bot.slack.event(foreign_dm, team_id="T0999")
    await team_bot.slack.event(home, team_id="T0001")
    await team_bot.wait_handled(3)

    assert [r.user_text for r in fake_glm.requests] == ["hi from home"]
    assert fake_slack.thread_replies_by_bot("C0001", foreign_channel["ts"]) == [], "silent"
    (refusal,) = fake_slack.thread_replies_by_bot("D0777", foreign_dm["ts"])
    assert refusal.text == ":lock: Sorry, this bot is not enabled for you here."
    (answer,) = fake_slack.thread_replies_by_bot("C0001", home["ts"])
    assert answer.text == "Echo: hi from home"


@pytest.fixture
async def fixed_language_bot(
    bot_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[RunningBot]:
    monkeypatch.setenv("USE_SLACK_LOCALE", "false")
    monkeypatch.setenv("DEFAULT_LANGUAGE", "zh")
    bot = await RunningBot().start()
    yield bot
    await bot.stop()


async def test_without_slack_locale_everyone_gets_the_default_language(
    fixed_language_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    # alice's Slack locale is en-US, but the operator chose 中文 for everyone.
    fake_glm.enqueue(Reply.error(400, "1301"))
    event = mention_event("hello")
    await fixed_language_bot.slack.event(event)
    await fixed_language_bot.wait_handled(1)

    (reply,) = fake_slack.thread_replies_by_bot("C0001", event["ts"])
    assert reply.text == ":warning: GLM 错误 1301：请求或回答被内容安全策略拦截"
    statuses = [s for c, t, s in fake_slack.status_history if t == event["ts"]]
    assert statuses[0] == "正在思考…"
    assert fake_slack.calls_to("users.info") == [], "the locale is not even looked up"
