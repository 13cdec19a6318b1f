"""Monthly token quotas, end to end: counted from what the fake GLM reports, refused privately
without a GLM call, per person and per workspace, reset when the (injected) month turns."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.conftest import RunningBot
from tests.fakes import FakeGLM, FakeSlack, Reply, mention_event, message_event

CHATGLM = "65940acff94777010aa6b796"


class MonthClock:
    """A clock the test turns by hand: the bot reads it through build_bot(clock=…)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def costs(prompt: int, completion: int) -> Reply:
    """An answer for which the fake GLM reports this usage on its final chunk."""
    usage = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }
    return Reply(chunks=["Answer."], usage=usage)


async def ask(bot: RunningBot, text: str, *, user: str, handled: int, **kw: str) -> dict:
    event = mention_event(text, user=user, **kw)
    await bot.slack.event(event)
    await bot.wait_handled(handled)
    return event


async def test_a_person_is_answered_until_the_quota_then_refused_privately_until_next_month(
    monkeypatch: pytest.MonkeyPatch,
    bot_env: dict[str, str],
    fake_slack: FakeSlack,
    fake_glm: FakeGLM,
) -> None:
    monkeypatch.setenv("MONTHLY_TOKENS_PER_USER", "1000")
    clock = MonthClock(datetime(2026, 12, 15, 9, 30, tzinfo=UTC))
    bot = await RunningBot(clock=clock).start()
    try:
        fake_glm.enqueue(costs(400, 200), costs(400, 200))
        await ask(bot, "first", user="U0001", handled=1)
        await ask(bot, "second", user="U0001", handled=2)  # 600 used < 1000: still answered
        assert len(fake_glm.requests) == 2

        refused = await ask(bot, "third", user="U0001", handled=3)  # 1,200 ≥ 1,000
        assert len(fake_glm.requests) == 2, "no GLM call for a person over their quota"
        (note,) = fake_slack.ephemerals
        assert (note.channel, note.user, note.thread_ts) == ("C0001", "U0001", refused["ts"])
        assert note.text == (
            ":bar_chart: You have used 1,200 tokens this month; your monthly limit is 1,000. "
            "It resets on 1 January 2027 (UTC). I did not send this question to GLM."
        )
        assert not fake_slack.thread_replies_by_bot("C0001", refused["ts"]), "nothing public"

        fake_glm.enqueue(costs(50, 50))
        await ask(bot, "bob's question", user="U0002", handled=4)
        assert fake_glm.requests[-1].user_text == "bob's question", "others still answered"

        clock.now = datetime(2027, 1, 1, 0, 0, 1, tzinfo=UTC)
        fake_glm.enqueue(costs(10, 5))
        await ask(bot, "new month", user="U0001", handled=5)
        assert fake_glm.requests[-1].user_text == "new month", "the quota reset with the month"

        _, metrics = await bot.get_text("/metrics")
    finally:
        await bot.stop()
    assert f'glm_bot_tokens_total{{assistant="{CHATGLM}",kind="prompt"}} 860.0' in metrics
    assert f'glm_bot_tokens_total{{assistant="{CHATGLM}",kind="completion"}} 455.0' in metrics
    assert 'glm_bot_refusals_total{reason="quota"} 1.0' in metrics


async def test_in_a_dm_the_refusal_is_in_the_thread_and_in_the_persons_language(
    monkeypatch: pytest.MonkeyPatch,
    bot_env: dict[str, str],
    fake_slack: FakeSlack,
    fake_glm: FakeGLM,
) -> None:
    monkeypatch.setenv("MONTHLY_TOKENS_PER_USER", "500")
    fake_slack.add_user("U0003", name="wei", locale="zh-CN")
    fake_slack.add_channel("D0003")
    clock = MonthClock(datetime(2026, 2, 3, tzinfo=UTC))
    bot = await RunningBot(clock=clock).start()
    try:
        fake_glm.enqueue(costs(300, 300))
        first = message_event("你好", channel="D0003", user="U0003", channel_type="im")
        await bot.slack.event(first)
        await bot.wait_handled(1)
        second = message_event("再问一个", channel="D0003", user="U0003", channel_type="im")
        await bot.slack.event(second)
        await bot.wait_handled(2)
    finally:
        await bot.stop()
    assert len(fake_glm.requests) == 1
    (note,) = fake_slack.thread_replies_by_bot("D0003", second["ts"])
    assert note.text == (
        ":bar_chart: 你本月已使用 600 个 token，每月上限为 500。额度将于 2026年3月1日（UTC）重置。"
        "这个问题没有发送给 GLM。"
    )
    assert not fake_slack.ephemerals


async def test_the_workspace_quota_holds_for_admins_too_who_have_no_personal_quota(
    monkeypatch: pytest.MonkeyPatch,
    bot_env: dict[str, str],
    fake_slack: FakeSlack,
    fake_glm: FakeGLM,
) -> None:
    monkeypatch.setenv("MONTHLY_TOKENS_PER_USER", "100")
    monkeypatch.setenv("MONTHLY_TOKENS_PER_WORKSPACE", "1000")
    monkeypatch.setenv("AGENT_ADMIN_USER_IDS", "U0001")
    bot = await RunningBot(clock=MonthClock(datetime(2026, 12, 31, 23, 59, tzinfo=UTC))).start()
    try:
        fake_glm.enqueue(costs(300, 300), costs(300, 100))
        await ask(bot, "admin one", user="U0001", handled=1)
        await ask(bot, "admin two", user="U0001", handled=2)  # 600 > 100: the admin is exempt
        assert len(fake_glm.requests) == 2
        await ask(bot, "bob", user="U0002", handled=3)  # workspace at 1,000: everyone waits
        await ask(bot, "admin three", user="U0001", handled=4)
    finally:
        await bot.stop()
    assert len(fake_glm.requests) == 2
    texts = [(e.user, e.text) for e in fake_slack.ephemerals]
    workspace = (
        ":bar_chart: This workspace has used 1,000 tokens this month; its monthly limit is 1,000. "
        "It resets on 1 January 2027 (UTC). I did not send this question to GLM."
    )
    assert texts == [("U0002", workspace), ("U0001", workspace)]


async def test_a_retry_press_over_the_quota_is_refused_privately_and_leaves_the_button(
    monkeypatch: pytest.MonkeyPatch,
    bot_env: dict[str, str],
    fake_slack: FakeSlack,
    fake_glm: FakeGLM,
) -> None:
    from tests.e2e.test_retry_admission import _failed_reply, _press_retry, _retry_value

    monkeypatch.setenv("MONTHLY_TOKENS_PER_USER", "500")
    bot = await RunningBot(clock=MonthClock(datetime(2026, 12, 1, tzinfo=UTC))).start()
    try:
        _, failed = await _failed_reply(bot, fake_slack, fake_glm)  # no usage: nothing counted
        fake_glm.enqueue(costs(500, 100))
        await ask(bot, "elsewhere", user="U0001", handled=2)
        await _press_retry(bot, failed, user="U0001")
        note = await fake_slack.wait_for_call("chat.postEphemeral")
    finally:
        await bot.stop()
    assert note.args["user"] == "U0001"
    assert note.args["text"].startswith(":bar_chart: You have used 600 tokens this month")
    assert len(fake_glm.requests) == 2, "the Retry made no GLM call"
    assert _retry_value(fake_slack.message("C0001", failed.ts)) is not None
