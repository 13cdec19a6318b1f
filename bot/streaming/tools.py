"""What the assistants' tool calls mean for the reader, as pure data.

Tool-call deltas (wire notes §2.5) arrive as an ``input`` chunk then an ``outputs`` chunk. This
turns them into a live activity line ("Searching the web: …") and into attachments shown under
the answer: sources for ``web_browser``/``retrieval``, images for ``drawing_tool``,
``code_interpreter`` logs and ``function`` outputs, and the code that was run.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from bot.glm.events import ToolCall
from bot.texts import Lang, t

# The extension must end the path (not ``.png-cdn.com`` or ``.pngs/``), else the lazy ``\S+?``
# stops at the first ``.png`` inside a host name and the image URL comes out truncated.
_IMAGE_URL = re.compile(
    r"https?://\S+?\.(?:png|jpe?g|gif|webp)(?![\w/-]|\.\w)(?:\?\S*)?", re.IGNORECASE
)
# The query ends at the quote that opened it: ``search("what's new")`` is not "what".
_SEARCH_ARG = re.compile(r"""search\(\s*(?P<quote>["'])(?P<q>.*?)(?P=quote)""", re.DOTALL)
MAX_ACTIVITY = 150


@dataclass(frozen=True, slots=True)
class Source:
    title: str
    url: str


@dataclass(frozen=True, slots=True)
class Image:
    url: str
    title: str


@dataclass(slots=True)
class ToolLedger:
    """Accumulates everything the tools produced during one reply (deduplicated, in order)."""

    lang: Lang = "en"  # the language of the activity lines
    sources: list[Source] = field(default_factory=list)
    images: list[Image] = field(default_factory=list)
    code: list[str] = field(default_factory=list)
    code_logs: list[str] = field(default_factory=list)
    documents: list[str] = field(default_factory=list)
    links: list[Source] = field(default_factory=list)
    calls: int = 0

    def apply(self, call: ToolCall) -> str | None:
        """Record one tool delta; return a new activity line for the user, if any."""
        self.calls += 1
        kind = call.tool_type
        if call.input is not None:
            return _activity(kind, call.input, call.name, self.lang)
        for out in call.outputs or ():
            self._output(kind, out)
        return None

    def _output(self, kind: str, out: dict[str, Any]) -> None:
        if kind == "web_browser":
            link = str(out.get("link") or "")
            title = str(out.get("title") or "").strip() or link
            if link.startswith(("http://", "https://")) and all(
                s.url != link for s in self.sources
            ):
                self.sources.append(Source(title, link))
        elif kind == "drawing_tool":
            url = str(out.get("image") or out.get("url") or "")
            if _is_http(url):
                self._image(url, "Generated image")
        elif kind == "code_interpreter":
            logs = str(out.get("logs") or out.get("error_msg") or "")
            urls = _IMAGE_URL.findall(logs)
            for url in urls:
                self._image(url, "Chart")
            rest = _IMAGE_URL.sub("", logs).strip()
            if rest:
                self.code_logs.append(rest)
        elif kind == "function":
            content = out.get("content")
            data: Any = content
            if isinstance(content, str):
                try:
                    data = json.loads(content)
                except ValueError:
                    data = content
            url = data.get("url") if isinstance(data, dict) else None
            if isinstance(url, str) and _is_http(url):
                if _looks_like_image(url):
                    self._image(url, "Result")
                elif all(link.url != url for link in self.links):
                    # A file (slides, a document): Slack would reject it as an image block.
                    self.links.append(Source(url.rsplit("/", 1)[-1] or url, url))
        elif kind == "retrieval":
            doc = str(out.get("document") or "").strip()
            if doc and doc not in self.documents:
                self.documents.append(doc)

    def _image(self, url: str, title: str) -> None:
        if all(i.url != url for i in self.images):
            self.images.append(Image(url, title))

    def record_code(self, call: ToolCall) -> None:
        if call.tool_type == "code_interpreter" and call.input:
            self.code.append(call.input)


def _activity(kind: str, tool_input: str, name: str | None, lang: Lang = "en") -> str:
    text = " ".join(tool_input.split())
    if kind == "web_browser":
        m = _SEARCH_ARG.search(tool_input)
        if m:
            return _clip(t("tool_search", lang, query=m.group("q")))
        if text.startswith("click"):
            return t("tool_click", lang)
        if text.startswith("quote"):
            return t("tool_quote", lang)
        return t("tool_browse", lang)
    if kind == "drawing_tool":
        return _clip(t("tool_drawing", lang, prompt=text))
    if kind == "code_interpreter":
        return t("tool_code", lang)
    if kind == "retrieval":
        return t("tool_retrieval", lang)
    if kind == "function":
        return _clip(
            t("tool_function", lang, name=name) if name else t("tool_function_unnamed", lang)
        )
    return _clip(t("tool_function", lang, name=kind))


_IMAGE_PATH = re.compile(r"\.(?:png|jpe?g|gif|webp)$", re.IGNORECASE)


def _looks_like_image(url: str) -> bool:
    return bool(_IMAGE_PATH.search(url.split("?", 1)[0].split("#", 1)[0]))


def _is_http(url: str) -> bool:
    return url.startswith(("http://", "https://"))


def _clip(text: str) -> str:
    return text if len(text) <= MAX_ACTIVITY else text[: MAX_ACTIVITY - 1] + "…"
