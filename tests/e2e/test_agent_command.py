"""/glm-agent end to end: signed slash commands and block_actions to /slack/events, answers
through response_url, the choice in the database, and the assistant_id GLM actually receives."""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.models import ChannelSetting
from tests.conftest import RunningBot
from tests.fakes import FakeGLM, FakeSlack, block_actions_payload, mention_event, message_event

CHATGLM = "65940acff94777010aa6b796"
DRAWING = "66437ef3d920bdc5c60f338e"
PROGRAMMER = "65a393b3619c6f13586246cd"
DATA = "65a265419d72d299a9230616"
CUSTOM = "0123456789abcdef01234567"

JSON = dict[str, Any]


# ------------------------------------------------------------------------------- helpers


async def command(
    bot: RunningBot,
    fake: FakeSlack,
    text: str,
    *,
    channel: str = "C0001",
    user: str = "U0001",
) -> JSON:
    """Send ``/glm-agent text`` and return the body the bot posted to the response_url."""
    url = fake.new_response_url()
    resp = await bot.slack.command(text, channel_id=channel, user_id=user, response_url=url)
    assert resp.status == 200, resp.text
    return await response_to(fake, url)


async def response_to(fake: FakeSlack, url: str) -> JSON:
    """The (first) body posted to ``url``; bounded wait."""
    rid = url.rsplit("/", 1)[1]
    post = await fake.wait_for(
        lambda f: next((r for r in f.responses if r.id == rid), None),
        what=f"a response_url post to {rid}",
    )
    return post.body


async def ask(
    bot: RunningBot,
    glm: FakeGLM,
    event: JSON,
) -> JSON:
    """Deliver one message event, wait until it is handled, return the GLM request body."""
    before_handled = bot.executor.finished
    before_requests = len(glm.requests)
    await bot.slack.event(event)
    await bot.wait_handled(before_handled + 1)
    assert len(glm.requests) == before_requests + 1, glm.describe()
    return glm.requests[-1].body


async def stored(bot: RunningBot, channel: str = "C0001", team: str = "T0001") -> str | None:
    return await bot.bot.repo.get_channel_assistant(team_id=team, channel_id=channel)


def select_element(body: JSON) -> JSON:
    """The picker's static_select (section accessory)."""
    for block in body.get("blocks") or []:
        accessory = block.get("accessory") or {}
        if accessory.get("action_id") == "glm_agent_select":
            return accessory
    raise AssertionError(f"no glm_agent_select in {body}")


def selection_payload(option: JSON, *, response_url: str, channel: str = "C0001") -> JSON:
    """What Slack posts when the user picks ``option`` in the ephemeral picker."""
    payload = block_actions_payload(
        [
            {
                "type": "static_select",
                "action_id": "glm_agent_select",
                "block_id": "glm_agent_picker",
                "selected_option": option,
                "placeholder": {"type": "plain_text", "text": "Switch assistant", "emoji": True},
                "action_ts": "1700000000.000001",
            }
        ],
        channel=channel,
        message_ts="1700000000.000000",
        response_url=response_url,
    )
    payload["container"]["is_ephemeral"] = True
    return payload


# ------------------------------------------------------------------------------- selectors


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("6", DRAWING),
        ("#10", PROGRAMMER),
        (DRAWING, DRAWING),
        (DRAWING.upper(), DRAWING),
        ("AI画图（官方）", DRAWING),
        ("AI画图(官方)", DRAWING),
        ("AI画图", DRAWING),
        ("drawing", DRAWING),
        ("DRAWING", DRAWING),
        ("Drawing", DRAWING),
        ("sam", PROGRAMMER),
        ("dra", DRAWING),
        ("Data Analysis", DATA),
    ],
)
async def test_selector_forms_set_the_channel_assistant(
    running_bot: RunningBot,
    fake_slack: FakeSlack,
    fake_glm: FakeGLM,
    selector: str,
    expected: str,
) -> None:
    body = await command(running_bot, fake_slack, selector)

    assert body["response_type"] == "ephemeral"
    assert "New threads in this channel will use" in body["text"]
    assert "Existing threads keep" in body["text"]
    assert await stored(running_bot) == expected
    request = await ask(running_bot, fake_glm, mention_event("hi"))
    assert request["assistant_id"] == expected


async def test_custom_assistant_id_is_accepted_with_a_note(
    running_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    body = await command(running_bot, fake_slack, CUSTOM.upper())

    assert CUSTOM in body["text"]
    assert "custom" in body["text"].lower()
    assert await stored(running_bot) == CUSTOM
    request = await ask(running_bot, fake_glm, mention_event("hi"))
    assert request["assistant_id"] == CUSTOM


async def test_choice_records_who_and_when(running_bot: RunningBot, fake_slack: FakeSlack) -> None:
    await command(running_bot, fake_slack, "drawing", user="U0002")

    async with AsyncSession(running_bot.bot.engine) as session:
        row = await session.scalar(select(ChannelSetting))
    assert row is not None
    assert (row.team_id, row.channel_id, row.assistant_id) == ("T0001", "C0001", DRAWING)
    assert row.updated_by == "U0002"
    assert row.updated_at is not None


async def test_ambiguous_selector_lists_candidates_and_changes_nothing(
    running_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    await command(running_bot, fake_slack, "drawing")

    body = await command(running_bot, fake_slack, "pr")

    text = body["text"]
    assert body["response_type"] == "ephemeral"
    assert "matches several" in text
    assert "提示词工程师（官方）" in text and "`prompt-engineer`" in text
    assert "程序员助手Sam（官方）" in text and "`programmer`" in text
    assert "Nothing was changed" in text
    assert await stored(running_bot) == DRAWING
    request = await ask(running_bot, fake_glm, mention_event("hi"))
    assert request["assistant_id"] == DRAWING


async def test_unknown_selector_suggests_closest_and_changes_nothing(
    running_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    body = await command(running_bot, fake_slack, "drawng")

    text = body["text"]
    assert "`drawng`" in text
    assert "Did you mean" in text and "AI画图（官方）" in text
    assert "Nothing was changed" in text
    assert await stored(running_bot) is None

    out_of_range = await command(running_bot, fake_slack, "13")
    assert "`13`" in out_of_range["text"] and "Nothing was changed" in out_of_range["text"]
    assert await stored(running_bot) is None

    request = await ask(running_bot, fake_glm, mention_event("hi"))
    assert request["assistant_id"] == CHATGLM


async def test_echoed_selector_is_escaped(running_bot: RunningBot, fake_slack: FakeSlack) -> None:
    body = await command(running_bot, fake_slack, "<!channel> `x` & co")

    assert "<!channel>" not in body["text"]
    assert "&lt;!channel&gt;" in body["text"]
    assert await stored(running_bot) is None


# ----------------------------------------------------------------------- list / help / default


@pytest.mark.parametrize("word", ["list", "LIST", "help", "Help"])
async def test_list_and_help_show_catalogue(
    running_bot: RunningBot, fake_slack: FakeSlack, word: str
) -> None:
    from bot.agents import OFFICIAL_AGENTS

    body = await command(running_bot, fake_slack, word)

    text = body["text"]
    assert body["response_type"] == "ephemeral"
    for agent in OFFICIAL_AGENTS:
        assert f"*{agent.number}.* {agent.official_name}" in text
        assert f"`{agent.short_name}`" in text
        assert agent.description_en in text
    assert "New threads in this channel use *ChatGLM（官方）*" in text
    if word.lower() == "help":
        assert "`/glm-agent default`" in text
        assert "`/glm-agent <selector>`" in text
    assert await stored(running_bot) is None


async def test_default_clears_the_choice(
    running_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    await command(running_bot, fake_slack, "drawing")
    assert await stored(running_bot) == DRAWING

    body = await command(running_bot, fake_slack, "default")

    assert "back to the default" in body["text"]
    assert "ChatGLM（官方）" in body["text"]
    assert await stored(running_bot) is None
    request = await ask(running_bot, fake_glm, mention_event("hi"))
    assert request["assistant_id"] == CHATGLM


async def test_default_uses_the_configured_default(
    bot_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    fake_slack: FakeSlack,
    fake_glm: FakeGLM,
) -> None:
    monkeypatch.setenv("GLM_DEFAULT_ASSISTANT_ID", DATA)
    bot = await RunningBot().start()
    try:
        await command(bot, fake_slack, "drawing")
        body = await command(bot, fake_slack, "default")
        assert "数据分析（官方）" in body["text"]
        assert await stored(bot) is None
        request = await ask(bot, fake_glm, mention_event("hi"))
    finally:
        await bot.stop()
    assert request["assistant_id"] == DATA


# ------------------------------------------------------------------------------- picker


async def test_picker_flow(
    running_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    from bot.agents import OFFICIAL_AGENTS

    body = await command(running_bot, fake_slack, "")

    assert body["response_type"] == "ephemeral"
    assert "ChatGLM" in body["text"]
    menu = select_element(body)
    assert menu["type"] == "static_select"
    options = menu["options"]
    assert [o["value"] for o in options] == [a.assistant_id for a in OFFICIAL_AGENTS]
    assert options[5]["text"]["text"] == "6. AI画图（官方）"
    assert "drawing" in options[5]["description"]["text"]
    assert all(len(o["text"]["text"]) <= 75 for o in options)
    assert all(len(o["description"]["text"]) <= 75 for o in options)
    assert menu["initial_option"]["value"] == CHATGLM
    assert "AI画图（官方）" in str(body["blocks"])  # catalogue with descriptions

    url = fake_slack.new_response_url()
    resp = await running_bot.slack.action(selection_payload(options[5], response_url=url))
    assert resp.status == 200
    confirmation = await response_to(fake_slack, url)

    assert confirmation["replace_original"] is True
    assert "AI画图（官方）" in confirmation["text"]
    assert "Existing threads keep" in confirmation["text"]
    assert await stored(running_bot) == DRAWING

    again = await command(running_bot, fake_slack, "")
    assert select_element(again)["initial_option"]["value"] == DRAWING
    request = await ask(running_bot, fake_glm, mention_event("hi"))
    assert request["assistant_id"] == DRAWING


async def test_picker_with_custom_current_has_no_initial_option(
    running_bot: RunningBot, fake_slack: FakeSlack
) -> None:
    await command(running_bot, fake_slack, CUSTOM)
    body = await command(running_bot, fake_slack, "")
    menu = select_element(body)
    assert "initial_option" not in menu
    assert CUSTOM in body["text"]


async def test_picker_rejects_a_value_that_is_not_an_id(
    running_bot: RunningBot, fake_slack: FakeSlack
) -> None:
    url = fake_slack.new_response_url()
    option = {"text": {"type": "plain_text", "text": "x"}, "value": "not-an-id"}
    resp = await running_bot.slack.action(selection_payload(option, response_url=url))
    assert resp.status == 200
    body = await response_to(fake_slack, url)
    assert "Nothing was changed" in body["text"]
    assert body["replace_original"] is False
    assert await stored(running_bot) is None


# ------------------------------------------------------------------------------- scope


async def test_thread_keeps_its_assistant_and_new_threads_use_the_new_one(
    running_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    root = mention_event("first, before the switch")
    first = await ask(running_bot, fake_glm, root)
    assert first["assistant_id"] == CHATGLM
    conversation_id = fake_glm.streams[0].conversation_id

    await command(running_bot, fake_slack, "drawing")

    follow_up = await ask(
        running_bot, fake_glm, message_event("follow-up after the switch", thread_ts=root["ts"])
    )
    assert follow_up["assistant_id"] == CHATGLM
    assert follow_up["conversation_id"] == conversation_id

    fresh = await ask(running_bot, fake_glm, mention_event("a new thread"))
    assert fresh["assistant_id"] == DRAWING
    assert "conversation_id" not in fresh


async def test_other_channel_is_unaffected(
    running_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    await command(running_bot, fake_slack, "drawing", channel="C0001")

    here = await ask(running_bot, fake_glm, mention_event("here", channel="C0001"))
    there = await ask(running_bot, fake_glm, mention_event("there", channel="C0002"))

    assert here["assistant_id"] == DRAWING
    assert there["assistant_id"] == CHATGLM
    assert await stored(running_bot, "C0002") is None


async def test_dm_choice_is_per_user(
    running_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    body = await command(running_bot, fake_slack, "sam", channel="D0001", user="U0001")
    assert "New threads in this DM will use" in body["text"]

    mine = await ask(
        running_bot,
        fake_glm,
        message_event("hi", channel="D0001", user="U0001", channel_type="im"),
    )
    theirs = await ask(
        running_bot,
        fake_glm,
        message_event("hi", channel="D0002", user="U0002", channel_type="im"),
    )
    assert mine["assistant_id"] == PROGRAMMER
    assert theirs["assistant_id"] == CHATGLM


async def test_works_in_channel_the_bot_has_not_joined(
    running_bot: RunningBot, fake_slack: FakeSlack
) -> None:
    body = await command(running_bot, fake_slack, "drawing", channel="C0NOTJOINED")

    assert "AI画图（官方）" in body["text"]
    assert await stored(running_bot, "C0NOTJOINED") == DRAWING
    # The answer went through response_url only: no Web API call that needs membership.
    assert not fake_slack.calls_to("chat.postMessage")
    assert not fake_slack.calls_to("chat.postEphemeral")


# ------------------------------------------------------------------------------- persistence


async def test_choice_survives_restart(
    bot_env: dict[str, str], fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    bot = await RunningBot().start()
    try:
        await command(bot, fake_slack, "6")
    finally:
        await bot.stop()

    restarted = await RunningBot().start()
    try:
        picker = await command(restarted, fake_slack, "")
        request = await ask(restarted, fake_glm, mention_event("after the restart"))
    finally:
        await restarted.stop()

    assert select_element(picker)["initial_option"]["value"] == DRAWING
    assert request["assistant_id"] == DRAWING


async def test_choice_is_shared_by_instances_on_one_database(
    bot_env: dict[str, str], fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    first = await RunningBot().start()
    second = await RunningBot().start()
    try:
        await command(first, fake_slack, "ppt")
        request = await ask(second, fake_glm, mention_event("on the other instance"))
    finally:
        await first.stop()
        await second.stop()
    assert request["assistant_id"] == "65d2f07bb2c10188f885bd89"


# ------------------------------------------------------------------------------- ack & failures


def _database_file(env: dict[str, str]) -> str:
    return env["DATABASE_URL"].split(":///", 1)[1]


async def test_ack_does_not_wait_for_the_database(
    running_bot: RunningBot, fake_slack: FakeSlack, bot_env: dict[str, str]
) -> None:
    # A real fault: another connection holds SQLite's write lock, so the bot's write must wait.
    # The blocker runs in a thread: a blocking sqlite3 call on the event loop would also stall
    # the bot, whose own transactions need the loop to commit.
    blocker = sqlite3.connect(
        _database_file(bot_env), isolation_level=None, check_same_thread=False, timeout=10
    )
    await asyncio.to_thread(blocker.execute, "BEGIN IMMEDIATE")
    try:
        url = fake_slack.new_response_url()
        resp = await asyncio.wait_for(
            running_bot.slack.command("drawing", response_url=url), timeout=3
        )
        assert resp.status == 200
        assert fake_slack.responses == []  # acked while the database was still locked
    finally:
        await asyncio.to_thread(blocker.execute, "ROLLBACK")
        blocker.close()
    body = await response_to(fake_slack, url)
    assert "AI画图（官方）" in body["text"]
    assert await stored(running_bot) == DRAWING


async def test_database_failure_gets_a_friendly_ephemeral_error(
    running_bot: RunningBot, fake_slack: FakeSlack, bot_env: dict[str, str]
) -> None:
    # A real fault: the table the command needs is gone.
    def drop() -> None:
        with sqlite3.connect(_database_file(bot_env), timeout=10) as conn:
            conn.execute("DROP TABLE channel_settings")

    await asyncio.to_thread(drop)

    for text in ("drawing", "", "default"):
        body = await command(running_bot, fake_slack, text)
        assert body["response_type"] == "ephemeral"
        assert "try again" in body["text"]
        assert "Traceback" not in body["text"]
        assert "OperationalError" not in body["text"]
        assert "no such table" not in body["text"]

    url = fake_slack.new_response_url()
    option = {"text": {"type": "plain_text", "text": "6. AI画图（官方）"}, "value": DRAWING}
    resp = await running_bot.slack.action(selection_payload(option, response_url=url))
    assert resp.status == 200
    body = await response_to(fake_slack, url)
    assert "try again" in body["text"]
    assert body["replace_original"] is False  # the picker stays, so the user can retry


async def test_a_chinese_user_gets_the_command_in_chinese(
    running_bot: RunningBot, fake_slack: FakeSlack
) -> None:
    fake_slack.add_user("U0CN", name="li", real_name="李雷", locale="zh-CN")
    url = fake_slack.new_response_url()
    resp = await running_bot.slack.command("drawing", response_url=url, user_id="U0CN")
    assert resp.status == 200
    body = await response_to(fake_slack, url)
    assert body["text"].startswith(":white_check_mark: 这个频道的新消息串将使用 *AI画图（官方）")
    url = fake_slack.new_response_url()
    await running_bot.slack.command("", response_url=url, user_id="U0CN")
    picker = await response_to(fake_slack, url)
    select = picker["blocks"][0]["accessory"]
    assert select["placeholder"]["text"] == "切换智能体"
    assert "数据分析" in picker["blocks"][1]["text"]["text"]


async def test_only_admins_switch_when_admins_are_configured(
    bot_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, fake_slack: FakeSlack
) -> None:
    monkeypatch.setenv("AGENT_ADMIN_USER_IDS", "U0002")
    bot = await RunningBot().start()
    try:
        refused = await command(bot, fake_slack, "drawing")  # sent by U0001
        assert "Only the bot's admins" in refused["text"]
        assert await stored(bot) is None
        listing = await command(bot, fake_slack, "list")
        assert "AI画图（官方）" in listing["text"], "everyone may still look"
        url = fake_slack.new_response_url()
        await bot.slack.command("drawing", response_url=url, user_id="U0002")
        assert "AI画图（官方）" in (await response_to(fake_slack, url))["text"]
        assert await stored(bot) == DRAWING
    finally:
        await bot.stop()
