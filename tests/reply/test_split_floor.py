"""``split_point(..., floor=)``: the one split rule, for a message part of which is already
shown and cannot be taken back (a native stream rolling over to the next message)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.reply.split import fence_repair, split_point

LIMIT = 1_000


@settings(max_examples=150, deadline=None)
@given(
    st.text(alphabet=st.sampled_from(list("ab \n`")), min_size=LIMIT + 1, max_size=LIMIT + 400),
    st.integers(0, LIMIT),
)
def test_the_cut_is_never_before_what_was_shown_and_fits(md: str, floor: int) -> None:
    cut = split_point(md, LIMIT, floor=floor)
    assert cut is not None and floor <= cut <= LIMIT
    close, _ = fence_repair(md, cut)
    assert cut + len(close) <= LIMIT or cut == floor


def test_a_line_end_after_what_was_shown_wins_over_an_earlier_paragraph() -> None:
    md = "intro\n\n" + "x" * 300 + "\n" + "y " * 200 + "\n" + "z " * 400
    shown = md.index("y")  # streamed up to the start of the y line
    cut = split_point(md, LIMIT, floor=shown)
    assert cut is not None and md[cut - 1] == "\n" and cut > shown
    assert split_point(md, LIMIT) == cut  # the same rule as the edit strategy's here


def test_without_a_line_end_it_cuts_at_a_space_after_what_was_shown() -> None:
    md = "w " * 800
    cut = split_point(md, LIMIT, floor=900)
    assert cut is not None and 900 <= cut <= LIMIT and md[cut - 1] == " "


def test_a_cut_inside_code_leaves_room_to_close_the_fence() -> None:
    md = "```python\n" + "".join(f"row({n})\n" for n in range(300)) + "```\n"
    cut = split_point(md, LIMIT, floor=500)
    assert cut is not None and md[cut - 1] == "\n"
    close, reopen = fence_repair(md, cut)
    assert (close, reopen) == ("\n```", "```python\n")
    assert cut + len(close) <= LIMIT
