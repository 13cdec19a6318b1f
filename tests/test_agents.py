"""Unit tests for the agent catalogue and the selector parser (bot.agents)."""

from __future__ import annotations

import dataclasses
import re

import pytest

from bot.agents import (
    DEFAULT_AGENT,
    DEFAULT_ASSISTANT_ID,
    OFFICIAL_AGENTS,
    Agent,
    Resolution,
    _Index,
    agent_by_id,
    catalogue_lines,
    is_assistant_id,
    resolve_agent,
)

BY_SHORT = {agent.short_name: agent for agent in OFFICIAL_AGENTS}

# The seed table (seed/assistant-api.md), restated independently of the module.
SEED = [
    (1, "65940acff94777010aa6b796", "ChatGLM（官方）"),
    (2, "65a265419d72d299a9230616", "数据分析（官方）"),
    (3, "664dd7bd5bb3a13ba0f81668", "复杂流程图（官方）"),
    (4, "664e0cade018d633146de0d2", "思维导图 MindMap（官方）"),
    (5, "6654898292788e88ce9e7f4c", "提示词工程师（官方）"),
    (6, "66437ef3d920bdc5c60f338e", "AI画图（官方）"),
    (7, "659e54b1b8006379b4b2abd6", "AI搜索（官方）"),
    (8, "65d2f07bb2c10188f885bd89", "PPT助手（官方）"),
    (9, "663058948bb259b7e8a22730", "arXiv论文速读（官方）"),
    (10, "65a393b3619c6f13586246cd", "程序员助手Sam（官方）"),
    (11, "65b356af6924a59d52832e54", "网文写手（官方）"),
    (12, "668fdd45405f2e3c9f71f832", "英语语法助手（官方）"),
]

SHORT_NAMES = [
    "chatglm",
    "data-analysis",
    "flowchart",
    "mindmap",
    "prompt-engineer",
    "drawing",
    "search",
    "ppt",
    "arxiv",
    "programmer",
    "novelist",
    "grammar",
]

# Two unique prefixes per agent, the second Chinese where the agent has a Chinese name.
PREFIXES = {
    "chatglm": ("chatg", "qingy"),
    "data-analysis": ("data-an", "数据"),
    "flowchart": ("flowch", "复杂"),
    "mindmap": ("mindm", "思维"),
    "prompt-engineer": ("prompt eng", "提示词"),
    "drawing": ("drawi", "AI画"),
    "search": ("sear", "AI搜"),
    "ppt": ("pp", "PPT助"),
    "arxiv": ("arx", "arXiv论文"),
    "programmer": ("programm", "程序员"),
    "novelist": ("noveli", "网文"),
    "grammar": ("gramm", "英语"),
}

CUSTOM_ID = "0123456789abcdef01234567"


def by_short(name: str) -> Agent:
    return BY_SHORT[name]


# --- catalogue -------------------------------------------------------------------------------


def test_catalogue_matches_seed_in_order() -> None:
    assert [(a.number, a.assistant_id, a.official_name) for a in OFFICIAL_AGENTS] == SEED
    assert [a.short_name for a in OFFICIAL_AGENTS] == SHORT_NAMES
    assert not any(a.custom for a in OFFICIAL_AGENTS)


def test_ids_are_24_hex_and_unique() -> None:
    ids = [a.assistant_id for a in OFFICIAL_AGENTS]
    assert all(re.fullmatch(r"[0-9a-f]{24}", i) for i in ids)
    assert len(set(ids)) == len(ids) == 12


def test_short_names_unique_lowercase_english() -> None:
    names = [a.short_name for a in OFFICIAL_AGENTS]
    assert len(set(names)) == len(names)
    assert all(re.fullmatch(r"[a-z][a-z-]*", n) for n in names)


def test_text_fields_are_single_lines() -> None:
    for agent in OFFICIAL_AGENTS:
        for text in (agent.title_en, agent.description_en, agent.description_zh):
            assert text and "\n" not in text
        assert all(alias == alias.lower() for alias in agent.aliases)


def test_default_agent() -> None:
    assert DEFAULT_ASSISTANT_ID == "65940acff94777010aa6b796"
    assert DEFAULT_AGENT is OFFICIAL_AGENTS[0]
    assert DEFAULT_AGENT.short_name == "chatglm"


def test_agent_is_frozen_and_slotted() -> None:
    agent = OFFICIAL_AGENTS[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        agent.number = 5  # type: ignore[misc]
    assert not hasattr(agent, "__dict__")


def test_agent_rejects_bad_id() -> None:
    with pytest.raises(ValueError):
        dataclasses.replace(OFFICIAL_AGENTS[0], assistant_id="not-an-id")


def test_display_names() -> None:
    assert by_short("drawing").display_name == "AI画图（官方） · AI drawing"
    assert by_short("chatglm").display_name == "ChatGLM（官方）"
    assert by_short("mindmap").display_name == "思维导图 MindMap（官方）"
    assert by_short("programmer").display_name == "程序员助手Sam（官方） · Programmer Sam"
    assert agent_by_id(CUSTOM_ID).display_name == "Custom agent 0123…4567"


# What a person reads in `/glm-agent list` and the catalogue, written out (not read back from
# the module): number, official name, short name, description in English and in 中文.
CATALOGUE_EN = [
    "1. ChatGLM（官方） — chatglm — General chat with Qingyan, the default assistant.",
    "2. 数据分析（官方） — data-analysis — "
    "Analyses uploaded files or described data, draws charts, runs simple code.",
    "3. 复杂流程图（官方） — flowchart — Turns a process description into a flowchart in seconds.",
    "4. 思维导图 MindMap（官方） — mindmap — Turns any complex concept into a mind map.",
    "5. 提示词工程师（官方） — prompt-engineer — "
    "Structured-prompt expert that rewrites your prompt in one click.",
    "6. AI画图（官方） — drawing — Drawing companion that generates images from a description.",
    "7. AI搜索（官方） — search — "
    "Searches the whole web, then analyses and summarises the results.",
    "8. PPT助手（官方） — ppt — "
    "Slide-deck generator: edit the outline, chapters are filled in automatically.",
    "9. arXiv论文速读（官方） — arxiv — In-depth speed-reading of arXiv papers.",
    "10. 程序员助手Sam（官方） — programmer — Search engine for programming knowledge.",
    "11. 网文写手（官方） — novelist — Writes web fiction from ready-made templates.",
    "12. 英语语法助手（官方） — grammar — "
    "Type a word to look it up, or a sentence to check its grammar with explanations.",
]
CATALOGUE_ZH = [
    "1. ChatGLM（官方） — chatglm — 通用对话（清言），默认智能体。",
    "2. 数据分析（官方） — data-analysis — "
    "分析上传的文件或描述的数据并生成图表，可用简单代码处理文件。",
    "3. 复杂流程图（官方） — flowchart — 五秒生成复杂流程图。",
    "4. 思维导图 MindMap（官方） — mindmap — 把任何复杂概念变成思维导图。",
    "5. 提示词工程师（官方） — prompt-engineer — 结构化提示词专家，一键改写提示词。",
    "6. AI画图（官方） — drawing — AI 画图伙伴，根据描述生成图片。",
    "7. AI搜索（官方） — search — 全网搜索，分析并总结结果。",
    "8. PPT助手（官方） — ppt — PPT 生成助手：手动编辑大纲，自动填充章节内容。",
    "9. arXiv论文速读（官方） — arxiv — 深度速读 arXiv 论文。",
    "10. 程序员助手Sam（官方） — programmer — 编程知识搜索引擎。",
    "11. 网文写手（官方） — novelist — 网络小说写作模板。",
    "12. 英语语法助手（官方） — grammar — 输入单词查词，输入句子检查语法并给出解释。",
]
# English titles (shown after the official name, and accepted as selectors) and aliases.
TITLES_EN = [
    "ChatGLM",
    "Data analysis",
    "Flowchart",
    "Mind map",
    "Prompt engineer",
    "AI drawing",
    "AI search",
    "PPT assistant",
    "arXiv reader",
    "Programmer Sam",
    "Web-novel writer",
    "English grammar",
]


def test_catalogue_lines() -> None:
    assert catalogue_lines() == CATALOGUE_EN
    assert catalogue_lines("zh") == CATALOGUE_ZH


def test_english_titles_and_aliases() -> None:
    assert [a.title_en for a in OFFICIAL_AGENTS] == TITLES_EN
    assert {a.short_name: a.aliases for a in OFFICIAL_AGENTS} == {
        "chatglm": ("glm", "chat", "qingyan", "default"),
        "data-analysis": ("data", "analysis", "analytics"),
        "flowchart": ("flow", "diagram"),
        "mindmap": ("mind-map",),
        "prompt-engineer": ("prompt", "prompts"),
        "drawing": ("draw", "image", "paint"),
        "search": ("web-search",),
        "ppt": ("slides", "deck", "powerpoint"),
        "arxiv": ("paper", "papers"),
        "programmer": ("sam", "code", "coder", "coding"),
        "novelist": ("novel", "writer", "fiction", "web-novel"),
        "grammar": ("english",),
    }


# --- agent_by_id -----------------------------------------------------------------------------


def test_agent_by_id_official_any_case() -> None:
    for agent in OFFICIAL_AGENTS:
        assert agent_by_id(agent.assistant_id) is agent
        assert agent_by_id(f" {agent.assistant_id.upper()} ") is agent


def test_agent_by_id_custom() -> None:
    agent = agent_by_id(CUSTOM_ID.upper())
    assert agent.custom
    assert agent.number == 0
    assert agent.assistant_id == CUSTOM_ID
    assert agent == agent_by_id(CUSTOM_ID)


@pytest.mark.parametrize("bad", ["", "9996ijk789lmn012o345p999", "65940acff94777010aa6b79", "xyz"])
def test_agent_by_id_rejects_non_ids(bad: str) -> None:
    assert not is_assistant_id(bad)
    with pytest.raises(ValueError):
        agent_by_id(bad)


# --- resolve_agent: every selector form for every agent -----------------------------------------


def _selectors(agent: Agent) -> list[tuple[str, str]]:
    """(selector, expected reason) for every accepted form of ``agent``."""
    bare = agent.official_name.removesuffix("（官方）")
    english, chinese = PREFIXES[agent.short_name]
    forms = [
        (str(agent.number), "exact"),
        (f"#{agent.number}", "exact"),
        (agent.assistant_id, "exact"),
        (agent.assistant_id.upper(), "exact"),
        (agent.official_name, "exact"),
        (f"  {agent.official_name}\t", "exact"),
        (bare, "exact"),
        (f"{bare}(官方)", "exact"),
        (f"{bare} (官方)", "exact"),
        (agent.short_name, "exact"),
        (agent.short_name.upper(), "exact"),
        (agent.short_name.replace("-", " "), "exact"),
        (agent.short_name.replace("-", "_").title(), "exact"),
        (agent.title_en, "exact"),
        (agent.title_en.lower(), "exact"),
        (english, "prefix"),
        (chinese, "prefix"),
    ]
    forms += [(alias, "exact") for alias in agent.aliases]
    forms += [(alias.upper().replace("-", " "), "exact") for alias in agent.aliases]
    return forms


CASES = [
    pytest.param(agent, selector, reason, id=f"{agent.short_name}-{selector!r}")
    for agent in OFFICIAL_AGENTS
    for selector, reason in _selectors(agent)
]


@pytest.mark.parametrize(("agent", "selector", "reason"), CASES)
def test_every_selector_form(agent: Agent, selector: str, reason: str) -> None:
    result = resolve_agent(selector)
    assert result == Resolution(agent, (), reason)  # type: ignore[arg-type]
    assert result.ok


@pytest.mark.parametrize(
    ("selector", "short"),
    [
        ("sam", "programmer"),
        ("draw", "drawing"),
        ("思维", "mindmap"),
        ("data analysis", "data-analysis"),
        ("Data_Analysis", "data-analysis"),
        ("AI drawing", "drawing"),
        ("ＡＩ画图（官方）", "drawing"),  # full-width letters and parentheses
        ("思维导图MindMap", "mindmap"),
        ("思维导图 MindMap(官方)", "mindmap"),
        ("程序员助手", "programmer"),
        ("“ppt”", "ppt"),
        ("１２", "grammar"),  # full-width digits, as typed with a CJK IME
        ("＃３", "flowchart"),
    ],
)
def test_selected_examples(selector: str, short: str) -> None:
    assert resolve_agent(selector).agent is by_short(short)


def test_every_alias_resolves_to_exactly_its_agent() -> None:
    seen: dict[str, str] = {}
    for agent in OFFICIAL_AGENTS:
        for name in (agent.short_name, agent.title_en, *agent.aliases):
            key = name.lower().replace("-", "").replace(" ", "")
            assert seen.setdefault(key, agent.short_name) == agent.short_name, name
            result = resolve_agent(name)
            assert result.reason == "exact", name
            assert result.agent is agent, name


# --- ambiguity, unknown, custom, empty -----------------------------------------------------------


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("pr", ("prompt-engineer", "programmer")),
        ("web", ("search", "novelist")),
        ("ai", ("drawing", "search")),
        ("AI", ("drawing", "search")),
    ],
)
def test_ambiguous_prefix(selector: str, expected: tuple[str, ...]) -> None:
    result = resolve_agent(selector)
    assert result.reason == "ambiguous"
    assert result.agent is None
    assert not result.ok
    assert tuple(a.short_name for a in result.candidates) == expected


def test_ambiguous_single_letter_lists_all_matches_in_catalogue_order() -> None:
    result = resolve_agent("p")
    assert result.reason == "ambiguous"
    names = [a.short_name for a in result.candidates]
    assert {"ppt", "prompt-engineer", "programmer"} <= set(names)
    assert names == [a.short_name for a in OFFICIAL_AGENTS if a.short_name in names]


def test_unknown_with_candidates() -> None:
    result = resolve_agent("drawng")
    assert result.reason == "unknown"
    assert result.agent is None
    assert by_short("drawing") in result.candidates
    assert 1 <= len(result.candidates) <= 3
    assert len(set(result.candidates)) == len(result.candidates)


@pytest.mark.parametrize(("typo", "short"), [("flowchrt", "flowchart"), ("grammer", "grammar")])
def test_unknown_typos_suggest_the_intended_agent(typo: str, short: str) -> None:
    result = resolve_agent(typo)
    assert result.reason == "unknown"
    assert result.candidates[0] is by_short(short)


def test_candidates_deduplicated_and_capped() -> None:
    # "papr" is close to both "paper" and "papers", which are the same agent: listed once.
    result = resolve_agent("papr")
    assert result == Resolution(None, (by_short("arxiv"),), "unknown")


@pytest.mark.parametrize("selector", ["xyzzy", "0", "13", "#99"])
def test_unknown_without_candidates(selector: str) -> None:
    result = resolve_agent(selector)
    assert result == Resolution(None, (), "unknown")


def test_custom_id() -> None:
    result = resolve_agent(f"  {CUSTOM_ID.upper()} ")
    assert result.reason == "custom"
    assert result.agent is not None
    assert result.agent.custom
    assert result.agent.number == 0
    assert result.agent.assistant_id == CUSTOM_ID
    assert result.candidates == ()


def test_non_hex_id_is_not_custom() -> None:
    assert resolve_agent("9996ijk789lmn012o345p999").reason == "unknown"


@pytest.mark.parametrize("selector", ["", "   ", "\t\n", "''", " - "])
def test_empty_selector(selector: str) -> None:
    assert resolve_agent(selector) == Resolution(None, (), "empty")


# --- matching rules, on a synthetic catalogue ---------------------------------------------------


def _agent(number: int, short: str, aliases: tuple[str, ...] = ()) -> Agent:
    return Agent(
        number=number,
        assistant_id=f"{number:024x}",
        official_name=f"测试{number}（官方）",
        short_name=short,
        aliases=aliases,
        title_en=f"Test {short}",
        description_en="test",
        description_zh="测试",
    )


def test_exact_beats_prefix() -> None:
    index = _Index.build([_agent(1, "map"), _agent(2, "mapper")])
    assert index.resolve("map").agent is index.agents[0]
    assert index.resolve("map").reason == "exact"
    assert index.resolve("mapp").agent is index.agents[1]
    assert index.resolve("mapp").reason == "prefix"
    assert index.resolve("ma").reason == "ambiguous"


def test_duplicate_key_in_catalogue_is_rejected() -> None:
    with pytest.raises(ValueError, match="shared"):
        _Index.build([_agent(1, "alpha", ("x",)), _agent(2, "beta", ("x",))])
