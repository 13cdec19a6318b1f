"""Tests for bot.workspace.mrkdwn: Slack message syntax → plain text for the model."""

from __future__ import annotations

import pytest

from bot.workspace.mrkdwn import mentioned_user_ids, slack_to_plain

BOT = "UBOT"


def plain(text: str, **names: str) -> str:
    return slack_to_plain(text, bot_user_id=BOT, names=names)


def test_bot_mention_is_removed_and_spaces_collapse() -> None:
    assert plain(f"<@{BOT}> hello") == "hello"
    assert plain(f"hey <@{BOT}>  there") == "hey there"
    assert plain(f"<@{BOT}|glm> hi") == "hi"


def test_user_mentions_use_names_then_label_then_id() -> None:
    assert plain("ask <@U1>", U1="Alice") == "ask @Alice"
    assert plain("ask <@U1|alice.old>", U1="Alice") == "ask @Alice"
    assert plain("ask <@U1|alice>") == "ask @alice"
    assert plain("ask <@U1>") == "ask @U1"


def test_without_bot_id_every_mention_is_kept() -> None:
    assert slack_to_plain(f"<@{BOT}> hi") == f"@{BOT} hi"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("see <#C123|general>", "see #general"),
        ("see <#C123>", "see #C123"),
        ("see <#C123|>", "see #C123"),
        ("<!channel> hi", "@channel hi"),
        ("<!here> hi", "@here hi"),
        ("<!here|@here> hi", "@here hi"),
        ("<!everyone> hi", "@everyone hi"),
        ("<!subteam^S123|@team> hi", "@team hi"),
        ("<!subteam^S123> hi", "@group hi"),
        ("<!date^1392734382^{date_num}|Feb 18, 2014> x", "Feb 18, 2014 x"),
        ("a <!unknown> b", "a b"),
        ("<https://example.com>", "https://example.com"),
        ("<https://example.com|Example>", "Example (https://example.com)"),
        ("<mailto:a@b.co|mail me>", "mail me (mailto:a@b.co)"),
        ("<https://x.co/?a=1&amp;b=2>", "https://x.co/?a=1&b=2"),
        ("<https://x.co|Q&amp;A>", "Q&A (https://x.co)"),
    ],
)
def test_tokens(text: str, expected: str) -> None:
    assert plain(text) == expected


def test_escapes_are_undone_once() -> None:
    assert plain("a &lt;b&gt; &amp; c") == "a <b> & c"
    assert plain("literal &amp;lt;") == "literal &lt;"
    assert plain("&amp;amp;") == "&amp;"


def test_escaped_mention_syntax_stays_text() -> None:
    assert plain("&lt;@U1&gt; and &lt;!channel&gt;", U1="Alice") == "<@U1> and <!channel>"


def test_link_label_double_escape_is_undone_once() -> None:
    assert plain("<https://e.co|a &amp;lt; b>") == "a &lt; b (https://e.co)"
    assert plain("<https://e.co/?q=&amp;lt;>") == "https://e.co/?q=&lt;"


def test_control_characters_dropped_newlines_and_tabs_kept() -> None:
    assert plain("a\x00b\x07c\x1b[31m\nd\te\x7f\x85") == "abc[31m\nd\te"
    assert plain("line1\r\nline2") == "line1\nline2"


@pytest.mark.parametrize("invisible", ["\u200b", "\u2060", "\ufeff"])
def test_invisible_characters_dropped(invisible: str) -> None:
    assert plain(f"pass{invisible}word") == "password"


def test_zwj_emoji_sequence_kept() -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    assert plain(f"family {family}") == f"family {family}"


def test_rtl_text_and_marks_kept() -> None:
    assert plain("שלום \u200fעולם") == "שלום \u200fעולם"
    assert plain("مرحبا بالعالم") == "مرحبا بالعالم"


def test_whitespace_collapsing() -> None:
    assert plain("  a   b\t\t c  ") == "a b c"
    assert plain("a\n\n\nb") == "a\n\n\nb"
    assert plain("a \n b") == "a \n b"
    assert plain(f"<@{BOT}>") == ""


def test_mentioned_user_ids() -> None:
    text = f"<@U1> <@W2|bob> <@{BOT}> <@u3> <#C1> <!subteam^S1> @U4 <@U1>"
    assert mentioned_user_ids(text) == ["U1", "W2", BOT, "U1"]
    assert mentioned_user_ids("no mentions") == []
