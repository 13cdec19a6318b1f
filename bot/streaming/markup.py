"""Incremental removal of model markup that must never reach Slack.

``<think>…</think>`` is reasoning, not answer; ``<|begin_of_box|>``/``<|end_of_box|>`` are
boundary tags some models emit (seed §Responses). Tags can be split across stream chunks, so the
filter holds back only a possible tag prefix at the end of a chunk: O(chunk) per call.
"""

from __future__ import annotations

THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"
DROP_TAGS = ("<|begin_of_box|>", "<|end_of_box|>")
_ALL_TAGS = (THINK_OPEN, THINK_CLOSE, *DROP_TAGS)
_MAX_TAG = max(len(t) for t in _ALL_TAGS)


class MarkupFilter:
    def __init__(self) -> None:
        self._held = ""
        self.thinking = False
        self.thought_chars = 0

    def feed(self, chunk: str) -> str:
        """Return the visible part of ``chunk`` (possibly empty)."""
        text = self._held + chunk
        self._held = ""
        out: list[str] = []
        i = 0
        n = len(text)
        while i < n:
            lt = text.find("<", i)
            if lt < 0:
                self._emit(out, text[i:])
                break
            self._emit(out, text[i:lt])
            rest = text[lt : lt + _MAX_TAG]
            tag = next((t for t in _ALL_TAGS if rest.startswith(t)), None)
            if tag is not None:
                if tag == THINK_OPEN:
                    self.thinking = True
                elif tag == THINK_CLOSE:
                    self.thinking = False
                i = lt + len(tag)
                continue
            if lt + _MAX_TAG > n and any(t.startswith(rest) for t in _ALL_TAGS):
                self._held = text[lt:]  # maybe the start of a tag: decide with the next chunk
                break
            self._emit(out, "<")
            i = lt + 1
        return "".join(out)

    def flush(self) -> str:
        """End of stream: a held fragment that never became a tag is text after all."""
        held, self._held = self._held, ""
        out: list[str] = []
        self._emit(out, held)
        return "".join(out)

    def _emit(self, out: list[str], text: str) -> None:
        if not text:
            return
        if self.thinking:
            self.thought_chars += len(text)
        else:
            out.append(text)
