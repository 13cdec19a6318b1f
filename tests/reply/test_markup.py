"""Tests for bot.reply.markup against a whole-string regex reference written independently.

The rule (one for streaming and whole strings): think blocks are reasoning; a ``</think>`` before
any other think tag makes everything before it reasoning (the template opened it in the prompt);
later stray closes and box tags are dropped, their surroundings kept.
"""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.reply.markup import MarkupFilter, Visible, visible_text

_TAG = re.compile(r"<think>|</think>|<\|begin_of_box\|>|<\|end_of_box\|>")


def reference(text: str) -> tuple[str, int, bool]:
    """Visible text, thought characters and final thinking state for the whole string at once."""
    visible: list[str] = []
    thought = 0
    thinking = False
    seen_think_tag = False
    pos = 0
    for m in _TAG.finditer(text):
        piece = text[pos : m.start()]
        if thinking:
            thought += len(piece)
        else:
            visible.append(piece)
        if m.group() == "</think>" and not seen_think_tag:
            thought += len("".join(visible))
            visible = []
        if m.group() in ("<think>", "</think>"):
            seen_think_tag = True
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
    """What a streaming consumer ends up showing: it takes back its text on ``restart``."""
    markup = MarkupFilter()
    shown = ""
    for chunk in chunks:
        visible = markup.feed(chunk)
        shown = visible.text if visible.restart else shown + visible.text
    return shown + markup.flush(), markup


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
    assert markup.feed("Hi <thi").text == "Hi "
    assert markup.thinking is False
    assert markup.feed("nk>reason").text == ""
    assert markup.thinking is True
    assert markup.thought_chars == len("reason")
    assert markup.feed("ing</th").text == ""
    assert markup.thinking is True
    assert markup.feed("ink>done").text == "done"
    assert markup.thinking is False
    assert markup.thought_chars == len("reasoning")


def test_unclosed_think_hides_the_rest() -> None:
    out, markup = run(["a<think>b", "c"])
    assert out == "a"
    assert markup.thinking is True
    assert markup.thought_chars == 2


def test_close_tag_before_any_open_makes_the_prefix_reasoning() -> None:
    """The reported leak: the user saw "Let me plan the greeting.Hello!"."""
    assert run(["Let me plan the greeting.</think>Hello!"])[0] == "Hello!"
    assert run(list("Let me plan the greeting.</think>Hello!"))[0] == "Hello!"
    assert run(["Let me plan ", "the greeting.</th", "ink>Hello!"])[0] == "Hello!"


def test_a_restart_is_announced_once_and_counts_the_prefix_as_thought() -> None:
    markup = MarkupFilter()
    assert markup.feed("plan") == Visible("plan", restart=False)
    first = markup.feed(" more</think>Hi")
    assert first.restart is True
    assert first.text == "Hi"
    assert markup.thought_chars == len("plan more")
    later = markup.feed("</think>!")
    assert later.restart is False
    assert later.text == "!"


def test_stray_close_after_a_think_block_is_dropped() -> None:
    assert run(["<think>x</think>a</think>b"])[0] == "ab"


def test_visible_text_is_the_streaming_result() -> None:
    assert visible_text("reasoning from template</think>\nAnswer") == "\nAnswer"
    assert visible_text("a<think>x</think>b<think>y</think>c") == "abc"
    assert visible_text("Hi <think>still reasoning about") == "Hi "
    assert visible_text("The result is <|begin_of_box|>42<|end_of_box|>.") == "The result is 42."
    assert visible_text("    indented code\n\na < b") == "    indented code\n\na < b"


def test_box_tags_keep_their_content() -> None:
    assert run(["<|begin_of_box|>x<|end", "_of_box|>"])[0] == "x"


def test_flush_returns_a_held_non_tag_fragment() -> None:
    markup = MarkupFilter()
    assert markup.feed("x <|begin_of").text == "x "
    assert markup.flush() == "<|begin_of"
    assert markup.flush() == ""


def test_flush_counts_held_fragment_as_thought_while_thinking() -> None:
    markup = MarkupFilter()
    assert markup.feed("<think>abc</thi").text == ""
    assert markup.flush() == ""
    assert markup.thought_chars == len("abc</thi")


def test_non_tag_lt_is_emitted_immediately() -> None:
    markup = MarkupFilter()
    assert markup.feed("a < b").text == "a < b"
    assert markup.feed("x<y").text == "x<y"
    assert markup.feed("<<").text == "<"  # the last '<' may start a tag
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
    assert out == visible_text(text)  # chunking never changes what the person ends up seeing


@settings(max_examples=100, deadline=None)
@given(pieces=st.lists(st.sampled_from(PIECES), max_size=25))
def test_one_chunk_equals_one_character_at_a_time(pieces: list[str]) -> None:
    text = "".join(pieces)
    whole, one_chunk = run([text])
    chars, one_char = run(list(text))
    assert chars == whole
    assert (one_char.thought_chars, one_char.thinking) == (
        one_chunk.thought_chars,
        one_chunk.thinking,
    )
