"""Split a long Markdown answer into parts that each fit in one Slack message.

Slack truncates or rejects very long messages, so a long answer is posted as several
messages.  Cutting Markdown naively breaks code blocks (the rest of the answer would render as
code, or a fence would never close), so this module cuts at the most natural point and keeps
every part's code fences balanced.

Cutting rule (one rule, shared by :func:`split_point` and :func:`split_markdown`), applied to
the window of text that fits in the part:

1. the last paragraph boundary (the end of a run of blank lines) outside code fences,
2. else the last line end,
3. else the last whitespace character,
4. else a hard cut at the window end (moved back so it never separates ``\\r\\n``, a
   combining mark, a variation selector or a zero-width joiner from its base).

Classes 1-3 are only taken when they keep at least half the window (so a blank line near the
top does not produce a tiny part); otherwise the latest candidate of any class is used, and a
hard cut only when there is no candidate at all.  Whitespace at a cut point stays at the
*end* of the earlier part (the cut is placed after the blank-line run, newline or whitespace
character), so the later part does not start with the separator: leading spaces could turn it
into an indented code block.  A mid-line cut (3, 4) is never placed where the part's line
before it, or the line remainder after it, starts with ``` or ~~~, since either could then be
read as a fence line.

Fences: a fence is a line of optional spaces then at least three backticks or tildes
(a backtick fence's info string may not contain a backtick), closed by a line of optional
spaces then at least as many of the same character and nothing but whitespace.  Unlike
CommonMark any indentation is accepted, because models indent fences inside list items.
Opening lines longer than :data:`MAX_FENCE_LINE` characters are not treated as fences (they
could not be repeated in every part).  When a cut falls inside a fence:

* the earlier part gets ``"\\n" + indent + fence_marker`` appended (always with the leading
  newline, even when the body already ends in one; the renderer drops trailing newlines of
  code so that extra empty line never shows),
* the later part gets the original opening line (indentation, marker and info string, without
  its ``\\r``) plus ``"\\n"`` prepended,
* and ``len(part) <= limit`` holds *including* those added lines.

Exact rejoin rule: remove, from every part that continues a fence, its first line (the added
opening line and its ``"\\n"``), and from every part that ends inside a fence, the final
``"\\n" + indent + marker``; the concatenation of what remains is exactly ``md`` (no character,
whitespace included, is dropped or added).  A part continues a fence iff the text rejoined so
far ends inside a fence; a part ends inside a fence iff it is not the last one and the text
rejoined so far plus the part without that final line ends inside a fence.

A part can consist of whitespace only when ``md`` contains a whitespace run longer than about
half of ``limit``; callers posting to Slack should skip such parts.  The limit counts Python
``str`` characters of the *Markdown*; rendering to mrkdwn (escaping ``&`` as ``&amp;``) can
grow the text, so choose ``limit`` with some headroom below Slack's cap.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass

__all__ = ["MAX_FENCE_LINE", "MIN_LIMIT", "fence_repair", "split_markdown", "split_point"]

MIN_LIMIT = 200
MAX_FENCE_LINE = 80

_FENCE_OPEN = re.compile(r"( *)(`{3,}|~{3,})(.*)")
_BLANK_RUN = re.compile(r"\n(?:[ \t\r\f\v]*\n)+")
_FENCE_LIKE = re.compile(r" *(?:```|~~~)")


@dataclass(frozen=True, slots=True)
class _Fence:
    """One fenced code block, as offsets into the text.

    ``open_start``: start of the opening line; ``body_start``: just after its line ending;
    ``close_start``: start of the closing line (``len(md)`` when unclosed); ``close_marker_end``:
    end of the closing marker run.
    """

    open_start: int
    body_start: int
    close_start: int
    close_marker_end: int
    open_line: str
    closing: str  # indent + marker, the line appended to a part cut inside this fence


def _scan_fences(md: str) -> list[_Fence]:
    """All fenced code blocks of ``md`` in order; one linear pass over its lines."""
    fences: list[_Fence] = []
    pos = 0
    size = len(md)
    current: tuple[int, int, str, str, str] | None = None  # open_start, body, line, indent, run
    while pos < size:
        newline = md.find("\n", pos)
        line_end = size if newline == -1 else newline
        next_pos = size if newline == -1 else newline + 1
        line = md[pos:line_end]
        if line.endswith("\r"):
            line = line[:-1]
        if current is None:
            match = _FENCE_OPEN.fullmatch(line)
            if (
                match
                and len(line) <= MAX_FENCE_LINE
                and not (match.group(2)[0] == "`" and "`" in match.group(3))
            ):
                current = (pos, next_pos, line, match.group(1), match.group(2))
        else:
            open_start, body_start, open_line, indent, run = current
            stripped = line.lstrip(" ")
            marker_len = len(stripped) - len(stripped.lstrip(run[0]))
            if marker_len >= len(run) and not stripped[marker_len:].strip():
                marker_end = pos + (len(line) - len(stripped)) + marker_len
                fences.append(
                    _Fence(open_start, body_start, pos, marker_end, open_line, indent + run)
                )
                current = None
        pos = next_pos
    if current is not None:
        open_start, body_start, open_line, indent, run = current
        fences.append(_Fence(open_start, body_start, size, size, open_line, indent + run))
    return fences


class _Splitter:
    """Cut state for one text: fence table built once, windows scanned once per part."""

    def __init__(self, md: str, limit: int) -> None:
        if limit < MIN_LIMIT:
            raise ValueError(f"limit must be >= {MIN_LIMIT}, got {limit}")
        self.md = md
        self.limit = limit
        self.fences = _scan_fences(md)
        self.open_starts = [fence.open_start for fence in self.fences]

    def fence_at(self, index: int) -> _Fence | None:
        """The fence whose body contains cut position ``index`` (a part ending here is open)."""
        slot = bisect_right(self.open_starts, index) - 1
        if slot < 0:
            return None
        fence = self.fences[slot]
        return fence if fence.body_start <= index <= fence.close_start else None

    def prefix(self, start: int) -> str:
        fence = self.fence_at(start) if start else None
        return fence.open_line + "\n" if fence else ""

    def cut(self, start: int, floor: int = 0) -> int | None:
        """End of the part starting at ``start`` (None when the rest fits in one part), never
        before ``floor``."""
        md = self.md
        prefix_len = len(self.prefix(start))
        if len(md) - start + prefix_len <= self.limit:
            return None
        budget = self.limit - prefix_len
        while True:
            end = min(len(md), start + budget)
            candidate = self._candidate(start, end, floor)
            cut = self._snap(start, candidate)
            if cut < floor:
                # What is shown stays shown, even if a closing fence line then overshoots.
                return max(candidate, floor)
            fence = self.fence_at(cut)
            suffix_len = len(fence.closing) + 1 if fence else 0
            if prefix_len + cut - start + suffix_len <= self.limit:
                return cut
            # The closing fence line does not fit: retry with a window that leaves room for
            # it.  The needed suffix only grows between rounds, so this terminates quickly.
            budget = self.limit - prefix_len - suffix_len

    def _candidate(self, start: int, end: int, floor: int = 0) -> int:
        md = self.md
        half = start + (end - start) // 2
        paragraph = self._last_paragraph(start, end)
        newline = md.rfind("\n", start, end)
        line = newline + 1 if newline != -1 else 0
        space = self._last_space(start, end)
        for candidate in (paragraph, line, space):
            if candidate > half and candidate >= floor:
                return candidate
        best = max(paragraph, line, space)
        if best > start and best >= floor:
            return best
        return max(self._hard_cut(start, end), min(floor, end))

    def _last_paragraph(self, start: int, end: int) -> int:
        best = 0
        for match in _BLANK_RUN.finditer(self.md, start, end):
            if match.end() > start and self.fence_at(match.start()) is None:
                best = match.end()
        return best

    def _last_space(self, start: int, end: int) -> int:
        """Cut after the last whitespace in the window whose cut cannot create a fence line.

        A mid-line cut turns both halves of the line into lines of their own, so it is
        skipped when the part's line before it or the line remainder after it starts with
        ``` or ~~~ (it could be read as a fence by Slack or by the next part's scan).
        """
        md = self.md
        following = end  # first non-space index at or after the current cut position
        while following < len(md) and md[following] == " ":
            following += 1
        head_is_fence: bool | None = None  # for the line containing the current index
        for index in range(end - 1, start - 1, -1):
            char = md[index]
            if char == "\n":
                head_is_fence = None
            elif char.isspace() and not (char == "\r" and md[index + 1 : index + 2] == "\n"):
                if head_is_fence is None:
                    line_start = max(md.rfind("\n", start, index) + 1, start)
                    head_is_fence = _FENCE_LIKE.match(md, line_start) is not None
                if not head_is_fence and not md.startswith(("```", "~~~"), following):
                    return index + 1
            if char != " ":
                following = index
        return 0

    def _hard_cut(self, start: int, end: int) -> int:
        md = self.md
        cut = end
        while cut > start + 1 and (_joins_previous(md[cut]) or md[cut - 1] == "\u200d"):
            cut -= 1
        if md[cut - 1] == "\r" and md[cut : cut + 1] == "\n" and cut > start + 1:
            cut -= 1
        return cut if cut > start else end

    def _snap(self, start: int, cut: int) -> int:
        """Never end a part inside a fence's opening line or closing marker."""
        slot = bisect_right(self.open_starts, cut) - 1
        if slot < 0:
            return cut
        fence = self.fences[slot]
        if fence.open_start < cut <= fence.body_start and fence.open_start > start:
            return fence.open_start
        if fence.close_start < cut < fence.close_marker_end and fence.close_start > start:
            cut = fence.close_start
        if cut == fence.close_start and cut > fence.body_start:
            # Ending right before the closing line would give the next part an empty code
            # block (reopening line, then the real closing line): cut one code line earlier.
            previous = self.md.rfind("\n", fence.body_start, cut - 1) + 1
            if previous > start and previous >= fence.body_start:
                return previous
        return cut


def _joins_previous(char: str) -> bool:
    """True when ``char`` belongs to the grapheme before it (must not start a part)."""
    code = ord(char)
    return (
        unicodedata.combining(char) != 0
        or unicodedata.category(char) in ("Mn", "Me", "Mc")
        or 0xFE00 <= code <= 0xFE0F
        or 0xE0100 <= code <= 0xE01EF
        or 0x1F3FB <= code <= 0x1F3FF
        or code in (0x200D, 0x20E3)
    )


def split_point(md: str, limit: int, *, floor: int = 0) -> int | None:
    """Index where the first part of ``md`` ends (``md[:i]``), or None when ``md`` fits.

    Exposed for both reply strategies, which end a message as soon as its text no longer fits:
    the part is ``md[:i]`` (plus a closing fence line when ``i`` is inside a code fence, which
    the returned index already leaves room for). ``floor`` is how much of ``md`` is already
    shown and cannot be taken back (a native stream): the cut is never before it, and among
    the cuts at or after it the rule above still picks the most natural one.
    """
    if len(md) <= limit:
        return None
    return _Splitter(md, limit).cut(0, floor)


def fence_repair(md: str, index: int) -> tuple[str, str]:
    """Lines to add when ``md`` is cut at ``index``: ``(suffix, prefix)``.

    ``md[:index] + suffix`` and ``prefix + md[index:]`` both have balanced fences; both are
    ``""`` when ``index`` is not inside a code fence.  The streaming renderer uses this with
    :func:`split_point` to freeze a message and continue the next one.
    """
    fences = _scan_fences(md)
    slot = bisect_right([fence.open_start for fence in fences], index) - 1
    if slot >= 0 and index > 0:
        fence = fences[slot]
        if fence.body_start <= index <= fence.close_start:
            return "\n" + fence.closing, fence.open_line + "\n"
    return "", ""


def split_markdown(md: str, limit: int) -> list[str]:
    """Split ``md`` into parts of at most ``limit`` characters with balanced code fences.

    See the module docstring for the cutting rule and the exact rejoin rule.
    """
    if not md:
        return []
    if len(md) <= limit:
        return [md]
    splitter = _Splitter(md, limit)
    parts: list[str] = []
    start = 0
    while True:
        prefix = splitter.prefix(start)
        cut = splitter.cut(start)
        if cut is None:
            parts.append(prefix + md[start:])
            return parts
        fence = splitter.fence_at(cut)
        suffix = "\n" + fence.closing if fence else ""
        parts.append(prefix + md[start:cut] + suffix)
        start = cut
