"""ToolLedger: what each assistant tool's deltas (wire notes §2.5) mean for the reader.

Calls are built through :func:`bot.glm.events.parse_chunk` from chunks shaped exactly like the
observed wire examples, so these tests also pin the parser-to-ledger contract.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.glm.events import ToolCall, parse_chunk
from bot.reply.tools import MAX_ACTIVITY, Image, Source, ToolLedger


def wire_call(tool_type: str, **body: Any) -> ToolCall:
    """One ``tool_calls`` delta as it arrives on the wire, parsed the way the client does."""
    chunk = {
        "id": "202408061840346540a5d4d60d4d47",
        "created": 1722940837217,
        "choices": [
            {
                "index": 0,
                "delta": {
                    "role": "tool",
                    "tool_calls": [{"index": 0, "type": tool_type, tool_type: body}],
                    "metadata": {},
                },
            }
        ],
        "status": "in_process",
    }
    events = parse_chunk(chunk)
    assert len(events) == 1 and isinstance(events[0], ToolCall)
    return events[0]


def feed(ledger: ToolLedger, *calls: ToolCall) -> list[str | None]:
    """Apply calls the way the streamers do: one ``apply`` per tool delta."""
    return [ledger.apply(call) for call in calls]


# -- web_browser -------------------------------------------------------------------------------


def test_web_search_input_becomes_a_searching_activity() -> None:
    ledger = ToolLedger()
    call = wire_call("web_browser", input='search("巴黎奥运会奖牌排行", recency_days=1)')
    assert feed(ledger, call) == ["Searching the web: 巴黎奥运会奖牌排行"]
    assert ledger.sources == []


@pytest.mark.parametrize(
    ("tool_input", "activity"),
    [
        ("search('single quotes')", "Searching the web: single quotes"),
        ('search("what\'s new in Python 3.13")', "Searching the web: what's new in Python 3.13"),
        ("search('say \"hi\" politely')", 'Searching the web: say "hi" politely'),
        ("click(0)", "Reading a search result…"),
        ("quote_lines(65, 75)\nquote_lines(69, 71)", "Quoting sources…"),
        ("open_url('https://example.com')", "Browsing the web…"),
    ],
)
def test_web_browser_activities(tool_input: str, activity: str) -> None:
    assert ToolLedger().apply(wire_call("web_browser", input=tool_input)) == activity


def test_long_search_activity_is_clipped() -> None:
    activity = ToolLedger().apply(wire_call("web_browser", input=f'search("{"q" * 500}")'))
    assert activity is not None
    assert len(activity) == MAX_ACTIVITY and activity.endswith("…")


def test_web_outputs_become_sources_in_order_deduplicated() -> None:
    ledger = ToolLedger()
    first = wire_call(
        "web_browser",
        outputs=[
            {
                "title": "奖牌统计 - 2024年巴黎奥运会奖牌榜 - Olympics.com",
                "link": "https://olympics.com/zh/paris-2024/medals",
                "content": "2024年巴黎奥运会…",
            },
            {"title": "CCTV", "link": "https://sports.cctv.com/Paris2024/medal_list/index.shtml"},
        ],
    )
    again = wire_call(
        "web_browser",
        outputs=[
            {
                "title": "Other title, same page",
                "link": "https://olympics.com/zh/paris-2024/medals",
            },
            {"title": "  ", "link": "https://example.org/untitled"},
        ],
    )
    assert feed(ledger, first, again) == [None, None]
    assert ledger.sources == [
        Source(
            "奖牌统计 - 2024年巴黎奥运会奖牌榜 - Olympics.com",
            "https://olympics.com/zh/paris-2024/medals",
        ),
        Source("CCTV", "https://sports.cctv.com/Paris2024/medal_list/index.shtml"),
        Source("https://example.org/untitled", "https://example.org/untitled"),
    ]


def test_click_outputs_with_empty_links_are_ignored() -> None:
    ledger = ToolLedger()
    feed(
        ledger,
        wire_call("web_browser", input="click(0)"),
        wire_call("web_browser", outputs=[{"title": "", "link": "", "content": "page text"}]),
        wire_call("web_browser", outputs=[{"title": "x", "link": "javascript:alert(1)"}]),
        wire_call("web_browser", outputs=[{"title": "no link at all"}]),
    )
    assert ledger.sources == []


# -- drawing_tool ------------------------------------------------------------------------------


def test_drawing_input_is_the_activity_and_output_the_image() -> None:
    ledger = ToolLedger()
    url = "https://sfile.chatglm.cn/testpath/1e9a8dd9-04be-5849-8c92-1b6d2ed86540_0.png"
    activities = feed(
        ledger,
        wire_call("drawing_tool", input="A cyberpunk-themed flying pig, viewed from a satellite"),
        wire_call("drawing_tool", outputs=[{"image": url}]),
        wire_call("drawing_tool", outputs=[{"image": url}]),  # repeated: shown once
    )
    assert activities == [
        "Drawing: A cyberpunk-themed flying pig, viewed from a satellite",
        None,
        None,
    ]
    assert ledger.images == [Image(url, "Generated image")]


def test_drawing_output_without_an_http_url_is_ignored() -> None:
    ledger = ToolLedger()
    feed(ledger, wire_call("drawing_tool", outputs=[{"image": ""}, {"image": "file:///etc/x.png"}]))
    assert ledger.images == []


# -- code_interpreter --------------------------------------------------------------------------


def test_code_interpreter_chart_url_in_logs_becomes_an_image() -> None:
    ledger = ToolLedger()
    code = "import matplotlib.pyplot as plt\nplt.plot([1, 2])\nplt.show()"
    chart = "https://sfile.chatglm.cn/img2text/00776b9d-e7ea-4034-b624-2b2d57e32ada.jpg"
    activities = feed(
        ledger,
        wire_call("code_interpreter", input=code),
        wire_call("code_interpreter", outputs=[{"type": "logs", "logs": chart}]),
    )
    assert activities == ["Running code…", None]
    assert ledger.code == [code]
    assert ledger.images == [Image(chart, "Chart")]
    assert ledger.code_logs == [], "a log that is only the chart URL leaves no text"


def test_code_interpreter_text_logs_are_kept_apart_from_chart_urls() -> None:
    ledger = ToolLedger()
    logs = "mean = 4.2\nsaved https://cdn.example.com/a/chart.PNG?sig=abc then done"
    feed(ledger, wire_call("code_interpreter", outputs=[{"type": "logs", "logs": logs}]))
    assert ledger.images == [Image("https://cdn.example.com/a/chart.PNG?sig=abc", "Chart")]
    assert ledger.code_logs == ["mean = 4.2\nsaved  then done"]


@pytest.mark.parametrize(
    "url",
    [
        "https://img.png-cdn.example.com/plots/chart.jpg",
        "https://cdn.pngs.example.com/chart.webp",
        "https://example.com/a.png/render/b.gif",
    ],
)
def test_chart_urls_are_not_cut_at_an_extension_inside_the_host_or_path(url: str) -> None:
    ledger = ToolLedger()
    feed(ledger, wire_call("code_interpreter", outputs=[{"type": "logs", "logs": url}]))
    assert ledger.images == [Image(url, "Chart")]


def test_code_interpreter_error_message_is_kept() -> None:
    ledger = ToolLedger()
    feed(ledger, wire_call("code_interpreter", outputs=[{"type": "logs", "error_msg": "boom"}]))
    assert ledger.code_logs == ["boom"] and ledger.images == []


# -- function ----------------------------------------------------------------------------------


def test_mind_map_function_output_json_url_becomes_an_image() -> None:
    ledger = ToolLedger()
    url = "https://sfile.chatglm.cn/markmap/f820b149-e786-43ed-b00c-04e61108d457.png"
    activities = feed(
        ledger,
        wire_call(
            "function",
            name="GenerateMindMap",
            arguments="```python\ntool_call(markmap='# Llama 3模型\\n- 引言')\n```",
        ),
        wire_call("function", outputs=[{"content": json.dumps({"url": url})}]),
    )
    assert activities == ["Using GenerateMindMap…", None]
    assert ledger.images == [Image(url, "Result")]
    assert ledger.code == [], "function arguments are not code the user ran"


@pytest.mark.parametrize(
    "content",
    ["not json", json.dumps({"url": "ftp://x/y.png"}), json.dumps(["https://x/y.png"]), ""],
)
def test_function_outputs_without_an_http_url_add_nothing(content: str) -> None:
    ledger = ToolLedger()
    feed(ledger, wire_call("function", outputs=[{"content": content}]))
    assert ledger.images == []


def test_function_output_content_already_decoded_is_accepted() -> None:
    ledger = ToolLedger()
    feed(ledger, wire_call("function", outputs=[{"content": {"url": "https://x.example/m.png"}}]))
    assert ledger.images == [Image("https://x.example/m.png", "Result")]


def test_function_output_file_url_becomes_a_named_link_not_an_image() -> None:
    ledger = ToolLedger()
    url = "https://sfile.chatglm.cn/slides/Q3-review.pptx"
    feed(ledger, wire_call("function", outputs=[{"content": json.dumps({"url": url})}]))
    assert ledger.images == []
    assert ledger.links == [Source("Q3-review.pptx", url)]


# -- retrieval and unknown tools ---------------------------------------------------------------


def test_retrieval_outputs_record_documents_once() -> None:
    ledger = ToolLedger()
    feed(
        ledger,
        wire_call(
            "retrieval",
            outputs=[
                {"text": "something to retrieve", "document": "doc1.pdf"},
                {"text": "something else", "document": "doc2.pdf"},
                {"text": "more from doc1", "document": "doc1.pdf"},
                {"text": "no document named"},
            ],
        ),
    )
    assert ledger.documents == ["doc1.pdf", "doc2.pdf"]
    assert ledger.sources == [] and ledger.images == []


def test_retrieval_and_unknown_tool_activities() -> None:
    assert ToolLedger().apply(ToolCall("retrieval", input="q")) == "Looking through documents…"
    assert ToolLedger().apply(ToolCall("web_search", input="q")) == "Using web_search…"
    assert ToolLedger().apply(ToolCall("function", input="{}")) == "Using a tool…"


def test_unknown_tool_outputs_are_ignored() -> None:
    ledger = ToolLedger()
    feed(ledger, wire_call("web_search", outputs=[{"link": "https://x", "image": "https://y.png"}]))
    assert ledger.sources == [] and ledger.images == [] and ledger.links == []


# -- the reader's language -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "english", "chinese"),
    [
        (
            ToolCall("web_browser", input='search("巴黎奥运会奖牌排行", recency_days=1)'),
            "Searching the web: 巴黎奥运会奖牌排行",
            "正在搜索网页：巴黎奥运会奖牌排行",
        ),
        (
            ToolCall("web_browser", input="click(0)"),
            "Reading a search result…",
            "正在阅读搜索结果…",
        ),
        (ToolCall("web_browser", input="quote_lines(65, 75)"), "Quoting sources…", "正在引用来源…"),
        (ToolCall("web_browser", input="open_url('x')"), "Browsing the web…", "正在浏览网页…"),
        (
            ToolCall("drawing_tool", input="一只赛博朋克风格的飞猪"),
            "Drawing: 一只赛博朋克风格的飞猪",
            "正在画图：一只赛博朋克风格的飞猪",
        ),
        (ToolCall("code_interpreter", input="print(1)"), "Running code…", "正在运行代码…"),
        (ToolCall("retrieval", input="q"), "Looking through documents…", "正在查阅文档…"),
        (
            ToolCall("function", input="{}", name="mindmap"),
            "Using mindmap…",
            "正在使用 mindmap…",
        ),
        (ToolCall("function", input="{}"), "Using a tool…", "正在使用工具…"),
        (ToolCall("web_search", input="q"), "Using web_search…", "正在使用 web_search…"),
    ],
)
def test_activities_follow_the_readers_language(call: ToolCall, english: str, chinese: str) -> None:
    assert ToolLedger().apply(call) == english
    assert ToolLedger(lang="en").apply(call) == english
    assert ToolLedger(lang="zh").apply(call) == chinese


def test_long_chinese_search_activity_is_clipped_too() -> None:
    activity = ToolLedger(lang="zh").apply(ToolCall("web_browser", input=f'search("{"问" * 500}")'))
    assert activity is not None
    assert len(activity) == MAX_ACTIVITY
    assert activity.startswith("正在搜索网页：问") and activity.endswith("…")


def test_file_links_in_the_answer_text_are_found_even_split_across_chunks() -> None:
    from bot.reply.tools import ToolLedger

    ledger = ToolLedger()
    text = (
        "Your deck: [slides](https://sfile.chatglm.cn/ppt/de",
        "ck.pptx) and the notes https://example.com/n.pdf?x=1\nsee also ",
        "https://example.com/page.html and https://sfile.chatglm.cn/a.png",
    )
    for chunk in text:
        ledger.note_text(chunk)
    urls = [o.url for o in ledger.outputs()]
    assert urls == [
        "https://sfile.chatglm.cn/ppt/deck.pptx",
        "https://example.com/n.pdf?x=1",
        "https://sfile.chatglm.cn/a.png",  # still the last word: found without a flush
    ]
    assert ledger.outputs()[0].title == "deck.pptx"
    assert ledger.shown_outputs() == [], "text links are listed only once re-uploaded"
