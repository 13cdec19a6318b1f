"""Unit tests for /glm-agent's pure text and Block Kit builders and its answer logic."""

from __future__ import annotations

from typing import Any

import pytest

from bot.agents import DEFAULT_AGENT, OFFICIAL_AGENTS, agent_by_id, resolve_agent
from bot.slack.agent_messages import (
    PICKER_BLOCK_ID,
    SELECT_ACTION_ID,
    catalogue_text,
    confirmation_text,
    database_error_text,
    help_text,
    list_text,
    no_match_text,
    picker_blocks,
    picker_text,
    reset_text,
)
from bot.slack.commands import AgentSettings, answer_command, answer_selection

BY_SHORT = {agent.short_name: agent for agent in OFFICIAL_AGENTS}
DRAWING = BY_SHORT["drawing"]
CUSTOM = agent_by_id("0123456789abcdef01234567")


def _select(blocks: list[dict[str, Any]]) -> dict[str, Any]:
    (section,) = [b for b in blocks if b.get("block_id") == PICKER_BLOCK_ID]
    return section["accessory"]


# ------------------------------------------------------------------------------- picker


def test_picker_has_all_agents_with_official_names_and_ids() -> None:
    menu = _select(picker_blocks(DEFAULT_AGENT, channel_id="C1", default=DEFAULT_AGENT))

    assert menu["type"] == "static_select"
    assert menu["action_id"] == SELECT_ACTION_ID
    options = menu["options"]
    assert len(options) == 12
    for agent, option in zip(OFFICIAL_AGENTS, options, strict=True):
        assert option["text"] == {
            "type": "plain_text",
            "text": f"{agent.number}. {agent.official_name}",
            "emoji": True,
        }
        assert option["description"]["type"] == "plain_text"
        assert option["description"]["text"].startswith(agent.short_name)
        assert agent.title_en in option["description"]["text"]
        assert option["value"] == agent.assistant_id


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
    section = blocks[0]["text"]["text"]
    assert CUSTOM.assistant_id in section and "custom" in section


def test_picker_text_names_current_and_default() -> None:
    text = picker_text(DEFAULT_AGENT, channel_id="C1", default=DEFAULT_AGENT)
    assert "*ChatGLM（官方）*" in text and "(the default)" in text
    text = picker_text(DRAWING, channel_id="D1", default=DEFAULT_AGENT)
    assert "this DM" in text and "AI画图（官方）" in text and "default" not in text.split(".")[0]


def test_picker_shows_descriptions() -> None:
    blocks = picker_blocks(DEFAULT_AGENT, channel_id="C1", default=DEFAULT_AGENT)
    everything = str(blocks)
    for agent in OFFICIAL_AGENTS:
        assert agent.description_en in everything


# ------------------------------------------------------------------------------- texts


def test_catalogue_has_one_line_per_agent() -> None:
    lines = catalogue_text().splitlines()
    assert len(lines) == 12
    assert lines[5] == "*6.* AI画图（官方） · `drawing` — " + DRAWING.description_en


def test_help_text_covers_usage_scope_and_catalogue() -> None:
    text = help_text(DRAWING, channel_id="C1", default=DEFAULT_AGENT)
    for form in ("`/glm-agent`", "`/glm-agent <selector>`", "`/glm-agent list`"):
        assert form in text
    assert "`/glm-agent default`" in text and "ChatGLM（官方）" in text
    assert "*new* threads" in text and "keep their assistant" in text
    assert "New threads in this channel use *AI画图（官方） · AI drawing*" in text
    assert catalogue_text() in text


def test_list_text_has_current_and_catalogue() -> None:
    text = list_text(DEFAULT_AGENT, channel_id="C1", default=DEFAULT_AGENT)
    assert text.startswith("New threads in this channel use *ChatGLM（官方）*")
    assert catalogue_text() in text


def test_confirmation_text() -> None:
    text = confirmation_text(DRAWING, channel_id="C1")
    assert "New threads in this channel will use *AI画图（官方） · AI drawing* (`drawing`)" in text
    assert "Existing threads keep the assistant they started with." in text
    assert "custom" not in text
    assert "this DM" in confirmation_text(DRAWING, channel_id="D1")


def test_confirmation_text_for_custom_agent_says_so() -> None:
    text = confirmation_text(CUSTOM, channel_id="C1")
    assert CUSTOM.assistant_id in text
    assert "custom agent" in text and "not one of the official" in text


def test_reset_text_names_the_configured_default() -> None:
    text = reset_text(DRAWING, channel_id="C1")
    assert "back to the default" in text and "AI画图（官方）" in text
    assert reset_text(DRAWING, channel_id="D1").startswith(":leftwards_arrow_with_hook: This DM")


def test_no_match_text_ambiguous() -> None:
    text = no_match_text("pr", resolve_agent("pr"))
    assert "`pr` matches several" in text
    assert "5. 提示词工程师（官方） (`prompt-engineer`)" in text
    assert "10. 程序员助手Sam（官方） (`programmer`)" in text
    assert "Nothing was changed" in text


def test_no_match_text_unknown_with_and_without_candidates() -> None:
    text = no_match_text("drawng", resolve_agent("drawng"))
    assert "Did you mean" in text and "6. AI画图（官方） (`drawing`)" in text
    bare = no_match_text("zzzzzz", resolve_agent("zzzzzz"))
    assert "Did you mean" not in bare and "Nothing was changed" in bare


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
    text = database_error_text()
    assert "try again" in text and "Nothing was changed" in text


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
