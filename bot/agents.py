"""The catalogue of GLM assistants (智能体) the bot can talk to.

This is the single source of truth for the 12 official agents: the slash-command picker,
the selector parser, help text and the context line ("who is speaking") all read from here,
so names, ids and aliases never drift apart. Pure data and string handling, no I/O.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "DEFAULT_AGENT",
    "DEFAULT_ASSISTANT_ID",
    "OFFICIAL_AGENTS",
    "OFFICIAL_CATALOGUE",
    "Agent",
    "Catalogue",
    "Resolution",
    "ResolutionReason",
    "agent_by_id",
    "catalogue_lines",
    "is_assistant_id",
    "parse_custom_agents",
    "resolve_agent",
]

_HEX24 = re.compile(r"[0-9a-f]{24}")
# Separators ignored when matching, so "data analysis", "Data_Analysis" and "data-analysis"
# (and "思维导图MindMap" vs "思维导图 MindMap") are the same key.
_SEPARATORS = re.compile(r"[\s\-_·.]+")
# After NFKC the full-width "（官方）" becomes "(官方)"; it is optional in selectors.
_OFFICIAL_SUFFIX = "(官方)"
# Quotes people paste around a selector in Slack.
_QUOTES = "\"'`“”‘’「」"
_MAX_CANDIDATES = 3


def is_assistant_id(value: str) -> bool:
    """Whether ``value`` looks like an assistant id (24 hex digits, any case).

    The API's ids are MongoDB-ObjectId-like; anything else (e.g. the SDK tests' non-hex
    ``9996ijk789lmn012o345p999``) is rejected so typos never reach the API as ids.
    """
    return _HEX24.fullmatch(value.strip().lower()) is not None


@dataclass(frozen=True, slots=True)
class Agent:
    """One assistant: official metadata plus the English handles users type in Slack."""

    number: int
    assistant_id: str
    official_name: str
    short_name: str
    aliases: tuple[str, ...]
    title_en: str
    description_en: str
    description_zh: str
    custom: bool = False

    def __post_init__(self) -> None:
        """Reject malformed entries early: a bad id would only fail later, at the API."""
        if _HEX24.fullmatch(self.assistant_id) is None:
            raise ValueError(f"assistant_id must be 24 lower-case hex: {self.assistant_id!r}")
        if self.custom != (self.number == 0 or self.number > len(_OFFICIAL_IDS)):
            raise ValueError("official agents are 1..12; custom ones 0 (unnamed) or 13 and up")

    @property
    def named(self) -> bool:
        """A custom agent the admin registered with a name (GLM_ASSISTANTS)."""
        return self.custom and self.number > 0

    @property
    def display_name(self) -> str:
        """Human label for context lines, e.g. ``AI画图（官方） · AI drawing``.

        The English title is appended only when the official name does not already
        contain it (``ChatGLM（官方）``, ``思维导图 MindMap（官方）`` stay as they are).
        Custom agents show an abbreviated id: ``Custom agent 6594…b796``.
        """
        if self.named:
            return self.official_name
        if self.custom:
            return f"Custom agent {self.assistant_id[:4]}…{self.assistant_id[-4:]}"
        if _compact(self.title_en) in _compact(self.official_name):
            return self.official_name
        return f"{self.official_name} · {self.title_en}"

    @property
    def chinese_name(self) -> str:
        """The official name without the ``（官方）`` suffix, for compact lists."""
        return self.official_name.removesuffix("（官方）")


def _official(
    number: int,
    assistant_id: str,
    official_name: str,
    short_name: str,
    aliases: tuple[str, ...],
    title_en: str,
    description_en: str,
    description_zh: str,
) -> Agent:
    """Build an official catalogue entry (keeps the table below readable)."""
    return Agent(
        number=number,
        assistant_id=assistant_id,
        official_name=official_name,
        short_name=short_name,
        aliases=aliases,
        title_en=title_en,
        description_en=description_en,
        description_zh=description_zh,
    )


DEFAULT_ASSISTANT_ID = "65940acff94777010aa6b796"
# The official ids, in the API enum's order (Agent's number check reads it).
_OFFICIAL_IDS = (
    "65940acff94777010aa6b796", "65a265419d72d299a9230616", "664dd7bd5bb3a13ba0f81668",
    "664e0cade018d633146de0d2", "6654898292788e88ce9e7f4c", "66437ef3d920bdc5c60f338e",
    "659e54b1b8006379b4b2abd6", "65d2f07bb2c10188f885bd89", "663058948bb259b7e8a22730",
    "65a393b3619c6f13586246cd", "65b356af6924a59d52832e54", "668fdd45405f2e3c9f71f832",
)  # fmt: skip

# Order, ids and official names follow the API's `assistant_id` enum (seed/assistant-api.md).
OFFICIAL_AGENTS: tuple[Agent, ...] = (
    _official(
        1,
        "65940acff94777010aa6b796",
        "ChatGLM（官方）",
        "chatglm",
        ("glm", "chat", "qingyan", "default"),
        "ChatGLM",
        "General chat with Qingyan, the default assistant.",
        "通用对话（清言），默认智能体。",
    ),
    _official(
        2,
        "65a265419d72d299a9230616",
        "数据分析（官方）",
        "data-analysis",
        ("data", "analysis", "analytics"),
        "Data analysis",
        "Analyses uploaded files or described data, draws charts, runs simple code.",
        "分析上传的文件或描述的数据并生成图表，可用简单代码处理文件。",
    ),
    _official(
        3,
        "664dd7bd5bb3a13ba0f81668",
        "复杂流程图（官方）",
        "flowchart",
        ("flow", "diagram"),
        "Flowchart",
        "Turns a process description into a flowchart in seconds.",
        "五秒生成复杂流程图。",
    ),
    _official(
        4,
        "664e0cade018d633146de0d2",
        "思维导图 MindMap（官方）",
        "mindmap",
        ("mind-map",),
        "Mind map",
        "Turns any complex concept into a mind map.",
        "把任何复杂概念变成思维导图。",
    ),
    _official(
        5,
        "6654898292788e88ce9e7f4c",
        "提示词工程师（官方）",
        "prompt-engineer",
        ("prompt", "prompts"),
        "Prompt engineer",
        "Structured-prompt expert that rewrites your prompt in one click.",
        "结构化提示词专家，一键改写提示词。",
    ),
    _official(
        6,
        "66437ef3d920bdc5c60f338e",
        "AI画图（官方）",
        "drawing",
        ("draw", "image", "paint"),
        "AI drawing",
        "Drawing companion that generates images from a description.",
        "AI 画图伙伴，根据描述生成图片。",
    ),
    _official(
        7,
        "659e54b1b8006379b4b2abd6",
        "AI搜索（官方）",
        "search",
        ("web-search",),
        "AI search",
        "Searches the whole web, then analyses and summarises the results.",
        "全网搜索，分析并总结结果。",
    ),
    _official(
        8,
        "65d2f07bb2c10188f885bd89",
        "PPT助手（官方）",
        "ppt",
        ("slides", "deck", "powerpoint"),
        "PPT assistant",
        "Slide-deck generator: edit the outline, chapters are filled in automatically.",
        "PPT 生成助手：手动编辑大纲，自动填充章节内容。",
    ),
    _official(
        9,
        "663058948bb259b7e8a22730",
        "arXiv论文速读（官方）",
        "arxiv",
        ("paper", "papers"),
        "arXiv reader",
        "In-depth speed-reading of arXiv papers.",
        "深度速读 arXiv 论文。",
    ),
    _official(
        10,
        "65a393b3619c6f13586246cd",
        "程序员助手Sam（官方）",
        "programmer",
        ("sam", "code", "coder", "coding"),
        "Programmer Sam",
        "Search engine for programming knowledge.",
        "编程知识搜索引擎。",
    ),
    _official(
        11,
        "65b356af6924a59d52832e54",
        "网文写手（官方）",
        "novelist",
        ("novel", "writer", "fiction", "web-novel"),
        "Web-novel writer",
        "Writes web fiction from ready-made templates.",
        "网络小说写作模板。",
    ),
    _official(
        12,
        "668fdd45405f2e3c9f71f832",
        "英语语法助手（官方）",
        "grammar",
        ("english",),
        "English grammar",
        "Type a word to look it up, or a sentence to check its grammar with explanations.",
        "输入单词查词，输入句子检查语法并给出解释。",
    ),
)

_BY_ID: dict[str, Agent] = {agent.assistant_id: agent for agent in OFFICIAL_AGENTS}
DEFAULT_AGENT: Agent = _BY_ID[DEFAULT_ASSISTANT_ID]
assert tuple(_BY_ID) == _OFFICIAL_IDS


def agent_by_id(assistant_id: str) -> Agent:
    """The agent for an id; valid ids outside the catalogue become a custom agent.

    Conversations are stored by assistant_id, so any stored id must map back to something
    displayable. Raises ``ValueError`` for strings that are not 24 hex digits.
    """
    key = assistant_id.strip().lower()
    if _HEX24.fullmatch(key) is None:
        raise ValueError(f"not an assistant id (24 hex digits): {assistant_id!r}")
    official = _BY_ID.get(key)
    if official is not None:
        return official
    return _unnamed(key)


def _unnamed(key: str) -> Agent:
    """An assistant outside every catalogue, known only by its (valid) id."""
    return Agent(
        number=0,
        assistant_id=key,
        official_name=key,
        short_name="custom",
        aliases=(),
        title_en="Custom agent",
        description_en="An assistant outside the official catalogue, addressed by its id.",
        description_zh="官方列表之外的智能体（按 ID 调用）。",
        custom=True,
    )


ResolutionReason = Literal["exact", "prefix", "custom", "ambiguous", "unknown", "empty"]


@dataclass(frozen=True, slots=True)
class Resolution:
    """Outcome of parsing a user's agent selector.

    ``agent`` is set for ``exact``, ``prefix`` and ``custom``; ``candidates`` is filled for
    ``ambiguous`` (every match) and ``unknown`` (up to 3 close matches) so the caller can
    offer a "did you mean" list. ``empty`` has neither: show the whole catalogue instead.
    """

    agent: Agent | None
    candidates: tuple[Agent, ...]
    reason: ResolutionReason

    @property
    def ok(self) -> bool:
        """Whether exactly one agent was selected."""
        return self.agent is not None


def _compact(text: str) -> str:
    """Matching key: NFKC (full-/half-width), case-folded, separators removed."""
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", text).casefold())


def _selector_key(text: str) -> str:
    """Matching key for user input: also drops the optional ``(官方)`` suffix."""
    return _compact(text).removesuffix(_OFFICIAL_SUFFIX)


def _agent_keys(agent: Agent) -> tuple[str, ...]:
    """Every key a user may type for ``agent`` (compacted, without duplicates)."""
    names = (
        agent.short_name,
        *agent.aliases,
        agent.title_en,
        agent.official_name,
        agent.chinese_name,
    )
    return tuple(dict.fromkeys(_selector_key(name) for name in names))


@dataclass(frozen=True, slots=True)
class _Index:
    """Lookup tables over one catalogue, built once (and buildable over test catalogues)."""

    agents: tuple[Agent, ...]
    keys: dict[str, Agent]

    @classmethod
    def build(cls, agents: Iterable[Agent]) -> _Index:
        """Index every key; a key shared by two agents is a catalogue bug, so fail loudly."""
        agents = tuple(agents)
        keys: dict[str, Agent] = {}
        for agent in agents:
            for key in _agent_keys(agent):
                other = keys.setdefault(key, agent)
                if other is not agent:
                    raise ValueError(
                        f"key {key!r} is shared by {other.short_name!r} and {agent.short_name!r}"
                    )
        return cls(agents=agents, keys=keys)

    def resolve(self, selector: str) -> Resolution:
        """Resolve ``selector``; see :func:`resolve_agent` for the accepted forms."""
        # NFKC first, so full-width digits and letters typed with a CJK IME behave as ASCII.
        raw = unicodedata.normalize("NFKC", selector).strip().strip(_QUOTES).strip()
        if not raw:
            return Resolution(None, (), "empty")

        number = raw.removeprefix("#")
        if number.isascii() and number.isdigit():
            for agent in self.agents:
                if agent.number == int(number):
                    return Resolution(agent, (), "exact")
            return Resolution(None, (), "unknown")

        if is_assistant_id(raw):
            wanted = raw.lower()
            for agent in self.agents:
                if agent.assistant_id == wanted:
                    return Resolution(agent, (), "exact")
            return Resolution(_unnamed(wanted), (), "custom")

        key = _selector_key(raw)
        if not key:
            return Resolution(None, (), "empty")
        exact = self.keys.get(key)
        if exact is not None:
            return Resolution(exact, (), "exact")

        matched = {agent.number for k, agent in self.keys.items() if k.startswith(key)}
        # Catalogue order, so an ambiguity list reads like the help text.
        prefixed = tuple(agent for agent in self.agents if agent.number in matched)
        if len(prefixed) == 1:
            return Resolution(prefixed[0], (), "prefix")
        if prefixed:
            return Resolution(None, prefixed, "ambiguous")

        close = difflib.get_close_matches(key, self.keys, n=len(self.keys), cutoff=0.6)
        candidates = _dedupe(self.keys[k] for k in close)[:_MAX_CANDIDATES]
        return Resolution(None, candidates, "unknown")


def _dedupe(agents: Iterable[Agent]) -> tuple[Agent, ...]:
    """Agents without repeats, first occurrence kept (several keys map to one agent)."""
    return tuple(dict.fromkeys(agents))


_INDEX = _Index.build(OFFICIAL_AGENTS)


@dataclass(frozen=True, slots=True)
class Catalogue:
    """The assistants this deployment offers: the 12 official ones, then the admin's own
    (``GLM_ASSISTANTS``), numbered on from 13. Everything that lists, resolves or names an
    assistant reads one of these, so a registered name shows everywhere its id would."""

    agents: tuple[Agent, ...]
    _index: _Index

    @classmethod
    def build(cls, custom: Iterable[Agent] = ()) -> Catalogue:
        agents = (*OFFICIAL_AGENTS, *custom)
        return cls(agents, _Index.build(agents))

    @property
    def custom(self) -> tuple[Agent, ...]:
        return tuple(a for a in self.agents if a.custom)

    def resolve(self, selector: str) -> Resolution:
        """Like :func:`resolve_agent`, over this catalogue (names of custom agents too)."""
        return self._index.resolve(selector)

    def by_id(self, assistant_id: str) -> Agent:
        """Like :func:`agent_by_id`, knowing the registered names."""
        key = assistant_id.strip().lower()
        for agent in self.agents:
            if agent.assistant_id == key:
                return agent
        return agent_by_id(key)


OFFICIAL_CATALOGUE = Catalogue.build()
MAX_CUSTOM_AGENTS = 50  # with the official twelve, well within a static_select's 100 options
# Separates GLM_ASSISTANTS entries: ASCII or full-width commas (typed with a CJK IME).
_ENTRY_SEPARATORS = re.compile(r"[,，]")


def parse_custom_agents(raw: str) -> tuple[Agent, ...]:
    """``GLM_ASSISTANTS``: ``id=Name`` entries, comma separated; the name may hold spaces and
    中文. Raises ``ValueError`` naming the first bad entry."""
    agents: list[Agent] = []
    seen: set[str] = set()
    for number, entry in enumerate(
        (e.strip() for e in _ENTRY_SEPARATORS.split(raw) if e.strip()), len(OFFICIAL_AGENTS) + 1
    ):
        assistant_id, sep, name = (part.strip() for part in entry.partition("="))
        name = unicodedata.normalize("NFC", name)
        if not sep or not name:
            raise ValueError(f"entry {number - len(OFFICIAL_AGENTS)} is not id=Name")
        if not is_assistant_id(assistant_id):
            raise ValueError(f"{assistant_id[:30]!r} is not a 24-hex assistant id")
        key = assistant_id.lower()
        if key in _BY_ID:
            raise ValueError(f"{key} is an official assistant already")
        if key in seen:
            raise ValueError(f"{key} is listed twice")
        if len(name) > 60:
            raise ValueError(f"the name of {key} is longer than 60 characters")
        seen.add(key)
        agents.append(
            Agent(
                number=number,
                assistant_id=key,
                official_name=name,
                short_name="-".join(name.casefold().split())[:40],
                aliases=(),
                title_en=name,
                description_en="Your workspace's own assistant.",
                description_zh="本工作区自己的智能体。",
                custom=True,
            )
        )
    if len(agents) > MAX_CUSTOM_AGENTS:
        raise ValueError(f"at most {MAX_CUSTOM_AGENTS} assistants (Slack's picker takes 100)")
    try:
        Catalogue.build(agents)
    except ValueError as exc:  # a name that another assistant already answers to
        raise ValueError(f"a name is already taken ({exc})") from None
    return tuple(agents)


def resolve_agent(selector: str) -> Resolution:
    """Turn what a user typed into an agent, or explain why not.

    Accepted forms: the list number (``1``–``12``, optional ``#``); a 24-hex assistant_id
    in any case (ids outside the list → custom agent); the official name with or without
    ``（官方）``/``(官方)``; the English short name, an alias or the English title, any case,
    with spaces/underscores/hyphens interchangeable; full-/half-width variants via NFKC.
    A unique prefix of any of those names suffices; exact matches always beat prefixes.
    """
    return _INDEX.resolve(selector)


def catalogue_lines(lang: Literal["en", "zh"] = "en") -> list[str]:
    """One plain-text line per official agent, ``N. official_name — short_name — description``.

    Used by help and list output; Slack formatting is the caller's job.
    """
    return [
        f"{agent.number}. {agent.official_name} — {agent.short_name} — "
        f"{agent.description_zh if lang == 'zh' else agent.description_en}"
        for agent in OFFICIAL_AGENTS
    ]
