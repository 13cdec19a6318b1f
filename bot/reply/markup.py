"""Incremental removal of model markup that must never reach Slack: the only place that decides.

``<think>…</think>`` is reasoning, not answer; ``<|begin_of_box|>``/``<|end_of_box|>`` are
boundary tags some models emit (seed §Responses). Tags can be split across stream chunks, so the
filter holds back only a possible tag prefix at the end of a chunk: O(chunk) per call.

One rule, whatever the chunking:

* text inside ``<think>…</think>`` is reasoning; an unclosed ``<think>`` hides the rest;
* a ``</think>`` that comes before any other think tag means the model's chat template opened
  the reasoning in the prompt: everything before it was reasoning too. A stream cannot know
  that until the tag arrives, so :meth:`MarkupFilter.feed` then says ``restart``: the caller
  takes back what it already showed;
* later stray ``</think>`` tags and the box tags are removed, their surroundings kept.

:func:`visible_text` applies the same filter to a whole string, so a reply assembled in one
piece and one streamed a character at a time end the same.
"""

from __future__ import annotations

from dataclasses import dataclass

THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"
DROP_TAGS = ("<|begin_of_box|>", "<|end_of_box|>")
_ALL_TAGS = (THINK_OPEN, THINK_CLOSE, *DROP_TAGS)
_MAX_TAG = max(len(t) for t in _ALL_TAGS)


@dataclass(frozen=True, slots=True)
class Visible:
    """What one chunk adds to the answer; with ``restart``, what came before was reasoning."""

    text: str
    restart: bool = False


class MarkupFilter:
    def __init__(self) -> None:
        self._held = ""
        self._seen_think_tag = False
        self._visible_chars = 0
        self.thinking = False
        self.thought_chars = 0

    def feed(self, chunk: str) -> Visible:
        """The visible part of ``chunk`` (possibly empty), and whether to drop what was shown."""
        text = self._held + chunk
        self._held = ""
        out: list[str] = []
        restart = False
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
                if tag == THINK_CLOSE and not self._seen_think_tag:
                    # Reasoning opened by the prompt: all shown so far was reasoning.
                    restart = True
                    self.thought_chars += self._visible_chars
                    self._visible_chars = 0
                    out.clear()
                if tag in (THINK_OPEN, THINK_CLOSE):
                    self._seen_think_tag = True
                    self.thinking = tag == THINK_OPEN
                i = lt + len(tag)
                continue
            if lt + _MAX_TAG > n and any(t.startswith(rest) for t in _ALL_TAGS):
                self._held = text[lt:]  # maybe the start of a tag: decide with the next chunk
                break
            self._emit(out, "<")
            i = lt + 1
        return Visible("".join(out), restart)

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
            self._visible_chars += len(text)
            out.append(text)


def visible_text(text: str) -> str:
    """The answer a person sees for ``text`` received whole (the same rule as streaming)."""
    markup = MarkupFilter()
    return markup.feed(text).text + markup.flush()
