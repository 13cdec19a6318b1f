"""Render model output (GitHub-flavoured Markdown, possibly a streamed prefix) as Slack mrkdwn.

Slack's ``text`` field understands its own small "mrkdwn" dialect, not Markdown, so the
model's answer is parsed with markdown-it-py and re-emitted token by token.  Every piece of
literal text goes through :func:`escape_mrkdwn`, which is what keeps ``<!channel>`` or
``<@U123>`` in model output from pinging anyone.

The module is pure (no I/O) and total: any string, including a half-streamed answer with an
unclosed code fence or an unclosed ``**``, renders without raising.
"""

from __future__ import annotations

import string
import unicodedata
from dataclasses import dataclass

from markdown_it import MarkdownIt
from markdown_it.tree import SyntaxTreeNode

__all__ = ["escape_mrkdwn", "markdown_to_mrkdwn", "render_reply"]

ZWSP = "\u200b"
HR_LINE = "───────"
BULLET = "•"
SUB_BULLET = "◦"
LIST_INDENT = "    "

_PARSER = MarkdownIt("commonmark").enable(["table", "strikethrough"])

_ALLOWED_SCHEMES = ("http://", "https://", "mailto:")
_LIST_TYPES = frozenset({"bullet_list", "ordered_list"})
# Blocks whose lines must not be re-indented inside list items (it would change the code).
_VERBATIM_TYPES = frozenset({"fence", "code_block", "table"})

# ---------------------------------------------------------------------------------------------
# Escaping and model markup


def escape_mrkdwn(text: str) -> str:
    """Escape ``&``, ``<`` and ``>`` so Slack shows them literally.

    Slack treats ``<...>`` as control sequences (links, ``<!channel>``, ``<@U123>`` mentions),
    so every literal character from the model must be escaped or a reply could ping people.
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# ---------------------------------------------------------------------------------------------
# Inline rendering


@dataclass(frozen=True, slots=True)
class _Mark:
    """A Slack formatting marker (``*``, ``_``, ``~``) whose word-boundary spacing is decided
    only once the neighbouring characters are known."""

    char: str
    opening: bool


_Segment = str | _Mark

# Slack only honours ``*b*`` / ``_i_`` / ``~s~`` when the markers touch a word boundary:
# ``中文*粗体*中文`` or ``foo*bar*baz`` renders literally.  When a marker would be glued to
# a letter, digit, CJK character or other non-ASCII-punctuation character we insert a
# ZERO WIDTH SPACE (U+200B) between them.  We chose U+200B over a plain space because it is
# invisible: CJK text is written without spaces and a visible space would change the text the
# model wrote, while Slack still treats U+200B as a boundary and renders the formatting.
_NON_GLUE = frozenset(string.punctuation) | {ZWSP}


def _glues(char: str) -> bool:
    """True when a formatting marker next to ``char`` would not be recognised by Slack."""
    return not char.isspace() and char not in _NON_GLUE


def _join_segments(segments: list[_Segment]) -> str:
    """Concatenate inline segments, inserting U+200B where a marker would be glued to text."""
    out: list[str] = []
    last_char = ""
    for index, segment in enumerate(segments):
        if isinstance(segment, str):
            if segment:
                out.append(segment)
                last_char = segment[-1]
            continue
        if segment.opening:
            if last_char and _glues(last_char):
                out.append(ZWSP)
            out.append(segment.char)
            last_char = segment.char
            continue
        out.append(segment.char)
        last_char = segment.char
        following = _next_char(segments, index + 1)
        if following and _glues(following):
            out.append(ZWSP)
            last_char = ZWSP
    return "".join(out)


def _next_char(segments: list[_Segment], start: int) -> str:
    for segment in segments[start:]:
        if isinstance(segment, _Mark):
            return segment.char
        if segment:
            return segment[0]
    return ""


_MARKS = {"strong": "*", "em": "_", "s": "~"}


def _inline_segments(nodes: list[SyntaxTreeNode], active: frozenset[str]) -> list[_Segment]:
    """Render inline nodes to segments; ``active`` holds markers already open (never nest
    the same Slack marker, ``*a *b* c*`` would close early)."""
    segments: list[_Segment] = []
    for node in nodes:
        kind = node.type
        if kind == "text":
            segments.append(escape_mrkdwn(node.content))
        elif kind in ("softbreak", "hardbreak"):
            segments.append("\n")
        elif kind in _MARKS:
            char = _MARKS[kind]
            inner = _inline_segments(node.children, active | {char})
            if char in active or not _has_text(inner):
                segments.extend(inner)
            else:
                segments.append(_Mark(char, True))
                segments.extend(inner)
                segments.append(_Mark(char, False))
        elif kind == "code_inline":
            segments.append(f"`{escape_mrkdwn(node.content)}`")
        elif kind == "link":
            segments.append(_render_link(node))
        elif kind == "image":
            segments.append(_render_image(node))
        elif kind == "html_inline":
            segments.append(escape_mrkdwn(node.content))
        else:  # unknown inline token from a future markdown-it: keep its text, escaped
            segments.append(escape_mrkdwn(_plain_text(node.children) or node.content))
    return segments


def _has_text(segments: list[_Segment]) -> bool:
    return any(isinstance(segment, str) and segment.strip() for segment in segments)


def _plain_text(nodes: list[SyntaxTreeNode], *, with_urls: bool = False) -> str:
    """Unformatted text of inline nodes (link labels, image alts, table cells); unescaped."""
    parts: list[str] = []
    for node in nodes:
        kind = node.type
        if kind in ("text", "code_inline", "html_inline"):
            parts.append(node.content)
        elif kind in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif kind == "link":
            label = _plain_text(node.children)
            href = str(node.attrs.get("href", ""))
            if with_urls and href and label != href and node.markup != "autolink":
                parts.append(f"{label} ({href})" if label else href)
            else:
                parts.append(label)
        elif kind == "image":
            parts.append(_plain_text(node.children))
        else:
            parts.append(_plain_text(node.children, with_urls=with_urls))
    return "".join(parts)


def _slack_url(href: str) -> str:
    """Escape a URL for ``<url|label>``; ``|`` would end the URL early so it is %-encoded."""
    return escape_mrkdwn(href).replace("|", "%7C")


def _is_linkable(href: str) -> bool:
    return href.lower().startswith(_ALLOWED_SCHEMES)


def _render_link(node: SyntaxTreeNode) -> str:
    href = str(node.attrs.get("href", ""))
    label = _plain_text(node.children)
    if not _is_linkable(href):
        # Slack would turn other schemes (or relative paths) into broken links: show both.
        if not label:
            return escape_mrkdwn(href)
        return escape_mrkdwn(f"{label} ({href})" if href else label)
    if (node.markup == "autolink" and not href.lower().startswith("mailto:")) or not label:
        return f"<{_slack_url(href)}>"
    return f"<{_slack_url(href)}|{escape_mrkdwn(label)}>"


def _render_image(node: SyntaxTreeNode) -> str:
    src = str(node.attrs.get("src", ""))
    alt = _plain_text(node.children)
    if not _is_linkable(src):
        if not alt:
            return escape_mrkdwn(src)
        return escape_mrkdwn(f"{alt} ({src})" if src else alt)
    if not alt:
        return f"<{_slack_url(src)}>"
    return f"<{_slack_url(src)}|{escape_mrkdwn(alt)}>"


def _render_inline(node: SyntaxTreeNode, active: frozenset[str] = frozenset()) -> str:
    """Render the ``inline`` child of a paragraph/heading/cell container."""
    children: list[SyntaxTreeNode] = []
    for child in node.children:
        children.extend(child.children if child.type == "inline" else [child])
    return _join_segments(_inline_segments(children, active))


# ---------------------------------------------------------------------------------------------
# Block rendering


def _code_block(content: str) -> str:
    """A Slack code block; the body is escaped but otherwise verbatim.

    Trailing newlines are dropped: the closing ``` goes on its own line anyway, and a split
    message part (see :mod:`bot.reply.split`) adds one before its closing fence.
    """
    return f"```\n{escape_mrkdwn(content.rstrip(chr(10)))}\n```"


def _render_heading(node: SyntaxTreeNode) -> str:
    segments: list[_Segment] = []
    for child in node.children:
        segments.extend(_inline_segments(child.children, frozenset({"*"})))
    if not _has_text(segments):
        return _join_segments(segments).strip()
    return _join_segments([_Mark("*", True), *segments, _Mark("*", False)])


def _render_list(node: SyntaxTreeNode, depth: int) -> str:
    ordered = node.type == "ordered_list"
    start = _list_start(node) if ordered else 1
    indent = LIST_INDENT * depth
    lines: list[str] = []
    bullet = BULLET if depth == 0 else SUB_BULLET
    for number, item in enumerate(node.children, start=start):
        marker = f"{number}." if ordered else bullet
        head = f"{indent}{marker} "
        continuation = " " * len(head)
        item_lines: list[str] = []
        first_text_line = True
        for child in item.children:
            if child.type in _LIST_TYPES:
                if first_text_line:
                    item_lines.append(head.rstrip())
                    first_text_line = False
                item_lines.extend(_render_list(child, depth + 1).split("\n"))
                continue
            block = _render_block(child)
            if child.type in _VERBATIM_TYPES:
                if first_text_line:
                    item_lines.append(head.rstrip())
                    first_text_line = False
                item_lines.extend(block.split("\n"))
                continue
            for line in block.split("\n"):
                if first_text_line:
                    item_lines.append(head + line)
                    first_text_line = False
                else:
                    item_lines.append(continuation + line if line else "")
        if first_text_line:
            item_lines.append(head.rstrip())
        lines.extend(item_lines)
    return "\n".join(lines)


def _list_start(node: SyntaxTreeNode) -> int:
    try:
        return int(node.attrs.get("start", 1))
    except (TypeError, ValueError):
        return 1


def _render_blockquote(node: SyntaxTreeNode) -> str:
    inner = "\n\n".join(_render_blocks(node.children))
    return "\n".join(f"> {line}" if line else ">" for line in inner.split("\n"))


def _display_width(text: str) -> int:
    """Monospace columns ``text`` occupies: East-Asian wide/fullwidth count as two."""
    width = 0
    for char in text:
        if unicodedata.combining(char) or char in "\u200b\u200c\u200d\ufeff":
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


def _cell_alignment(cell: SyntaxTreeNode) -> str:
    style = str(cell.attrs.get("style", ""))
    if "right" in style:
        return "right"
    if "center" in style:
        return "center"
    return "left"


def _pad(text: str, width: int, alignment: str) -> str:
    gap = width - _display_width(text)
    if alignment == "right":
        return " " * gap + text
    if alignment == "center":
        left = gap // 2
        return " " * left + text + " " * (gap - left)
    return text + " " * gap


def _render_table(node: SyntaxTreeNode) -> str:
    """Tables become a monospace code block with padded columns (Slack has no tables)."""
    rows: list[list[str]] = []
    alignments: list[str] = []
    header_rows = 0
    for section in node.children:
        for row in section.children:
            cells = [
                _plain_text([g for c in cell.children for g in c.children], with_urls=True).strip()
                for cell in row.children
            ]
            if not alignments:
                alignments = [_cell_alignment(cell) for cell in row.children]
            rows.append(cells)
            if section.type == "thead":
                header_rows += 1
    if not rows:
        return ""
    columns = max(len(row) for row in rows)
    alignments += ["left"] * (columns - len(alignments))
    for padded in rows:
        padded += [""] * (columns - len(padded))
    widths = [max(_display_width(row[i]) for row in rows) for i in range(columns)]
    lines = [
        " | ".join(_pad(cell, widths[i], alignments[i]) for i, cell in enumerate(row)).rstrip()
        for row in rows
    ]
    if header_rows:
        lines.insert(header_rows, "-+-".join("-" * width for width in widths))
    # Pad before escaping: Slack displays "&amp;" as one "&", so widths use the raw text.
    return _code_block("\n".join(lines))


def _render_block(node: SyntaxTreeNode) -> str:
    kind = node.type
    if kind == "paragraph":
        return _render_inline(node)
    if kind == "heading":
        return _render_heading(node)
    if kind in _LIST_TYPES:
        return _render_list(node, 0)
    if kind == "blockquote":
        return _render_blockquote(node)
    if kind in ("fence", "code_block"):
        return _code_block(node.content)
    if kind == "table":
        return _render_table(node)
    if kind == "hr":
        return HR_LINE
    if kind == "html_block":
        return escape_mrkdwn(node.content.rstrip("\n"))
    if kind == "inline":
        return _join_segments(_inline_segments(node.children, frozenset()))
    # Unknown block from a future markdown-it: render its children, never drop text silently.
    return "\n\n".join(_render_blocks(node.children))


def _render_blocks(nodes: list[SyntaxTreeNode]) -> list[str]:
    rendered = (_render_block(node) for node in nodes)
    return [block for block in rendered if block]


def markdown_to_mrkdwn(md: str) -> str:
    """Convert (possibly incomplete) Markdown to Slack mrkdwn; never raises on any input.

    Parsing is done by markdown-it-py so the CommonMark edge cases (nested emphasis, lazy
    continuation lines, unclosed fences running to the end of a streamed prefix) are handled by
    a real parser rather than regexes.  Blocks are separated by one blank line.
    """
    if not md:
        return ""
    tree = SyntaxTreeNode(_PARSER.parse(md))
    return "\n\n".join(_render_blocks(tree.children))


def render_reply(md: str) -> str:
    """Answer Markdown → Slack ``text``.

    Model markup (reasoning, box tags) is already gone: :mod:`bot.reply.markup` removes it
    where the stream enters, by one rule, so rendering never second-guesses it.
    """
    return markdown_to_mrkdwn(md)
