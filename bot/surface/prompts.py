"""Suggested prompts for the Messages tab, per assistant and language (pure, no I/O).

Slack shows at most four prompts above the Messages tab; clicking one sends its ``message`` as
the person's message (slack-platform-and-peers §2.5/§2.6). Which four depends on the assistant
the DM uses (``/glm-agent`` there switches it): GLM's own ``starter_prompts`` from
``/assistant/list`` when it has some in the person's language, otherwise our catalogue below;
ids outside the catalogue get generic prompts. When the person is looking at a channel the bot
can read, the first slot offers to summarise it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.agents import OFFICIAL_CATALOGUE, Agent, Catalogue, is_assistant_id
from bot.texts import Lang, t

MAX_PROMPTS = 4  # Slack's limit (setSuggestedPrompts, agent_view.suggested_prompts)
TITLE_CHARS = 40  # what fits on a prompt chip without Slack clipping it mid-word
MESSAGE_CHARS = 500
STARTERS_PER_AGENT = 4

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


@dataclass(frozen=True, slots=True)
class Prompt:
    title: str
    message: str

    def to_api(self) -> dict[str, str]:
        return {"title": self.title, "message": self.message}


@dataclass(frozen=True, slots=True)
class PromptSet:
    title: str
    prompts: tuple[Prompt, ...]

    def __post_init__(self) -> None:
        if not 1 <= len(self.prompts) <= MAX_PROMPTS:
            raise ValueError(f"Slack takes 1–{MAX_PROMPTS} prompts, not {len(self.prompts)}")

    def to_api(self) -> list[dict[str, str]]:
        return [p.to_api() for p in self.prompts]


def _p(title: str, message: str) -> Prompt:
    return Prompt(title, message)


# Starter prompts per official assistant (ids as in bot/agents.py), three each so that a
# "summarise this channel" prompt still fits in Slack's four.
CATALOGUE: dict[str, dict[Lang, tuple[Prompt, ...]]] = {
    "65940acff94777010aa6b796": {  # ChatGLM
        "en": (
            _p("Explain a concept", "Explain how vector databases work, in simple terms."),
            _p("Draft an email", "Draft a short, friendly email asking to move a meeting."),
            _p("Brainstorm", "Give me five ideas for a team offsite."),
        ),
        "zh": (
            _p("解释一个概念", "用通俗的语言解释一下向量数据库是怎么工作的。"),
            _p("起草邮件", "帮我写一封简短友好的邮件，请求调整会议时间。"),
            _p("头脑风暴", "给我五个团队团建活动的点子。"),
        ),
    },
    "65a265419d72d299a9230616": {  # data analysis
        "en": (
            _p("Analyse numbers", "Here are monthly sales: 120, 135, 150, 149, 170. What trend?"),
            _p("Make a chart", "Plot y = x² for x from -5 to 5 as a line chart."),
            _p("Statistics help", "How do I tell whether two samples differ significantly?"),
        ),
        "zh": (
            _p("分析数据", "月销售额是 120、135、150、149、170，趋势如何？"),
            _p("画图表", "把 y = x² 在 x 从 -5 到 5 的区间画成折线图。"),
            _p("统计问题", "怎么判断两组样本是否有显著差异？"),
        ),
    },
    "664dd7bd5bb3a13ba0f81668": {  # flowchart
        "en": (
            _p("Onboarding flow", "Make a flowchart of a new employee's first week."),
            _p("Bug triage", "Draw a flowchart for triaging an incoming bug report."),
            _p("Order process", "Flowchart: an online order from checkout to delivery."),
        ),
        "zh": (
            _p("入职流程", "画一张新员工第一周的流程图。"),
            _p("缺陷分拣", "画一张处理新缺陷报告的流程图。"),
            _p("下单流程", "画一张网购订单从下单到送达的流程图。"),
        ),
    },
    "664e0cade018d633146de0d2": {  # mind map
        "en": (
            _p("Mind-map a topic", "Make a mind map of machine learning basics."),
            _p("Plan a project", "Mind map for planning a product launch."),
            _p("Study notes", "Turn the causes of World War I into a mind map."),
        ),
        "zh": (
            _p("主题导图", "为机器学习基础知识做一张思维导图。"),
            _p("项目规划", "做一张产品发布计划的思维导图。"),
            _p("学习笔记", "把第一次世界大战的起因整理成思维导图。"),
        ),
    },
    "6654898292788e88ce9e7f4c": {  # prompt engineer
        "en": (
            _p("Improve a prompt", "Rewrite this prompt to be clearer: 'write about dogs'."),
            _p("Structured prompt", "Write a structured prompt for a customer-support bot."),
            _p("Role prompt", "Create a prompt that makes a model act as a code reviewer."),
        ),
        "zh": (
            _p("优化提示词", "把这个提示词改写得更清楚：「写写狗」。"),
            _p("结构化提示词", "为客服机器人写一个结构化提示词。"),
            _p("角色提示词", "写一个让模型扮演代码审查员的提示词。"),
        ),
    },
    "66437ef3d920bdc5c60f338e": {  # drawing
        "en": (
            _p("Draw a scene", "Draw a cosy reading corner on a rainy evening."),
            _p("Make an icon", "Draw a flat, minimal icon of a paper plane."),
            _p("Illustrate", "Draw a watercolour of a lighthouse at dawn."),
        ),
        "zh": (
            _p("画一个场景", "画一个下雨傍晚的温馨读书角。"),
            _p("设计图标", "画一个扁平简约风格的纸飞机图标。"),
            _p("插画", "画一幅黎明时分灯塔的水彩画。"),
        ),
    },
    "659e54b1b8006379b4b2abd6": {  # search
        "en": (
            _p("Latest news", "What are this week's most important tech news?"),
            _p("Compare options", "Compare the top three note-taking apps, with sources."),
            _p("Look it up", "When is the next total solar eclipse visible in Europe?"),
        ),
        "zh": (
            _p("最新消息", "本周最重要的科技新闻有哪些？"),
            _p("对比选项", "对比三款主流笔记应用，并给出来源。"),
            _p("查一查", "下一次在中国可见的日全食是什么时候？"),
        ),
    },
    "65d2f07bb2c10188f885bd89": {  # PPT
        "en": (
            _p("Quarterly review", "Make slides for a quarterly business review."),
            _p("Pitch deck", "Create a 10-slide pitch deck for a note-taking app."),
            _p("Training deck", "Slides introducing our team's code-review process."),
        ),
        "zh": (
            _p("季度复盘", "做一份季度业务复盘的 PPT。"),
            _p("路演材料", "为一款笔记应用做 10 页的融资路演 PPT。"),
            _p("培训课件", "做一份介绍团队代码审查流程的 PPT。"),
        ),
    },
    "663058948bb259b7e8a22730": {  # arXiv
        "en": (
            _p("Read a paper", "Summarise arXiv 1706.03762 (Attention Is All You Need)."),
            _p("Key ideas", "What are the main contributions of arXiv 2005.14165?"),
            _p("Compare papers", "How does arXiv 2302.13971 differ from GPT-3?"),
        ),
        "zh": (
            _p("速读论文", "速读 arXiv 1706.03762（Attention Is All You Need）。"),
            _p("核心思想", "arXiv 2005.14165 的主要贡献是什么？"),
            _p("论文对比", "arXiv 2302.13971 和 GPT-3 有什么不同？"),
        ),
    },
    "65a393b3619c6f13586246cd": {  # programmer Sam
        "en": (
            _p("Fix an error", "What does 'TypeError: NoneType is not iterable' mean?"),
            _p("Write code", "Write a Python function that merges two sorted lists."),
            _p("Explain code", "Explain what async/await does in Python."),
        ),
        "zh": (
            _p("排查报错", "「TypeError: NoneType is not iterable」是什么意思？"),
            _p("写代码", "写一个合并两个有序列表的 Python 函数。"),
            _p("解释代码", "解释一下 Python 里的 async/await。"),
        ),
    },
    "65b356af6924a59d52832e54": {  # web-novel writer
        "en": (
            _p("Story opening", "Write the opening of a sci-fi story set on a generation ship."),
            _p("Plot outline", "Outline a mystery novel in ten chapters."),
            _p("Character", "Create a memorable villain for a fantasy series."),
        ),
        "zh": (
            _p("故事开头", "写一个发生在世代飞船上的科幻小说开头。"),
            _p("情节大纲", "为一部悬疑小说写十章的大纲。"),
            _p("人物设定", "为一部奇幻连载设计一个令人难忘的反派。"),
        ),
    },
    "668fdd45405f2e3c9f71f832": {  # English grammar
        "en": (
            _p("Check a sentence", "Is this correct: 'Me and him goes to school.'"),
            _p("Look up a word", "ubiquitous"),
            _p("Explain a rule", "When do I use 'fewer' and when 'less'?"),
        ),
        "zh": (
            _p("检查句子", "这句话对吗：Me and him goes to school."),
            _p("查单词", "ubiquitous"),
            _p("讲解语法", "fewer 和 less 分别什么时候用？"),
        ),
    },
}

GENERIC: dict[Lang, tuple[Prompt, ...]] = {
    "en": (
        _p("What can you do?", "What can you help me with?"),
        _p("Explain something", "Explain a topic of your choice to me in simple terms."),
        _p("Help me write", "Help me write a short, clear status update for my team."),
    ),
    "zh": (
        _p("你能做什么？", "你能帮我做些什么？"),
        _p("讲解一下", "用通俗的语言给我讲解一个你擅长的话题。"),
        _p("帮我写作", "帮我给团队写一段简短清楚的进展汇报。"),
    ),
}


def language_of(text: str) -> Lang:
    """Chinese when the text has CJK ideographs, else English (good enough for prompts)."""
    return "zh" if _CJK.search(text) else "en"


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def starters_from_listing(payload: Any) -> dict[str, tuple[str, ...]]:
    """``{assistant_id: starter prompts}`` from an ``/assistant/list`` answer, validated.

    The envelope is ``{success, code, msg, data: [AssistantInfo]}`` (glm-assistant-api §3.1);
    anything that is not a 24-hex id with a list of non-empty strings is dropped, not trusted.
    """
    data = payload.get("data") if isinstance(payload, Mapping) else None
    out: dict[str, tuple[str, ...]] = {}
    if not isinstance(data, list):
        return out
    for item in data:
        if not isinstance(item, Mapping):
            continue
        assistant_id = item.get("assistant_id")
        starters = item.get("starter_prompts")
        if not isinstance(assistant_id, str) or not is_assistant_id(assistant_id):
            continue
        if not isinstance(starters, list):
            continue
        clean = [
            unicodedata.normalize("NFC", s).strip()
            for s in starters
            if isinstance(s, str) and s.strip()
        ]
        out[assistant_id.lower()] = tuple(_clip(s, MESSAGE_CHARS) for s in clean)
    return out


def starter_prompts(
    assistant_id: str, lang: Lang, upstream: Sequence[str] = ()
) -> tuple[Prompt, ...]:
    """GLM's starters in ``lang`` when it has any, else our catalogue, else generic prompts."""
    mine = [s for s in upstream if language_of(s) == lang]
    if mine:
        return tuple(Prompt(_clip(s, TITLE_CHARS), s) for s in mine[:STARTERS_PER_AGENT])
    entry = CATALOGUE.get(assistant_id.lower())
    return entry[lang] if entry else GENERIC[lang]


def summarise_prompt(channel_name: str, lang: Lang) -> Prompt:
    return Prompt(
        _clip(t("prompt_summarise_title", lang, channel=channel_name), TITLE_CHARS),
        t("prompt_summarise_message", lang, channel=channel_name),
    )


def is_summarise_request(text: str, channel_name: str) -> bool:
    """Whether ``text`` is the summarise prompt we offered for ``channel_name`` (any language).

    Only the exact prompt counts: the channel read is the one Slack told us the person was
    looking at, never a channel named in free text.
    """
    said = _normal(text)
    langs: tuple[Lang, ...] = ("en", "zh")
    return any(_normal(summarise_prompt(channel_name, lang).message) == said for lang in langs)


def _normal(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).split()).rstrip(".。!！").lower()


def prompt_set(
    assistant_id: str,
    lang: Lang,
    *,
    upstream: Sequence[str] = (),
    summarise_channel: str | None = None,
    catalogue: Catalogue = OFFICIAL_CATALOGUE,
) -> PromptSet:
    """The prompts to show for a DM that uses ``assistant_id``."""
    prompts = list(starter_prompts(assistant_id, lang, upstream))
    if summarise_channel:
        prompts.insert(0, summarise_prompt(summarise_channel, lang))
    agent = _agent(assistant_id, catalogue)
    if agent is None or (agent.custom and not agent.named):
        title = t("prompts_title_generic", lang)
    else:
        name = agent.chinese_name if lang == "zh" else agent.title_en
        title = t("prompts_title", lang, agent=name)
    return PromptSet(title, tuple(prompts[:MAX_PROMPTS]))


def _agent(assistant_id: str, catalogue: Catalogue) -> Agent | None:
    try:
        return catalogue.by_id(assistant_id)
    except ValueError:
        return None
