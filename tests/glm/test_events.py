"""Tests for bot.glm.events on the exact chunks of the wire notes (§2.3, §2.5, §2.7)."""

# ruff: noqa: E501  (the wire chunks below are copied verbatim, one line each)

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.glm.events import TextDelta, ToolCall, Usage, parse_chunk, parse_usage

TEXT_1 = r"""{"id":"20240806165512f413615fbdc94ce6","created":1722934523829,"choices":[{"index":0,"delta":{"role":"assistant","content":"总结","metadata":{}}}],"status":"in_process","assistant_id":"65a265419d72d299a9230616","conversation_id":"66b1e4f00cf253c4f141c967"}"""

TEXT_2 = r"""{"id":"20240806165512f413615fbdc94ce6","created":1722934523896,"choices":[{"index":0,"delta":{"role":"assistant","content":"。","metadata":{}}}],"status":"in_process","assistant_id":"65a265419d72d299a9230616","conversation_id":"66b1e4f00cf253c4f141c967"}"""

FINAL = r"""{"id":"2024080616285251e6b5e332a0467d","created":1722932976902,"choices":[{"index":0,"finish_reason":"stop","delta":{"role":"assistant","metadata":{}}}],"usage":{"prompt_tokens":3574,"completion_tokens":51,"total_tokens":3625},"status":"completed","assistant_id":"65a265419d72d299a9230616","conversation_id":"66b1dec43858e2cffd41c92d"}"""

WEB_INPUT = r"""{"id":"202408061840346540a5d4d60d4d47","created":1722940837217,"choices":[{"index":0,"delta":{"role":"tool","tool_calls":[{"index":0,"type":"web_browser","web_browser":{"input":"search(\"巴黎奥运会奖牌排行\")"}}],"metadata":{}}}],"status":"in_process","assistant_id":"659e54b1b8006379b4b2abd6","conversation_id":"66b1fda2e622113b69a20639"}"""

WEB_OUTPUTS = r"""{"id":"202408061840346540a5d4d60d4d47","created":1722940838924,"choices":[{"index":0,"delta":{"role":"tool","tool_calls":[{"index":0,"type":"web_browser","web_browser":{"outputs":[{"title":"奖牌统计 - 2024年巴黎奥运会奖牌榜 - Olympics.com","link":"https://olympics.com/zh/paris-2024/medals","content":"2024年巴黎奥运会…"},{"title":"…","link":"https://sports.cctv.com/Paris2024/medal_list/index.shtml","content":"…"}]}}],"metadata":{}}}],"status":"in_process","assistant_id":"659e54b1b8006379b4b2abd6","conversation_id":"66b1fda2e622113b69a20639"}"""

DRAW_INPUT = r"""{"id":"20240806183256277dcc4fc4ec4587","created":1722940386355,"choices":[{"index":0,"delta":{"role":"tool","tool_calls":[{"index":0,"type":"drawing_tool","drawing_tool":{"input":"A cyberpunk-themed flying pig, viewed from a satellite perspective. …"}}],"metadata":{}}}],"status":"in_process","assistant_id":"66437ef3d920bdc5c60f338e","conversation_id":"66b1fbd82967d5c77d41ca1c"}"""

DRAW_OUTPUTS = r"""{"id":"20240806183256277dcc4fc4ec4587","created":1722940392231,"choices":[{"index":0,"delta":{"role":"tool","tool_calls":[{"index":0,"type":"drawing_tool","drawing_tool":{"outputs":[{"image":"https://sfile.chatglm.cn/testpath/1e9a8dd9-04be-5849-8c92-1b6d2ed86540_0.png"}]}}],"metadata":{}}}],"status":"in_process","assistant_id":"66437ef3d920bdc5c60f338e","conversation_id":"66b1fbd82967d5c77d41ca1c"}"""

CODE_INPUT = r"""{"id":"2024080616285251e6b5e332a0467d","created":1722932968453,"choices":[{"index":0,"delta":{"role":"tool","tool_calls":[{"index":0,"type":"code_interpreter","code_interpreter":{"input":"import matplotlib.pyplot as plt\\nimport matplotlib.dates as mdates\\n…\\nplt.show()"}}],"metadata":{}}}],"status":"in_process","assistant_id":"65a265419d72d299a9230616","conversation_id":"66b1dec43858e2cffd41c92d"}"""

CODE_OUTPUTS = r"""{"id":"2024080616285251e6b5e332a0467d","created":1722932971802,"choices":[{"index":0,"delta":{"role":"tool","tool_calls":[{"index":0,"type":"code_interpreter","code_interpreter":{"outputs":[{"type":"logs","logs":"https://sfile.chatglm.cn/img2text/00776b9d-e7ea-4034-b624-2b2d57e32ada.jpg"}]}}],"metadata":{}}}],"status":"in_process","assistant_id":"65a265419d72d299a9230616","conversation_id":"66b1dec43858e2cffd41c92d"}"""

FUNCTION_INPUT = r"""{"id":"20240807112820a596643f968749f0","created":1723001422554,"choices":[{"index":0,"delta":{"role":"tool","tool_calls":[{"index":0,"type":"function","function":{"name":"GenerateMindMap","arguments":"```python\ntool_call(markmap='# Llama 3模型\\n- 引言\\n- 模型架构 …')\n```"}}],"metadata":{}}}],"status":"in_process","assistant_id":"664e0cade018d633146de0d2","conversation_id":"66b2e9d4a475eb421f34ee6c"}"""

FUNCTION_OUTPUTS = r"""{"id":"20240807112820a596643f968749f0","created":1723001425799,"choices":[{"index":0,"delta":{"role":"tool","tool_calls":[{"index":0,"type":"function","function":{"outputs":[{"content":"{\"url\":\"https://sfile.chatglm.cn/markmap/f820b149-e786-43ed-b00c-04e61108d457.png\"}"}]}}],"metadata":{}}}],"status":"in_process","assistant_id":"664e0cade018d633146de0d2","conversation_id":"66b2e9d4a475eb421f34ee6c"}"""

RETRIEVAL_OUTPUTS = r"""{"id":"…","created":1722932971802,"choices":[{"index":0,"delta":{"role":"tool","tool_calls":[{"index":0,"type":"retrieval","retrieval":{"outputs":[{"text":"something to retrieve","document":"doc1.pdf"},{"text":"something to retrieve","document":"doc2.pdf"}]}}],"metadata":{}}}],"status":"in_process","assistant_id":"…","conversation_id":"…"}"""

FAILED = r"""{"id":"…","created":1722932976902,"choices":[{"index":0,"finish_reason":"sensitive","delta":{"role":"assistant","content":"","metadata":{}}}],"status":"failed","last_error":{"code":"1301","message":"系统检测到输入或生成内容可能包含不安全或敏感内容，请您避免输入易产生敏感内容的提示语，感谢您的配合。"},"assistant_id":"…","conversation_id":"…"}"""


def chunk(raw: str) -> dict[str, Any]:
    return json.loads(raw)


# --- text ----------------------------------------------------------------------------------------


def test_text_chunks_are_incremental_deltas() -> None:
    assert parse_chunk(chunk(TEXT_1)) == [TextDelta("总结")]
    assert parse_chunk(chunk(TEXT_2)) == [TextDelta("。")]


def test_final_chunk_has_no_events_but_usage() -> None:
    data = chunk(FINAL)
    assert parse_chunk(data) == []
    assert parse_usage(data["usage"]) == Usage(
        prompt_tokens=3574, completion_tokens=51, total_tokens=3625
    )


def test_failed_chunk_with_empty_content_has_no_events() -> None:
    assert parse_chunk(chunk(FAILED)) == []


def test_content_as_list_of_parts() -> None:
    data = {
        "choices": [
            {
                "delta": {
                    "content": [
                        {"type": "text", "text": "a"},
                        {"type": "image_url", "image_url": {"url": "x"}},
                        "junk",
                        {"type": "text", "text": "b"},
                    ]
                }
            }
        ]
    }
    assert parse_chunk(data) == [TextDelta("a"), TextDelta("b")]


def test_text_then_tool_calls_in_one_delta_keep_order() -> None:
    data = {
        "choices": [
            {
                "delta": {
                    "content": "hi",
                    "tool_calls": [{"type": "web_browser", "web_browser": {"input": "click(0)"}}],
                }
            },
            {"delta": {"content": "second"}},
        ]
    }
    assert parse_chunk(data) == [
        TextDelta("hi"),
        ToolCall("web_browser", input="click(0)"),
        TextDelta("second"),
    ]


# --- tools ---------------------------------------------------------------------------------------


def test_web_browser_input() -> None:
    assert parse_chunk(chunk(WEB_INPUT)) == [
        ToolCall("web_browser", input='search("巴黎奥运会奖牌排行")')
    ]


def test_web_browser_outputs() -> None:
    (call,) = parse_chunk(chunk(WEB_OUTPUTS))
    assert call == ToolCall(
        "web_browser",
        outputs=(
            {
                "title": "奖牌统计 - 2024年巴黎奥运会奖牌榜 - Olympics.com",
                "link": "https://olympics.com/zh/paris-2024/medals",
                "content": "2024年巴黎奥运会…",
            },
            {
                "title": "…",
                "link": "https://sports.cctv.com/Paris2024/medal_list/index.shtml",
                "content": "…",
            },
        ),
    )
    assert isinstance(call, ToolCall)
    assert call.raw == chunk(WEB_OUTPUTS)["choices"][0]["delta"]["tool_calls"][0]


def test_drawing_tool_input_and_outputs() -> None:
    assert parse_chunk(chunk(DRAW_INPUT)) == [
        ToolCall(
            "drawing_tool",
            input="A cyberpunk-themed flying pig, viewed from a satellite perspective. …",
        )
    ]
    assert parse_chunk(chunk(DRAW_OUTPUTS)) == [
        ToolCall(
            "drawing_tool",
            outputs=(
                {
                    "image": "https://sfile.chatglm.cn/testpath/1e9a8dd9-04be-5849-8c92-1b6d2ed86540_0.png"
                },
            ),
        )
    ]


def test_code_interpreter_input_and_logs_output() -> None:
    assert parse_chunk(chunk(CODE_INPUT)) == [
        ToolCall(
            "code_interpreter",
            input="import matplotlib.pyplot as plt\\nimport matplotlib.dates as mdates\\n…\\nplt.show()",
        )
    ]
    assert parse_chunk(chunk(CODE_OUTPUTS)) == [
        ToolCall(
            "code_interpreter",
            outputs=(
                {
                    "type": "logs",
                    "logs": "https://sfile.chatglm.cn/img2text/00776b9d-e7ea-4034-b624-2b2d57e32ada.jpg",
                },
            ),
        )
    ]


def test_function_arguments_string_and_name() -> None:
    assert parse_chunk(chunk(FUNCTION_INPUT)) == [
        ToolCall(
            "function",
            input="```python\ntool_call(markmap='# Llama 3模型\\n- 引言\\n- 模型架构 …')\n```",
            name="GenerateMindMap",
        )
    ]


def test_function_outputs_content_is_a_json_string() -> None:
    (call,) = parse_chunk(chunk(FUNCTION_OUTPUTS))
    assert call == ToolCall(
        "function",
        outputs=(
            {
                "content": '{"url":"https://sfile.chatglm.cn/markmap/f820b149-e786-43ed-b00c-04e61108d457.png"}'
            },
        ),
    )
    assert isinstance(call, ToolCall) and call.outputs is not None
    assert json.loads(call.outputs[0]["content"])["url"].endswith("d457.png")


def test_function_arguments_as_dict_become_json_text() -> None:
    data = {
        "choices": [
            {
                "delta": {
                    "tool_calls": [
                        {"type": "function", "function": {"name": "f", "arguments": {"q": "北京"}}}
                    ]
                }
            }
        ]
    }
    assert parse_chunk(data) == [ToolCall("function", input='{"q": "北京"}', name="f")]


def test_retrieval_outputs() -> None:
    assert parse_chunk(chunk(RETRIEVAL_OUTPUTS)) == [
        ToolCall(
            "retrieval",
            outputs=(
                {"text": "something to retrieve", "document": "doc1.pdf"},
                {"text": "something to retrieve", "document": "doc2.pdf"},
            ),
        )
    ]


def test_unknown_tool_type_passes_through() -> None:
    data = {
        "choices": [{"delta": {"tool_calls": [{"type": "new_tool", "new_tool": {"input": 3}}]}}]
    }
    assert parse_chunk(data) == [ToolCall("new_tool", input="3")]


def test_non_dict_outputs_entries_are_dropped() -> None:
    data = {
        "choices": [
            {
                "delta": {
                    "tool_calls": [
                        {"type": "retrieval", "retrieval": {"outputs": ["x", {"text": "t"}, None]}}
                    ]
                }
            }
        ]
    }
    assert parse_chunk(data) == [ToolCall("retrieval", outputs=({"text": "t"},))]


# --- junk ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"choices": None},
        {"choices": "text"},
        {"choices": {"delta": {"content": "x"}}},
        {"choices": ["x", 1, None, []]},
        {"choices": [{"index": 0}]},
        {"choices": [{"delta": None}]},
        {"choices": [{"delta": "content"}]},
        {"choices": [{"delta": {"content": ""}}]},
        {"choices": [{"delta": {"content": 5}}]},
        {"choices": [{"delta": {"content": None, "metadata": {}}}]},
        {"choices": [{"delta": {"tool_calls": "x"}}]},
        {"choices": [{"delta": {"tool_calls": [None, "x", {}, {"type": 1}, {"index": 0}]}}]},
        {"error": {"code": "1302"}},
    ],
)
def test_junk_is_ignored(data: dict[str, Any]) -> None:
    assert parse_chunk(data) == []


def test_tool_call_with_missing_body_keeps_its_type() -> None:
    data = {"choices": [{"delta": {"tool_calls": [{"type": "web_browser", "web_browser": "x"}]}}]}
    assert parse_chunk(data) == [ToolCall("web_browser")]


def test_junk_choice_does_not_hide_a_valid_one() -> None:
    data = {"choices": ["junk", {"delta": None}, {"delta": {"content": "ok"}}]}
    assert parse_chunk(data) == [TextDelta("ok")]


# --- usage ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("data", [None, [], "usage", 3])
def test_parse_usage_rejects_non_dict(data: Any) -> None:
    assert parse_usage(data) is None


def test_parse_usage_defaults_missing_and_non_int_fields_to_zero() -> None:
    assert parse_usage({"prompt_tokens": "7", "completion_tokens": 2.5, "total_tokens": 9}) == (
        Usage(prompt_tokens=0, completion_tokens=0, total_tokens=9)
    )
    assert parse_usage({}) == Usage(0, 0, 0)
