"""Typed events of one GLM assistant stream, parsed from the wire chunks.

The client turns raw SSE JSON into these so nothing above it touches the wire format.
Parsing is pure: :func:`parse_chunk` maps one decoded chunk to zero or more events.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


@dataclass(frozen=True, slots=True)
class ConversationStarted:
    """First chunk seen: the conversation id to persist as early as possible."""

    conversation_id: str
    response_id: str | None = None


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One tool-call delta: either its ``input`` or its ``outputs`` (the server sends them apart).

    ``tool_type`` is the wire ``type`` (``web_browser``, ``drawing_tool``, ``code_interpreter``,
    ``function``, ``retrieval``, or anything newer); ``name`` is set for ``function`` calls.
    """

    tool_type: str
    input: str | None = None
    outputs: tuple[dict[str, Any], ...] | None = None
    name: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Completed:
    usage: Usage | None = None
    finish_reason: str | None = None


StreamEvent = ConversationStarted | TextDelta | ToolCall | Completed


def parse_usage(data: Any) -> Usage | None:
    if not isinstance(data, dict):
        return None

    def _int(key: str) -> int:
        value = data.get(key)
        return value if isinstance(value, int) else 0

    return Usage(_int("prompt_tokens"), _int("completion_tokens"), _int("total_tokens"))


def _tool_call(item: Any) -> ToolCall | None:
    if not isinstance(item, dict):
        return None
    tool_type = item.get("type")
    if not isinstance(tool_type, str):
        return None
    body = item.get(tool_type)
    if not isinstance(body, dict):
        body = {}
    raw_input = body.get("input")
    name = body.get("name") if isinstance(body.get("name"), str) else None
    if raw_input is None and tool_type == "function":
        raw_input = body.get("arguments")
    if raw_input is not None and not isinstance(raw_input, str):
        raw_input = json.dumps(raw_input, ensure_ascii=False)
    outputs = body.get("outputs")
    parsed_outputs: tuple[dict[str, Any], ...] | None = None
    if isinstance(outputs, list):
        parsed_outputs = tuple(o for o in outputs if isinstance(o, dict))
    return ToolCall(tool_type, raw_input, parsed_outputs, name, item)


def parse_chunk(chunk: dict[str, Any]) -> list[StreamEvent]:
    """Events carried by one decoded chunk, in the order a reader should apply them.

    Tolerant by design (wire notes §2.8): no reliance on ``delta.type``, ``index`` or the exact
    ``status`` spelling; unknown keys are ignored.
    """
    events: list[StreamEvent] = []
    choices = chunk.get("choices")
    if isinstance(choices, list):
        for choice in choices:
            if not isinstance(choice, dict):
                continue
            delta = choice.get("delta")
            if isinstance(delta, dict):
                content = delta.get("content")
                if isinstance(content, str) and content:
                    events.append(TextDelta(content))
                elif isinstance(content, list):  # multimodal form: [{type: text, text}]
                    for part in content:
                        if isinstance(part, dict) and isinstance(part.get("text"), str):
                            events.append(TextDelta(part["text"]))
                tool_calls = delta.get("tool_calls")
                if isinstance(tool_calls, list):
                    for item in tool_calls:
                        call = _tool_call(item)
                        if call is not None:
                            events.append(call)
    return events
