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
# A link to a file in the answer text itself (a slide deck, say): re-uploaded like tool
# outputs when it is on an allowed host. Ends at whitespace, a bracket or a quote.
_STOP = r"""\s<>()\[\]"'`|"""
_TEXT_FILE_URL = re.compile(
    rf"https?://[^{_STOP}]+?\.(?:pptx?|pdf|docx?|xlsx?|csv|zip|png|jpe?g|gif|webp)"
    rf"(?:[?#][^{_STOP}]*)?(?=[{_STOP}]|$)",
    re.IGNORECASE,
)
MAX_CARRY = 2048


@dataclass(frozen=True, slots=True)
class Source:
    title: str
    url: str


@dataclass(frozen=True, slots=True)
class Image:
    url: str
    title: str


@dataclass(frozen=True, slots=True)
class PublishedFile:
    """An assistant output re-uploaded into the reply's thread (GLM's own links expire)."""

    source: str
    file_id: str
    title: str
    permalink: str | None = None


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
    text_files: list[Source] = field(default_factory=list)  # file links in the answer text
    published: dict[str, PublishedFile] = field(default_factory=dict)  # by source URL
    _carry: str = ""  # the answer's unfinished last word, which may be half a URL

    def apply(self, call: ToolCall) -> str | None:
        """Record one tool delta; return a new activity line for the user, if any."""
        kind = call.tool_type
        if call.input is not None:
            if kind == "code_interpreter" and call.input:
                self.code.append(call.input)  # shown under the answer as the code that ran
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
                self._image(url, t("image_generated", self.lang))
        elif kind == "code_interpreter":
            logs = str(out.get("logs") or out.get("error_msg") or "")
            urls = _IMAGE_URL.findall(logs)
            for url in urls:
                self._image(url, t("image_chart", self.lang))
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
            result_url = data.get("url") if isinstance(data, dict) else None
            if isinstance(result_url, str) and _is_http(result_url):
                if _looks_like_image(result_url):
                    self._image(result_url, t("image_result", self.lang))
                elif all(link.url != result_url for link in self.links):
                    # A file (slides, a document): Slack would reject it as an image block.
                    name = result_url.rsplit("/", 1)[-1] or result_url
                    self.links.append(Source(name, result_url))
        elif kind == "retrieval":
            doc = str(out.get("document") or "").strip()
            if doc and doc not in self.documents:
                self.documents.append(doc)

    def _image(self, url: str, title: str) -> None:
        if all(i.url != url for i in self.images):
            self.images.append(Image(url, title))

    def note_text(self, text: str) -> None:
        """Scan visible answer text for file links; a URL split across chunks is kept whole."""
        buf = self._carry + text
        end = max(buf.rfind(" "), buf.rfind("\n"), buf.rfind("\t"))
        self._carry = buf[end + 1 :][-MAX_CARRY:]
        if end >= 0:
            self._text_urls(buf[: end + 1])

    def _text_urls(self, text: str) -> list[Source]:
        found = []
        for url in _TEXT_FILE_URL.findall(text):
            if self._new_output(url):
                source = Source(url.split("?", 1)[0].rsplit("/", 1)[-1] or url, url)
                self.text_files.append(source)
                found.append(source)
        return found

    def _new_output(self, url: str) -> bool:
        known = [i.url for i in self.images] + [o.url for o in (*self.links, *self.text_files)]
        return url not in known

    def outputs(self) -> list[Source]:
        """Every file the reply produced (images, other files, file links in its text)."""
        tail = [
            Source(u.split("?", 1)[0].rsplit("/", 1)[-1] or u, u)
            for u in _TEXT_FILE_URL.findall(self._carry)
            if self._new_output(u)
        ]
        images = [Source(i.title, i.url) for i in self.images]
        return [*images, *self.links, *self.text_files, *tail]

    def shown_outputs(self) -> list[Source]:
        """What a reply lists as files: tool outputs, plus text links that were re-uploaded."""
        images = [Source(i.title, i.url) for i in self.images]
        texts = [o for o in self.text_files if o.url in self.published]
        return [*images, *self.links, *texts]

    def unpublished_images(self) -> list[Image]:
        return [i for i in self.images if i.url not in self.published]


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
