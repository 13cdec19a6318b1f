"""Exact-output tests for bot.reply.render (Markdown → Slack mrkdwn)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.reply.markup import visible_text
from bot.reply.render import (
    HR_LINE,
    ZWSP,
    escape_mrkdwn,
    markdown_to_mrkdwn,
    render_reply,
)

# --- escape_mrkdwn -----------------------------------------------------------------------------


def test_escape_mrkdwn_escapes_the_three_control_characters() -> None:
    assert escape_mrkdwn("a & b < c > d") == "a &amp; b &lt; c &gt; d"


def test_escape_mrkdwn_escapes_ampersand_first() -> None:
    assert escape_mrkdwn("&lt;") == "&amp;lt;"


def test_escape_mrkdwn_neutralises_mentions() -> None:
    assert escape_mrkdwn("<!channel> <!here> <@U123>") == (
        "&lt;!channel&gt; &lt;!here&gt; &lt;@U123&gt;"
    )


# --- inline formatting -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("md", "expected"),
    [
        ("**bold**", "*bold*"),
        ("__bold__", "*bold*"),
        ("*it*", "_it_"),
        ("_it_", "_it_"),
        ("~~gone~~", "~gone~"),
        ("***both***", "_*both*_"),
        ("a **b** c", "a *b* c"),
        ("`a<b> & *c*`", "`a&lt;b&gt; &amp; *c*`"),
        ("x & y < z", "x &amp; y &lt; z"),
    ],
)
def test_inline_formatting(md: str, expected: str) -> None:
    assert markdown_to_mrkdwn(md) == expected


def test_channel_and_user_mentions_are_escaped() -> None:
    md = "Hey <!channel> and <!here>, ping <@U123> or <!subteam^S1>"
    assert markdown_to_mrkdwn(md) == (
        "Hey &lt;!channel&gt; and &lt;!here&gt;, ping &lt;@U123&gt; or &lt;!subteam^S1&gt;"
    )


def test_cjk_bold_gets_zero_width_spaces() -> None:
    assert markdown_to_mrkdwn("中文**粗体**中文") == f"中文{ZWSP}*粗体*{ZWSP}中文"


def test_latin_glued_emphasis_gets_zero_width_spaces() -> None:
    assert markdown_to_mrkdwn("foo*bar*baz") == f"foo{ZWSP}_bar_{ZWSP}baz"


def test_no_zero_width_space_next_to_spaces_or_punctuation() -> None:
    assert markdown_to_mrkdwn("(**a**), **b**.") == "(*a*), *b*."
    assert ZWSP not in markdown_to_mrkdwn("中文 **粗体** 中文")


def test_cjk_punctuation_counts_as_glue() -> None:
    assert markdown_to_mrkdwn("句子。**重点**，") == f"句子。{ZWSP}*重点*{ZWSP}，"


def test_nested_same_marker_is_not_repeated() -> None:
    assert markdown_to_mrkdwn("****x****") == "*x*"


# --- links and images --------------------------------------------------------------------------


def test_link() -> None:
    assert markdown_to_mrkdwn("[a & b](https://e.com/?x=1&y=2)") == (
        "<https://e.com/?x=1&amp;y=2|a &amp; b>"
    )


def test_link_label_is_flattened() -> None:
    assert markdown_to_mrkdwn("[**bold** `c`](https://e.com)") == "<https://e.com|bold c>"


def test_link_pipe_in_url_is_percent_encoded() -> None:
    assert markdown_to_mrkdwn("[t](https://e.com/a|b)") == "<https://e.com/a%7Cb|t>"


def test_mailto_link() -> None:
    assert markdown_to_mrkdwn("[mail](mailto:a@b.c)") == "<mailto:a@b.c|mail>"


@pytest.mark.parametrize(
    ("md", "expected"),
    [
        ("[rel](/docs/x)", "rel (/docs/x)"),
        ("[ftp](ftp://h/f)", "ftp (ftp://h/f)"),
        ("[a<b](/x)", "a&lt;b (/x)"),
    ],
)
def test_non_http_link_is_plain_text(md: str, expected: str) -> None:
    assert markdown_to_mrkdwn(md) == expected


def test_autolinks() -> None:
    assert markdown_to_mrkdwn("<https://x.y/z>") == "<https://x.y/z>"
    assert markdown_to_mrkdwn("<a@b.c>") == "<mailto:a@b.c|a@b.c>"


def test_images() -> None:
    assert markdown_to_mrkdwn("![a *cat*](https://i.example/c.png)") == (
        "<https://i.example/c.png|a cat>"
    )
    assert markdown_to_mrkdwn("![](https://i.example/c.png)") == "<https://i.example/c.png>"
    assert markdown_to_mrkdwn("![pic](local.png)") == "pic (local.png)"


# --- blocks ------------------------------------------------------------------------------------


def test_headings_become_bold_lines() -> None:
    assert markdown_to_mrkdwn("# Title\n\n## Sub **x** _y_\n\ntext") == (
        "*Title*\n\n*Sub x _y_*\n\ntext"
    )


def test_setext_heading() -> None:
    assert markdown_to_mrkdwn("Title\n=====") == "*Title*"


def test_paragraphs_and_breaks() -> None:
    assert markdown_to_mrkdwn("one\ntwo  \nthree\n\n\n\nfour") == "one\ntwo\nthree\n\nfour"


def test_bullet_list_with_nesting() -> None:
    md = "- a\n- b\n  - c\n    - d\n- e"
    assert markdown_to_mrkdwn(md) == "• a\n• b\n    ◦ c\n        ◦ d\n• e"


def test_ordered_list_keeps_start_number() -> None:
    assert markdown_to_mrkdwn("3. x\n4. y\n   1. z") == "3. x\n4. y\n    1. z"


def test_list_item_continuation_lines_are_indented() -> None:
    assert markdown_to_mrkdwn("- first line\n  second line\n- b") == (
        "• first line\n  second line\n• b"
    )


def test_list_after_paragraph_and_loose_list() -> None:
    assert markdown_to_mrkdwn("Intro:\n\n* a\n\n* b\n\nEnd") == "Intro:\n\n• a\n• b\n\nEnd"


def test_code_block_in_list_item_is_not_indented() -> None:
    md = "- item\n\n  ```sh\n  ls -l\n  ```\n- two"
    assert markdown_to_mrkdwn(md) == "• item\n```\nls -l\n```\n• two"


def test_blockquote() -> None:
    assert markdown_to_mrkdwn("> quote **b**\n> more\n>\n> para2") == (
        "> quote *b*\n> more\n>\n> para2"
    )


def test_blockquote_with_list() -> None:
    assert markdown_to_mrkdwn("> - a\n> - b") == "> • a\n> • b"


def test_fenced_code_drops_language_and_escapes() -> None:
    md = "```python\nif a < b and c:\n    print(**kw)  # *not bold*\n```"
    assert markdown_to_mrkdwn(md) == ("```\nif a &lt; b and c:\n    print(**kw)  # *not bold*\n```")


def test_indented_code_block() -> None:
    assert markdown_to_mrkdwn("text\n\n    x = 1\n    y = <2>\n") == (
        "text\n\n```\nx = 1\ny = &lt;2&gt;\n```"
    )


def test_horizontal_rule() -> None:
    assert markdown_to_mrkdwn("a\n\n---\n\nb") == f"a\n\n{HR_LINE}\n\nb"
    assert HR_LINE == "───────"


def test_html_is_escaped_text() -> None:
    assert markdown_to_mrkdwn("<div>\n<b>x</b>\n</div>") == (
        "&lt;div&gt;\n&lt;b&gt;x&lt;/b&gt;\n&lt;/div&gt;"
    )
    assert markdown_to_mrkdwn("a <span>b</span>") == "a &lt;span&gt;b&lt;/span&gt;"


# --- tables ------------------------------------------------------------------------------------


def test_table_becomes_padded_code_block() -> None:
    md = "| Name | Qty |\n|------|----:|\n| apple | 3 |\n| kiwi & co | 12 |"
    assert markdown_to_mrkdwn(md) == (
        "```\nName      | Qty\n----------+----\napple     |   3\nkiwi &amp; co |  12\n```"
    )


def test_cjk_table_lines_up_by_display_width() -> None:
    md = "| 名字 | 城市 |\n|---|---|\n| 张三 | Beijing |\n| Bob | 上海 |"
    assert markdown_to_mrkdwn(md) == (
        "```\n名字 | 城市\n-----+--------\n张三 | Beijing\nBob  | 上海\n```"
    )


def test_table_cells_are_plain_text_with_link_urls() -> None:
    md = "| a | b |\n|---|:-:|\n| **x** `y` | [d](https://d.io) |"
    assert markdown_to_mrkdwn(md) == (
        "```\na   |        b\n----+-----------------\nx y | d (https://d.io)\n```"
    )


# --- incomplete (streamed) input ---------------------------------------------------------------


def test_streamed_prefix_with_unclosed_fence() -> None:
    md = "Here is code:\n\n```python\ndef f(x):\n    return x < 1"
    assert markdown_to_mrkdwn(md) == ("Here is code:\n\n```\ndef f(x):\n    return x &lt; 1\n```")


def test_streamed_prefix_with_just_the_fence_line() -> None:
    assert markdown_to_mrkdwn("Code:\n\n```py") == "Code:\n\n```\n\n```"


def test_unclosed_bold_is_literal() -> None:
    assert markdown_to_mrkdwn("**half bold") == "**half bold"


def test_empty_and_whitespace_input() -> None:
    assert markdown_to_mrkdwn("") == ""
    assert markdown_to_mrkdwn("\n\n  \n") == ""


# --- render_reply ------------------------------------------------------------------------------


def test_model_output_is_filtered_then_converted() -> None:
    md = "<think>secret **plan**</think>\n\n# Answer\n\nIt is <|begin_of_box|>**42**<|end_of_box|>"
    assert render_reply(visible_text(md)) == "*Answer*\n\nIt is *42*"


def test_streamed_prefix_inside_think_shows_only_the_answer_so_far() -> None:
    assert render_reply(visible_text("Sure.\n\n<think>hmm, <!channel>")) == "Sure."


def test_render_reply_does_not_reinterpret_tags_it_is_given() -> None:
    """Filtering happens once, upstream; anything left is literal text, safely escaped."""
    assert render_reply("<think>x") == "&lt;think&gt;x"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("*_~`#>-|[]()!<>&\n \t:/a中1.\\"))))
def test_render_never_raises_and_never_emits_raw_angle_brackets(md: str) -> None:
    out = render_reply(md)
    # Every "<" in the output must start a link we produced, never a mention.
    assert "<!" not in out
    assert "<@" not in out
