"""Tests for bot.reply.split: limits, cut preferences, fence balancing and exact rejoin."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from bot.reply.render import render_reply
from bot.reply.split import MAX_FENCE_LINE, fence_repair, split_markdown, split_point

# --- an independent fence scanner and the documented rejoin rule -------------------------------

_OPEN = re.compile(r"( *)(`{3,}|~{3,})(.*)")


@dataclass(frozen=True)
class OpenFence:
    line: str  # opening line without line ending
    closing: str  # indent + marker


def open_fence_at_end(text: str) -> OpenFence | None:
    """The fence still open at the end of ``text`` (module docstring rules), else None."""
    current: OpenFence | None = None
    run = ""
    for raw in text.split("\n"):
        line = raw[:-1] if raw.endswith("\r") else raw
        if current is None:
            m = _OPEN.fullmatch(line)
            if m and len(line) <= MAX_FENCE_LINE and not (m[2][0] == "`" and "`" in m[3]):
                current, run = OpenFence(line, m[1] + m[2]), m[2]
        else:
            body = line.lstrip(" ")
            marker = len(body) - len(body.lstrip(run[0]))
            if marker >= len(run) and not body[marker:].strip():
                current = None
    return current


def rejoin(parts: list[str]) -> str:
    """Undo split_markdown following the rejoin rule documented in bot/reply/split.py."""
    out = ""
    for index, part in enumerate(parts):
        fence = open_fence_at_end(out) if index else None
        if fence is not None:
            opening = fence.line + "\n"
            assert part.startswith(opening), (index, part[:40])
            part = part[len(opening) :]
        if index < len(parts) - 1:
            head, sep, last = part.rpartition("\n")
            inner = open_fence_at_end(out + head) if sep else None
            if inner is not None and last == inner.closing:
                part = head
        out += part
    return out


def check_split(md: str, limit: int, *, balanced: bool = True) -> list[str]:
    parts = split_markdown(md, limit)
    assert all(len(part) <= limit for part in parts), [len(p) for p in parts]
    assert all(part for part in parts)
    assert rejoin(parts) == md
    if balanced:
        for index, part in enumerate(parts):
            if index < len(parts) - 1 or open_fence_at_end(md) is None:
                assert open_fence_at_end(part) is None, (index, part)
    point = split_point(md, limit)
    if len(parts) <= 1:
        assert point is None
    else:
        assert point is not None
        suffix, _ = fence_repair(md, point)
        assert parts[0] == md[:point] + suffix
    return parts


# --- basics ------------------------------------------------------------------------------------


def test_empty_string_gives_no_parts() -> None:
    assert split_markdown("", 200) == []


def test_text_within_limit_is_one_part() -> None:
    md = "x" * 200
    assert split_markdown(md, 200) == [md]
    assert split_point(md, 200) is None


def test_limit_below_minimum_is_rejected() -> None:
    with pytest.raises(ValueError):
        split_markdown("x" * 500, 199)


def test_cut_prefers_paragraph_boundary() -> None:
    first = "First paragraph " * 7  # 112 chars, ends with a space
    second = "line\n" * 10
    md = first + "\n\n" + second + "tail " * 20
    parts = check_split(md, 200)
    assert parts[0] == first + "\n\n"
    assert split_point(md, 200) == len(first) + 2


def test_cut_prefers_line_end_over_whitespace() -> None:
    md = "".join(f"line number {i:03d} here\n" for i in range(30))  # 21 chars a line
    parts = check_split(md, 200)
    assert parts[0] == md[:189]  # 9 full lines
    assert all(part.endswith("\n") for part in parts)


def test_cut_at_whitespace_in_long_line() -> None:
    md = "word " * 100
    parts = check_split(md, 200)
    assert parts[0] == "word " * 40
    assert all(part.startswith("word") for part in parts)


def test_hard_cut_without_whitespace() -> None:
    md = "x" * 450
    assert check_split(md, 200) == ["x" * 200, "x" * 200, "x" * 50]


def test_hard_cut_never_separates_crlf() -> None:
    md = "y" * 199 + "\r\n" + "z" * 300
    parts = check_split(md, 200)
    assert not parts[0].endswith("\r")
    assert parts[0] == "y" * 199


def test_line_end_cut_keeps_crlf_together() -> None:
    md = "line of text\r\n" * 40
    parts = check_split(md, 200)
    assert all(part.endswith("\r\n") for part in parts)


def test_hard_cut_keeps_combining_marks_with_base() -> None:
    md = "x" + "e\u0301" * 300  # é as e + COMBINING ACUTE ACCENT; md[200] is the accent
    parts = check_split(md, 200)
    assert parts[0] == md[:199]
    assert all(not part.startswith("\u0301") for part in parts)


def test_hard_cut_keeps_zero_width_joiner_sequences() -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # 5 code points
    md = "x" * 197 + family + "y" * 100  # a cut at 200 would fall after the 2nd ZWJ
    parts = check_split(md, 200)
    assert parts[0] == "x" * 197


def test_short_paragraph_boundary_near_start_is_not_used() -> None:
    md = "Hi.\n\n" + ("long sentence " * 30)
    parts = check_split(md, 200)
    assert len(parts[0]) > 100


# --- fences ------------------------------------------------------------------------------------


def _code(lines: int, lang: str = "python") -> str:
    body = "".join(f"print({i})  # some comment {i}\n" for i in range(lines))
    return f"```{lang}\n{body}```\n"


def test_cut_inside_fence_closes_and_reopens_with_language() -> None:
    md = "Intro.\n\n" + _code(30) + "\nDone.\n"
    parts = check_split(md, 200)
    assert len(parts) > 2
    assert parts[0].startswith("Intro.\n\n```python\n")
    assert parts[0].endswith("\n\n```")
    for part in parts[1:-1]:
        assert part.startswith("```python\nprint(")
        assert part.endswith("\n```")
    assert parts[-1].endswith("```\n\nDone.\n")


def test_reopened_fence_keeps_indentation_and_tilde_marker() -> None:
    body = "".join(f"    step {i} of the install script\n" for i in range(20))
    md = f"1. Install:\n\n    ~~~~bash\n{body}    ~~~~\n"
    parts = check_split(md, 200)
    assert parts[1].startswith("    ~~~~bash\n")
    assert parts[0].endswith("\n    ~~~~")


def test_each_part_renders_as_closed_code_block() -> None:
    md = "Intro.\n\n" + _code(30) + "\nDone.\n"
    rendered = [render_reply(part) for part in split_markdown(md, 200)]
    assert (
        rendered[0]
        == "Intro.\n\n```\n"
        + "".join(f"print({i})  # some comment {i}\n" for i in range(6))
        + "```"
    )
    for text in rendered:
        assert text.count("```") == 2
        assert not text.endswith("\n\n```")  # the split's extra newline never shows
    assert rendered[-1].endswith("```\n\nDone.")


def test_unclosed_fence_at_end_stays_open_only_in_last_part() -> None:
    md = "Streaming:\n\n```js\n" + "".join(f"console.log({i});\n" for i in range(40))
    parts = check_split(md, 200)
    assert open_fence_at_end(parts[-1]) is not None
    assert all(open_fence_at_end(part) is None for part in parts[:-1])


def test_limit_holds_with_long_opening_fence_line() -> None:
    opening = "```python title='a very long info string used for the code block'"
    assert len(opening) <= MAX_FENCE_LINE
    md = opening + "\n" + "x = 1\n" * 100 + "```\n"
    parts = check_split(md, 200)
    assert all(part.startswith(opening + "\n") for part in parts)


def test_over_long_opening_line_is_not_a_fence() -> None:
    opening = "```" + "a" * MAX_FENCE_LINE
    md = opening + "\n" + "x = 1\n" * 100 + "```\n"
    parts = check_split(md, 200, balanced=False)
    assert not parts[1].startswith("```")


def test_no_empty_code_block_when_window_ends_in_closing_line() -> None:
    body = "".join(f"row {i:02d} of code\n" for i in range(20))  # 15 chars a line
    md = "```\n" + body + "```" + " " * 10 + "\n" + "after " * 40
    # limit 310: the first window ends inside the closing line (which starts at 304) and the
    # last line end in it is right before that line; cutting there would leave the next part
    # with an empty code block, so the cut moves one code line up.
    parts = check_split(md, 310)
    assert parts[0] == "```\n" + body[:-15] + "\n```"
    assert parts[1].startswith("```\nrow 19 of code\n```          \nafter")


def test_blank_line_inside_code_is_not_a_paragraph_boundary() -> None:
    code = "```\n" + "code line\n" * 12 + "\n" + "code line\n" * 20 + "```\n"
    parts = check_split(code, 200)
    # The last line end that leaves room for the closing fence, not the blank line (125).
    assert parts[0] == code[:195] + "\n```"


def test_no_cut_right_after_an_opening_fence_line() -> None:
    md = "a " * 60 + "\n" + "```python\n" + "x = 1 " * 60 + "\n```\n"
    parts = check_split(md, 200)
    # The last line end in the window follows "```python"; the fence moves to part two.
    assert parts[0] == "a " * 60 + "\n"
    assert parts[1].startswith("```python\nx = 1")


def test_fence_repair() -> None:
    md = "a\n\n```py\nx\ny\n```\n"
    assert fence_repair(md, 10) == ("\n```", "```py\n")
    assert fence_repair(md, 2) == ("", "")
    assert fence_repair(md, len(md)) == ("", "")


def test_mid_line_cut_does_not_start_next_part_with_fence_line() -> None:
    md = "a" * 150 + " " + "b" * 44 + " ```zzz" + "z" * 100
    parts = check_split(md, 200)
    assert parts[0] == "a" * 150 + " "  # not after the space at 195: "```zzz" would open a fence


def test_mid_line_cut_does_not_end_part_with_fence_line() -> None:
    # The second line is not a fence (its info string has a backtick), but any prefix of it
    # ending before the backtick would be one.
    md = "x " * 20 + "\n" + "```` foo bar baz qux " + "y" * 300 + " `z`"
    parts = check_split(md, 200)
    assert parts[0] == "x " * 20 + "\n"


# --- performance -------------------------------------------------------------------------------


def test_large_input_splits_exactly() -> None:
    # Speed is measured in bench/render_cost.py, not asserted here.
    md = ("para " * 50 + "\n\n" + _code(20) + "\n") * 400  # ~600 KB
    parts = split_markdown(md, 3000)
    assert rejoin(parts) == md
    assert all(len(part) <= 3000 for part in parts)


# --- property tests ----------------------------------------------------------------------------

_words = st.text(alphabet="abcxyz中文é ", min_size=1, max_size=12)
_paragraph = st.lists(_words, min_size=1, max_size=40).map(" ".join)
_code_block = st.builds(
    lambda indent, marker, lang, lines, closed: (
        f"{indent}{marker}{lang}\n"
        + "".join(f"{indent}{line}\n" for line in lines)
        + (f"{indent}{marker}\n" if closed else "")
    ),
    st.sampled_from(["", "  ", "    "]),
    st.sampled_from(["```", "````", "~~~"]),
    st.sampled_from(["", "python", "js title=x"]),
    st.lists(st.text(alphabet="ab `~{}()=;中 ", max_size=60), max_size=30),
    st.booleans(),
)
_block = st.one_of(
    _paragraph,
    _code_block,
    st.lists(_words, min_size=1, max_size=8).map(lambda items: "\n".join("- " + i for i in items)),
    st.text(alphabet="x", min_size=150, max_size=500),
)
_document = st.builds(
    lambda blocks, sep: sep.join(blocks),
    st.lists(_block, min_size=1, max_size=12),
    st.sampled_from(["\n\n", "\n", "\r\n\r\n", "\n\n\n"]),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_document, st.integers(min_value=200, max_value=700))
@example("```\n" + "a\n" * 300 + "```", 200)
@example("x" * 199 + "\r\n```py\n" + "b" * 400, 200)
def test_property_markdown_documents(md: str, limit: int) -> None:
    check_split(md, limit)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.text(alphabet=st.sampled_from(list("`~ \n\r\tab中\u0301")), max_size=2000),
    st.integers(min_value=200, max_value=400),
)
def test_property_random_text(md: str, limit: int) -> None:
    # Fence balance is only guaranteed when every window has a safe cut candidate; lines of
    # at most 30 characters (shorter than the smallest possible window) ensure that.
    short_lines = all(len(line) <= 30 for line in md.split("\n"))
    check_split(md, limit, balanced=short_lines)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=1500), st.integers(min_value=200, max_value=500))
def test_property_any_unicode_limit_and_rejoin(md: str, limit: int) -> None:
    assume(md)
    parts = split_markdown(md, limit)
    assert all(len(part) <= limit for part in parts)
    assert rejoin(parts) == md
