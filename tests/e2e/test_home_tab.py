"""The App Home tab end to end: a signed app_home_opened (tab home) → views.publish, with a
view Slack's own models accept, holding the person's figures (and, for admins, the
workspace's month by assistant and channel)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from slack_sdk.models.views import View

from tests.conftest import RunningBot
from tests.e2e.test_usage_quotas import MonthClock, costs
from tests.fakes import FakeGLM, FakeSlack, mention_event
from tests.fakes.slack_requests import app_home_opened_event

JSON = dict[str, Any]
DECEMBER = datetime(2026, 12, 7, 10, tzinfo=UTC)


def text_of(view: JSON) -> str:
    """Every piece of text in the view, one per line (what a person reads)."""
    out: list[str] = []
    for block in view["blocks"]:
        if isinstance(block.get("text"), dict):
            out.append(block["text"]["text"])
        for element in block.get("elements") or []:
            out.append(element.get("text", ""))
    return "\n".join(out)


async def open_home(
    bot: RunningBot, fake: FakeSlack, user: str, dm: str = "D0001", **envelope: Any
) -> JSON:
    """``user`` opens the Home tab; the view published for them. ``envelope``: the event's
    team and authorizations (OAuth mode, ``tests.oauth_helpers.mention_in``)."""
    before = len([c for c in fake.calls_to("views.publish") if c.done])
    await bot.slack.event(app_home_opened_event(user=user, channel=dm, tab="home"), **envelope)
    call = await fake.wait_for(
        lambda f: [c for c in f.calls_to("views.publish") if c.done][before:],
        what="views.publish",
    )
    assert call[0].ok, call[0].response
    view = fake.home_views[user]
    View(**view).to_dict()  # slack_sdk's models accept it (limits, block shapes)
    assert View(**view).type == "home"
    return view


async def answered(bot: RunningBot, n: int, **kw: Any) -> None:
    await bot.slack.event(mention_event("question", **kw))
    await bot.wait_handled(n)


@pytest.fixture
async def bot(monkeypatch: pytest.MonkeyPatch, bot_env: dict[str, str], fake_glm: FakeGLM) -> Any:
    monkeypatch.setenv("MONTHLY_TOKENS_PER_USER", "10000")
    monkeypatch.setenv("AGENT_ADMIN_USER_IDS", "U0002")
    running = await RunningBot(clock=MonthClock(DECEMBER)).start()
    yield running
    await running.stop()


async def test_a_person_sees_their_month_their_limit_and_their_dm_assistant(
    bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    fake_glm.enqueue(costs(1000, 234), costs(4000, 1))
    await answered(bot, 1, user="U0001")
    await answered(bot, 2, user="U0001")
    text = text_of(await open_home(bot, fake_slack, "U0001"))
    assert "Your GLM usage · December 2026" in text
    assert (
        "You have used *5,235* tokens in December 2026: 5,000 prompt + 235 completion, "
        "over 2 answers." in text
    )
    assert (
        "Your monthly limit is 10,000 tokens (52% used); it resets on 1 January 2027 (UTC)." in text
    )
    assert "Your DM with me uses *ChatGLM（官方）*." in text
    assert "Workspace" not in text, "only admins see the workspace"


async def test_an_admin_sees_the_workspace_by_assistant_and_channel_in_chinese(
    bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    fake_slack.add_user("U0002", name="bob", locale="zh-CN")
    fake_slack.add_channel("C0002", name="design")
    await bot.bot.repo.set_channel_assistant(
        team_id="T0001", channel_id="C0002", assistant_id="66437ef3d920bdc5c60f338e", updated_by="x"
    )
    fake_glm.enqueue(costs(100, 20), costs(3000, 1000), costs(5, 5))
    await answered(bot, 1, user="U0001")
    await answered(bot, 2, user="U0001", channel="C0002")
    await answered(bot, 3, user="U0002")
    text = text_of(await open_home(bot, fake_slack, "U0002", dm="D0002"))
    assert "你的 GLM 用量 · 2026年12月" in text
    assert "你在2026年12月已使用 *10* 个 token" in text
    assert "作为机器人管理员，你没有个人每月上限。" in text
    assert "工作区 · 2026年12月" in text
    assert "*4,130* 个 token（提问 3,105 + 回答 1,025），共 3 次回答。" in text
    drawing = text.index("• AI画图（官方） · AI drawing — 4,000 个 token（1 次回答）")
    chat = text.index("• ChatGLM（官方） — 130 个 token（2 次回答）")
    assert drawing < chat, "the costliest assistant first"
    assert "• <#C0002> — 4,000 个 token（1 次回答）\n• <#C0001> — 130 个 token（2 次回答）" in text


async def test_without_configured_admins_slack_admins_see_the_workspace(
    bot_env: dict[str, str], fake_slack: FakeSlack
) -> None:
    fake_slack.add_user("U0009", name="owner", is_admin=True)
    running = await RunningBot(clock=MonthClock(DECEMBER)).start()
    try:
        admin = text_of(await open_home(running, fake_slack, "U0009", dm="D0009"))
        person = text_of(await open_home(running, fake_slack, "U0001"))
    finally:
        await running.stop()
    assert "Workspace · December 2026" in admin and "_Nothing yet this month._" in admin
    assert "There is no monthly limit on your usage." in person
    assert "Workspace" not in person


async def test_the_messages_tab_still_gets_its_prompts(
    bot: RunningBot, fake_slack: FakeSlack
) -> None:
    await bot.slack.event(app_home_opened_event(user="U0001", channel="D0001", tab="messages"))
    await fake_slack.wait_for(lambda f: "D0001" in f.suggested_prompts, what="prompts")
    assert not fake_slack.calls_to("views.publish")
