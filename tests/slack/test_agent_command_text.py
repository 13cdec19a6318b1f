"""Unit tests for /glm-agent's pure text and Block Kit builders and its answer logic."""

from __future__ import annotations

from typing import Any

import pytest

from bot.action_ids import SELECT_ACTION_ID
from bot.agents import DEFAULT_AGENT, OFFICIAL_AGENTS, agent_by_id, resolve_agent
from bot.slack.agent_messages import (
    PICKER_BLOCK_ID,
    catalogue_text,
    confirmation_text,
    database_error_text,
    help_text,
    list_text,
    malformed_command_text,
    no_match_text,
    picker_blocks,
    picker_text,
    reset_text,
)
from bot.slack.commands import (
    AgentSettings,
    answer_command,
    answer_selection,
    on_agent_command,
    on_agent_selection,
)
from bot.texts import Lang

BY_SHORT = {agent.short_name: agent for agent in OFFICIAL_AGENTS}
DRAWING = BY_SHORT["drawing"]
CUSTOM = agent_by_id("0123456789abcdef01234567")


def _select(blocks: list[dict[str, Any]]) -> dict[str, Any]:
    (section,) = [b for b in blocks if b.get("block_id") == PICKER_BLOCK_ID]
    return section["accessory"]


# ------------------------------------------------------------------------------- picker


# What the menu shows a person: "<number>. <official name>", then "<short name> · <title>".
PICKER_OPTIONS = [
    ("1. ChatGLM（官方）", "chatglm · ChatGLM", "65940acff94777010aa6b796"),
    ("2. 数据分析（官方）", "data-analysis · Data analysis", "65a265419d72d299a9230616"),
    ("3. 复杂流程图（官方）", "flowchart · Flowchart", "664dd7bd5bb3a13ba0f81668"),
    ("4. 思维导图 MindMap（官方）", "mindmap · Mind map", "664e0cade018d633146de0d2"),
    ("5. 提示词工程师（官方）", "prompt-engineer · Prompt engineer", "6654898292788e88ce9e7f4c"),
    ("6. AI画图（官方）", "drawing · AI drawing", "66437ef3d920bdc5c60f338e"),
    ("7. AI搜索（官方）", "search · AI search", "659e54b1b8006379b4b2abd6"),
    ("8. PPT助手（官方）", "ppt · PPT assistant", "65d2f07bb2c10188f885bd89"),
    ("9. arXiv论文速读（官方）", "arxiv · arXiv reader", "663058948bb259b7e8a22730"),
    ("10. 程序员助手Sam（官方）", "programmer · Programmer Sam", "65a393b3619c6f13586246cd"),
    ("11. 网文写手（官方）", "novelist · Web-novel writer", "65b356af6924a59d52832e54"),
    ("12. 英语语法助手（官方）", "grammar · English grammar", "668fdd45405f2e3c9f71f832"),
]

# The catalogue as it reads in Slack (mrkdwn), in English and in 中文.
CATALOGUE_EN = """\
*1.* ChatGLM（官方） · `chatglm` — General chat with Qingyan, the default assistant.
*2.* 数据分析（官方） · `data-analysis` — \
Analyses uploaded files or described data, draws charts, runs simple code.
*3.* 复杂流程图（官方） · `flowchart` — Turns a process description into a flowchart in seconds.
*4.* 思维导图 MindMap（官方） · `mindmap` — Turns any complex concept into a mind map.
*5.* 提示词工程师（官方） · `prompt-engineer` — \
Structured-prompt expert that rewrites your prompt in one click.
*6.* AI画图（官方） · `drawing` — Drawing companion that generates images from a description.
*7.* AI搜索（官方） · `search` — \
Searches the whole web, then analyses and summarises the results.
*8.* PPT助手（官方） · `ppt` — \
Slide-deck generator: edit the outline, chapters are filled in automatically.
*9.* arXiv论文速读（官方） · `arxiv` — In-depth speed-reading of arXiv papers.
*10.* 程序员助手Sam（官方） · `programmer` — Search engine for programming knowledge.
*11.* 网文写手（官方） · `novelist` — Writes web fiction from ready-made templates.
*12.* 英语语法助手（官方） · `grammar` — \
Type a word to look it up, or a sentence to check its grammar with explanations."""


def test_picker_has_all_agents_with_official_names_and_ids() -> None:
    menu = _select(picker_blocks(DEFAULT_AGENT, channel_id="C1", default=DEFAULT_AGENT))

    assert menu["type"] == "static_select"
    assert menu["action_id"] == SELECT_ACTION_ID
    assert menu["placeholder"]["text"] == "Switch assistant"
    assert [
        (o["text"]["text"], o["description"]["text"], o["value"]) for o in menu["options"]
    ] == PICKER_OPTIONS
    for option in menu["options"]:
        assert option["text"]["type"] == option["description"]["type"] == "plain_text"


def test_picker_respects_block_kit_limits() -> None:
    blocks = picker_blocks(DRAWING, channel_id="C1", default=DEFAULT_AGENT)
    menu = _select(blocks)
    assert len(menu["options"]) <= 100
    for option in menu["options"]:
        assert 1 <= len(option["text"]["text"]) <= 75
        assert 1 <= len(option["description"]["text"]) <= 75
        assert len(option["value"]) <= 150
    assert len(menu["placeholder"]["text"]) <= 150
    for block in blocks:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= 3000
    assert len(blocks) <= 50


def test_picker_initial_option_is_the_current_official_agent() -> None:
    menu = _select(picker_blocks(DRAWING, channel_id="C1", default=DEFAULT_AGENT))
    assert menu["initial_option"] in menu["options"]
    assert menu["initial_option"]["value"] == DRAWING.assistant_id


def test_picker_has_no_initial_option_for_a_custom_agent() -> None:
    blocks = picker_blocks(CUSTOM, channel_id="C1", default=DEFAULT_AGENT)
    assert "initial_option" not in _select(blocks)
    assert blocks[0]["text"]["text"] == (
        "New threads in this channel use a custom agent (`0123456789abcdef01234567`).\n"
        "Existing threads keep the assistant they started with."
    )


def test_picker_text_names_current_and_default() -> None:
    assert picker_text(DEFAULT_AGENT, channel_id="C1", default=DEFAULT_AGENT) == (
        "New threads in this channel use *ChatGLM（官方）* (`chatglm`) (the default). "
        "Pick another with the menu or `/glm-agent <number or name>`."
    )
    assert picker_text(DRAWING, channel_id="D1", default=DEFAULT_AGENT) == (
        "New threads in this DM use *AI画图（官方） · AI drawing* (`drawing`). "
        "Pick another with the menu or `/glm-agent <number or name>`."
    )
    assert picker_text(DRAWING, channel_id="D1", default=DEFAULT_AGENT, lang="zh") == (
        "这个私信的新消息串使用 *AI画图（官方） · AI drawing* (`drawing`)。"
        "用菜单或 `/glm-agent <编号或名称>` 切换。"
    )


def test_picker_shows_descriptions() -> None:
    blocks = picker_blocks(DEFAULT_AGENT, channel_id="C1", default=DEFAULT_AGENT)
    everything = str(blocks)
    for line in CATALOGUE_EN.splitlines():
        description = line.split(" — ", 1)[1]
        assert description in everything


# ------------------------------------------------------------------------------- texts


def test_catalogue_has_one_line_per_agent() -> None:
    assert catalogue_text() == CATALOGUE_EN
    assert catalogue_text("zh").splitlines()[5] == (
        "*6.* AI画图（官方） · `drawing` — AI 画图伙伴，根据描述生成图片。"
    )


def test_help_text_covers_usage_scope_and_catalogue() -> None:
    assert help_text(DRAWING, channel_id="C1", default=DEFAULT_AGENT) == (
        "*/glm-agent* chooses the GLM assistant that answers *new* threads in this channel. "
        "Threads already started keep their assistant (their conversation belongs to it).\n"
        "New threads in this channel use *AI画图（官方） · AI drawing* (`drawing`).\n"
        "\n"
        "• `/glm-agent` — show the current assistant and a picker\n"
        "• `/glm-agent <selector>` — switch; a selector is the list number (`1`–`12`), a name "
        "(`drawing`, `AI画图`, `AI画图（官方）`, any case; a unique prefix is enough) "
        "or a 24-hex `assistant_id` (custom agents too)\n"
        "• `/glm-agent list` — the catalogue\n"
        "• `/glm-agent default` — back to the configured default, ChatGLM（官方）\n"
        "• `/glm-agent help` — this help\n"
        "\n"
        "*Assistants*\n" + CATALOGUE_EN
    )


def test_list_text_has_current_and_catalogue() -> None:
    assert list_text(DEFAULT_AGENT, channel_id="C1", default=DEFAULT_AGENT) == (
        "New threads in this channel use *ChatGLM（官方）* (`chatglm`) (the default).\n\n"
        + CATALOGUE_EN
        + "\n\nSwitch with `/glm-agent <number or name>`."
    )


def test_confirmation_text() -> None:
    assert confirmation_text(DRAWING, channel_id="C1") == (
        ":white_check_mark: New threads in this channel will use "
        "*AI画图（官方） · AI drawing* (`drawing`).\n"
        "Existing threads keep the assistant they started with."
    )
    assert confirmation_text(DRAWING, channel_id="D1") == (
        ":white_check_mark: New threads in this DM will use "
        "*AI画图（官方） · AI drawing* (`drawing`).\n"
        "Existing threads keep the assistant they started with."
    )
    assert confirmation_text(DRAWING, channel_id="C1", lang="zh") == (
        ":white_check_mark: 这个频道的新消息串将使用 *AI画图（官方） · AI drawing* (`drawing`)。\n"
        "已经开始的消息串继续使用原来的智能体。"
    )


def test_confirmation_text_for_custom_agent_says_so() -> None:
    assert confirmation_text(CUSTOM, channel_id="C1") == (
        ":white_check_mark: New threads in this channel will use a custom agent "
        "(`0123456789abcdef01234567`).\n"
        "Existing threads keep the assistant they started with.\n"
        "_This id is not one of the official assistants, so it is used as a custom agent; "
        "if GLM does not know it, replies will show an error._"
    )


def test_reset_text_names_the_configured_default() -> None:
    assert reset_text(DRAWING, channel_id="C1") == (
        ":leftwards_arrow_with_hook: This channel is back to the default: "
        "new threads will use *AI画图（官方） · AI drawing* (`drawing`).\n"
        "Existing threads keep the assistant they started with."
    )
    assert reset_text(DRAWING, channel_id="D1").startswith(
        ":leftwards_arrow_with_hook: This DM is back to the default: "
    )
    assert reset_text(DEFAULT_AGENT, channel_id="D1", lang="zh") == (
        ":leftwards_arrow_with_hook: 这个私信已恢复默认：新消息串将使用 *ChatGLM（官方）* "
        "(`chatglm`)。\n已经开始的消息串继续使用原来的智能体。"
    )


def test_no_match_text_ambiguous() -> None:
    assert no_match_text("pr", resolve_agent("pr")) == (
        ":thinking_face: `pr` matches several assistants:\n"
        "• 5. 提示词工程师（官方） (`prompt-engineer`)\n"
        "• 10. 程序员助手Sam（官方） (`programmer`)\n"
        "Type more of the name, or use the number.\n"
        "Nothing was changed. `/glm-agent list` shows all 12 assistants."
    )
    assert no_match_text("pr", resolve_agent("pr"), lang="zh") == (
        ":thinking_face: `pr` 匹配了多个智能体：\n"
        "• 5. 提示词工程师（官方） (`prompt-engineer`)\n"
        "• 10. 程序员助手Sam（官方） (`programmer`)\n"
        "请多输入几个字，或使用编号。\n"
        "没有做任何更改。`/glm-agent list` 列出全部 12 个智能体。"
    )


def test_no_match_text_unknown_with_and_without_candidates() -> None:
    assert no_match_text("drawng", resolve_agent("drawng")) == (
        ":thinking_face: I don't know an assistant called `drawng`. Did you mean:\n"
        "• 6. AI画图（官方） (`drawing`)\n"
        "Nothing was changed. `/glm-agent list` shows all 12 assistants."
    )
    assert no_match_text("zzzzzz", resolve_agent("zzzzzz")) == (
        ":thinking_face: I don't know an assistant called `zzzzzz`.\n"
        "Nothing was changed. `/glm-agent list` shows all 12 assistants."
    )


@pytest.mark.parametrize(
    ("selector", "forbidden"),
    [("<!channel>", "<!channel>"), ("<@U123|x>", "<@U123"), ("a & b", " & ")],
)
def test_no_match_text_escapes_user_input(selector: str, forbidden: str) -> None:
    text = no_match_text(selector, resolve_agent(selector))
    assert forbidden not in text


def test_no_match_text_clips_and_defuses_backticks() -> None:
    text = no_match_text("`" + "x" * 500, resolve_agent("x" * 500))
    assert "x" * 61 not in text
    assert "``" not in text


def test_database_error_text_is_friendly() -> None:
    assert database_error_text() == (
        ":warning: I could not read or save the assistant setting right now (database problem). "
        "Nothing was changed; please try again in a minute."
    )
    assert database_error_text("zh") == (
        ":warning: 暂时无法读取或保存智能体设置（数据库问题）。没有做任何更改，请一分钟后再试。"
    )


# ------------------------------------------------------------------------------- answers


class FakeRepo:
    """Just the two repository methods AgentSettings uses, in memory."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], tuple[str, str]] = {}

    async def get_channel_assistant(self, team_id: str, channel_id: str) -> str | None:
        row = self.rows.get((team_id, channel_id))
        return row[0] if row else None

    async def set_channel_assistant(
        self, team_id: str, channel_id: str, assistant_id: str | None, updated_by: str
    ) -> None:
        if assistant_id is None:
            self.rows.pop((team_id, channel_id), None)
        else:
            self.rows[(team_id, channel_id)] = (assistant_id, updated_by)


@pytest.fixture
def repo() -> FakeRepo:
    return FakeRepo()


@pytest.fixture
def settings(repo: FakeRepo) -> AgentSettings:
    return AgentSettings(repo, DEFAULT_AGENT.assistant_id)  # type: ignore[arg-type]


KEYS = {"team_id": "T1", "channel_id": "C1", "user_id": "U1"}


async def test_answer_sets_and_records_user(repo: FakeRepo, settings: AgentSettings) -> None:
    answer = await answer_command(settings, "  6 ", **KEYS)
    assert repo.rows[("T1", "C1")] == (DRAWING.assistant_id, "U1")
    assert answer.blocks is None and not answer.replace_original
    assert "AI画图（官方）" in answer.text


async def test_default_keyword_beats_the_chatglm_alias(repo: FakeRepo) -> None:
    settings = AgentSettings(repo, DRAWING.assistant_id)  # type: ignore[arg-type]
    await answer_command(settings, "1", **KEYS)
    answer = await answer_command(settings, "Default", **KEYS)
    assert repo.rows == {}
    assert "AI画图（官方）" in answer.text


@pytest.mark.parametrize("text", ["", "   ", "「」"])
async def test_empty_selector_shows_picker(
    repo: FakeRepo, settings: AgentSettings, text: str
) -> None:
    answer = await answer_command(settings, text, **KEYS)
    assert answer.blocks is not None
    assert repo.rows == {}


async def test_no_match_changes_nothing(repo: FakeRepo, settings: AgentSettings) -> None:
    await answer_command(settings, "drawing", **KEYS)
    answer = await answer_command(settings, "pr", **KEYS)
    assert "matches several" in answer.text
    assert repo.rows[("T1", "C1")][0] == DRAWING.assistant_id


async def test_selection_replaces_the_picker(repo: FakeRepo, settings: AgentSettings) -> None:
    answer = await answer_selection(settings, DRAWING.assistant_id, **KEYS)
    assert answer.replace_original
    assert repo.rows[("T1", "C1")] == (DRAWING.assistant_id, "U1")


async def test_selection_rejects_non_ids(repo: FakeRepo, settings: AgentSettings) -> None:
    answer = await answer_selection(settings, "drawing", **KEYS)
    assert not answer.replace_original
    assert repo.rows == {}


async def test_malformed_stored_id_falls_back_to_default(
    repo: FakeRepo, settings: AgentSettings
) -> None:
    repo.rows[("T1", "C1")] = ("not-hex", "U9")
    assert await settings.current("T1", "C1") == DEFAULT_AGENT


# ------------------------------------------------------------------------------- listeners


class Responses:
    """Stands in for Bolt's ``respond`` (the response_url post)."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def __call__(self, **kwargs: Any) -> None:
        self.sent.append(kwargs)


async def _english(_user: str) -> Lang:
    return "en"


COMMAND = {
    "command": "/glm-agent",
    "text": "6",
    "team_id": "T0001",
    "channel_id": "C0001",
    "user_id": "U0001",
    "response_url": "https://hooks.slack.com/commands/T0001/1/x",
}


@pytest.mark.parametrize(
    "command",
    [
        {k: v for k, v in COMMAND.items() if k != "user_id"},
        {**COMMAND, "team_id": 7},
        {**COMMAND, "text": None},
        {**COMMAND, "channel_id": "not a channel"},
    ],
)
async def test_a_malformed_command_gets_a_friendly_answer_and_changes_nothing(
    repo: FakeRepo, settings: AgentSettings, command: dict[str, Any]
) -> None:
    respond = Responses()
    await on_agent_command(settings, command, respond, _english)  # type: ignore[arg-type]
    assert [r["text"] for r in respond.sent] == [malformed_command_text()]
    assert respond.sent[0]["response_type"] == "ephemeral"
    assert repo.rows == {}


async def test_a_well_formed_command_is_answered(repo: FakeRepo, settings: AgentSettings) -> None:
    respond = Responses()
    await on_agent_command(settings, COMMAND, respond, _english)  # type: ignore[arg-type]
    assert repo.rows[("T0001", "C0001")] == (DRAWING.assistant_id, "U0001")
    assert len(respond.sent) == 1


async def test_a_picker_click_without_a_channel_changes_nothing(
    repo: FakeRepo, settings: AgentSettings
) -> None:
    click = {
        "type": "block_actions",
        "user": {"id": "U0001", "team_id": "T0001"},
        "actions": [
            {
                "action_id": SELECT_ACTION_ID,
                "selected_option": {"value": DRAWING.assistant_id},
            }
        ],
    }
    respond = Responses()
    await on_agent_selection(settings, click, respond, _english)  # type: ignore[arg-type]
    assert repo.rows == {} and respond.sent == []
    await on_agent_selection(  # type: ignore[arg-type]
        settings, {**click, "channel": {"id": "C0001"}}, respond, _english
    )
    assert repo.rows[("T0001", "C0001")] == (DRAWING.assistant_id, "U0001")
    await on_agent_selection(settings, {"type": "block_actions"}, respond, _english)  # type: ignore[arg-type]
    assert len(respond.sent) == 1
