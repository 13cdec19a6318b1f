"""Tests for bot.streaming.markup.MarkupFilter against a whole-string regex reference."""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.streaming.markup import MarkupFilter

_TAG = re.compile(r"<think>|</think>|<\|begin_of_box\|>|<\|end_of_box\|>")


def reference(text: str) -> tuple[str, int, bool]:
    """Visible text, thought characters and final thinking state for the whole string at once."""
    visible: list[str] = []
    thought = 0
    thinking = False
    pos = 0
    for m in _TAG.finditer(text):
        piece = text[pos : m.start()]
        if thinking:
            thought += len(piece)
        else:
            visible.append(piece)
        if m.group() == "<think>":
            thinking = True
        elif m.group() == "</think>":
            thinking = False
        pos = m.end()
    rest = text[pos:]
    if thinking:
        thought += len(rest)
    else:
        visible.append(rest)
    return "".join(visible), thought, thinking


def run(chunks: list[str]) -> tuple[str, MarkupFilter]:
    markup = MarkupFilter()
    out = "".join(markup.feed(c) for c in chunks) + markup.flush()
    return out, markup


def split_at(text: str, cuts: list[int]) -> list[str]:
    points = [0, *sorted(cuts), len(text)]
    return [text[a:b] for a, b in itertools.pairwise(points)]


SAMPLE = (
    "<think>plan: a<b</think>Answer <|begin_of_box|>42<|end_of_box|> is < 43 and <thin"
    "k not a tag <| pipe <x> done <"
)


def test_reference_of_sample() -> None:
    assert reference(SAMPLE) == (
        "Answer 42 is < 43 and <think not a tag <| pipe <x> done <",
        len("plan: a<b"),
        False,
    )


def test_whole_string_in_one_chunk() -> None:
    out, markup = run([SAMPLE])
    assert out == "Answer 42 is < 43 and <think not a tag <| pipe <x> done <"
    assert markup.thought_chars == len("plan: a<b")
    assert markup.thinking is False


@pytest.mark.parametrize("cut", range(len(SAMPLE) + 1))
def test_every_single_split_position(cut: int) -> None:
    out, markup = run([SAMPLE[:cut], SAMPLE[cut:]])
    assert (out, markup.thought_chars, markup.thinking) == reference(SAMPLE)


def test_one_character_at_a_time() -> None:
    out, markup = run(list(SAMPLE))
    assert (out, markup.thought_chars, markup.thinking) == reference(SAMPLE)


def test_thinking_flag_follows_the_stream() -> None:
    markup = MarkupFilter()
    assert markup.feed("Hi <thi") == "Hi "
    assert markup.thinking is False
    assert markup.feed("nk>reason") == ""
    assert markup.thinking is True
    assert markup.thought_chars == len("reason")
    assert markup.feed("ing</th") == ""
    assert markup.thinking is True
    assert markup.feed("ink>done") == "done"
    assert markup.thinking is False
    assert markup.thought_chars == len("reasoning")


def test_unclosed_think_hides_the_rest() -> None:
    out, markup = run(["a<think>b", "c"])
    assert out == "a"
    assert markup.thinking is True
    assert markup.thought_chars == 2


def test_stray_close_tag_is_dropped() -> None:
    assert run(["a</think>b"])[0] == "ab"


def test_box_tags_keep_their_content() -> None:
    assert run(["<|begin_of_box|>x<|end", "_of_box|>"])[0] == "x"


def test_flush_returns_a_held_non_tag_fragment() -> None:
    markup = MarkupFilter()
    assert markup.feed("x <|begin_of") == "x "
    assert markup.flush() == "<|begin_of"
    assert markup.flush() == ""


def test_flush_counts_held_fragment_as_thought_while_thinking() -> None:
    markup = MarkupFilter()
    assert markup.feed("<think>abc</thi") == ""
    assert markup.flush() == ""
    assert markup.thought_chars == len("abc</thi")


def test_non_tag_lt_is_emitted_immediately() -> None:
    markup = MarkupFilter()
    assert markup.feed("a < b") == "a < b"
    assert markup.feed("x<y") == "x<y"
    assert markup.feed("<<") == "<"  # the last '<' may start a tag
    assert markup.flush() == "<"


PIECES = [
    "<think>",
    "</think>",
    "<|begin_of_box|>",
    "<|end_of_box|>",
    "<",
    ">",
    "<thi",
    "</",
    "<|",
    "<|end_of",
    "|>",
    "a",
    "b c",
    "\n",
    "总结",
    "🎉",
]


@settings(max_examples=200, deadline=None)
@given(
    data=st.data(),
    pieces=st.lists(st.sampled_from(PIECES), max_size=25),
)
def test_random_text_random_splits(data: st.DataObject, pieces: list[str]) -> None:
    text = "".join(pieces)
    cuts = data.draw(st.lists(st.integers(min_value=0, max_value=len(text)), max_size=12))
    out, markup = run(split_at(text, cuts))
    assert (out, markup.thought_chars, markup.thinking) == reference(text)
