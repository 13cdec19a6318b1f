"""reply_message: the Block Kit payload of one reply, within Slack's limits and never pinging."""

from __future__ import annotations

from typing import Any

from bot.action_ids import RETRY_ACTION_ID, STOP_ACTION_ID
from bot.reply.blocks import (
    CONTEXT_LIMIT,
    CURSOR,
    MAX_IMAGES,
    MAX_SOURCES,
    SECTION_LIMIT,
    interrupted_message,
    reply_message,
)
from bot.reply.tools import Image, Source

Block = dict[str, Any]


def types(blocks: list[Block]) -> list[str]:
    return [b["type"] for b in blocks]


def context_text(block: Block) -> str:
    assert block["type"] == "context"
    return block["elements"][0]["text"]


def action_ids(blocks: list[Block]) -> list[str]:
    return [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]


def test_plain_final_reply_is_one_section() -> None:
    text, blocks = reply_message("The answer is *42*.")
    assert text == "The answer is *42*."
    assert blocks == [
        {"type": "section", "text": {"type": "mrkdwn", "text": "The answer is *42*."}}
    ]


def test_header_is_a_context_block_above_the_text() -> None:
    _, blocks = reply_message("body", header=":robot_face: *ChatGLM*")
    assert types(blocks) == ["context", "section"]
    assert context_text(blocks[0]) == ":robot_face: *ChatGLM*"


def test_streaming_shows_a_cursor_and_an_empty_stream_a_placeholder() -> None:
    text, blocks = reply_message("partial", streaming=True)
    assert text == "partial" + CURSOR
    assert blocks[0]["text"]["text"] == "partial" + CURSOR
    text, blocks = reply_message("", streaming=True)
    assert text == "_…_"
    text, blocks = reply_message("")
    assert text == " ", "Slack rejects an empty section; a final empty body is a space"


def test_activity_shows_only_while_streaming_and_is_escaped() -> None:
    _, blocks = reply_message("x", activity="Searching the web: <!channel> & co", streaming=True)
    assert types(blocks) == ["section", "context"]
    activity = context_text(blocks[1])
    assert "Searching the web: &lt;!channel&gt; &amp; co" in activity
    assert "<!channel>" not in activity
    _, blocks = reply_message("x", activity="Searching the web: q", streaming=False)
    assert types(blocks) == ["section"], "the final message has no activity line"


def test_images_become_image_blocks() -> None:
    images = [
        Image("https://sfile.chatglm.cn/a.png", "Generated image"),
        Image("https://sfile.chatglm.cn/b.jpg", ""),
    ]
    _, blocks = reply_message("Here you go.", images=images)
    assert types(blocks) == ["section", "image", "image"]
    assert blocks[1] == {
        "type": "image",
        "image_url": "https://sfile.chatglm.cn/a.png",
        "alt_text": "Generated image",
        "title": {"type": "plain_text", "text": "Generated image"},
    }
    assert blocks[2]["alt_text"] == "image", "alt_text is required and may not be empty"


def test_image_only_reply_uses_the_urls_as_fallback_text() -> None:
    text, _ = reply_message("", images=[Image("https://x.example/a.png", "Chart")])
    assert text == "https://x.example/a.png"


def test_at_most_ten_images() -> None:
    images = [Image(f"https://x.example/{i}.png", "Chart") for i in range(25)]
    _, blocks = reply_message("x", images=images)
    assert types(blocks).count("image") == MAX_IMAGES


def test_sources_are_numbered_links_with_escaped_titles() -> None:
    sources = [
        Source("Olympics <!channel> & medals", "https://olympics.com/zh/paris-2024/medals"),
        Source("<@U123> says hi", "https://example.com/a?b=1&c=2"),
    ]
    _, blocks = reply_message("answer", sources=sources)
    assert types(blocks) == ["section", "context"]
    text = context_text(blocks[1])
    assert text.splitlines() == [
        "*Sources*",
        "1. <https://olympics.com/zh/paris-2024/medals|Olympics &lt;!channel&gt; &amp; medals>",
        "2. <https://example.com/a?b=1&amp;c=2|&lt;@U123&gt; says hi>",
    ]
    assert "<!channel>" not in text and "<@U123>" not in text


def test_long_titles_are_clipped_before_escaping() -> None:
    """A cut after escaping could leave ``&am`` (a broken entity) at the end of the title."""
    title = "x" * 148 + "&&&&"
    _, blocks = reply_message("a", sources=[Source(title, "https://e.example/")])
    line = context_text(blocks[1]).splitlines()[1]
    assert line == "1. <https://e.example/|" + "x" * 148 + "&amp;&amp;>"


def test_sources_are_capped_and_never_cut_inside_a_link() -> None:
    sources = [Source(f"Title {i}", f"https://example.com/{'p' * 400}/{i}") for i in range(20)]
    _, blocks = reply_message("a", sources=sources)
    text = context_text(blocks[1])
    assert len(text) <= CONTEXT_LIMIT
    lines = text.splitlines()[1:]
    assert 1 <= len(lines) <= MAX_SOURCES
    for n, line in enumerate(lines, 1):
        assert line.startswith(f"{n}. <https://") and line.endswith(f"|Title {n - 1}>")


def test_at_most_ten_sources() -> None:
    sources = [Source(f"T{i}", f"https://e.example/{i}") for i in range(30)]
    _, blocks = reply_message("a", sources=sources)
    assert len(context_text(blocks[1]).splitlines()) == 1 + MAX_SOURCES


def test_stop_button_only_while_streaming() -> None:
    _, blocks = reply_message("x", streaming=True, stop_value="turn-1")
    assert action_ids(blocks) == [STOP_ACTION_ID]
    button = blocks[-1]["elements"][0]
    assert button["value"] == "turn-1" and button["text"]["text"] == "Stop"
    _, blocks = reply_message("x", streaming=False, stop_value="turn-1")
    assert action_ids(blocks) == []


def test_retry_button() -> None:
    _, blocks = reply_message("x", footer=":warning: failed", retry_value="turn-1")
    assert types(blocks) == ["section", "context", "actions"]
    button = blocks[-1]["elements"][0]
    assert button["action_id"] == RETRY_ACTION_ID
    assert button["value"] == "turn-1" and button["style"] == "primary"


def test_block_order_of_a_full_streaming_message() -> None:
    _, blocks = reply_message(
        "body",
        header="head",
        activity="Running code…",
        streaming=True,
        images=[Image("https://x.example/a.png", "Chart")],
        sources=[Source("t", "https://x.example/")],
        footer="foot",
        stop_value="s",
        retry_value="r",
    )
    assert types(blocks) == [
        "context",  # header
        "section",
        "image",
        "context",  # sources
        "context",  # activity
        "context",  # footer
        "actions",  # stop
        "actions",  # retry
    ]


def test_limits_hold_for_oversized_input() -> None:
    body = "word " * 2000  # 10,000 characters
    many_images = [Image(f"https://x.example/{i}.png", "t" * 3000) for i in range(100)]
    many_sources = [Source("s" * 1000, f"https://x.example/{i}") for i in range(100)]
    text, blocks = reply_message(
        body,
        header="h" * 5000,
        activity="a" * 5000,
        streaming=True,
        images=many_images,
        sources=many_sources,
        footer="f" * 5000,
        stop_value="s",
        retry_value="r",
    )
    assert len(blocks) <= 50
    assert len(text) <= SECTION_LIMIT
    for block in blocks:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= SECTION_LIMIT
        elif block["type"] == "context":
            assert all(len(e["text"]) <= CONTEXT_LIMIT for e in block["elements"])
        elif block["type"] == "image":
            assert len(block["alt_text"]) <= 2000
            assert len(block["title"]["text"]) <= 2000


def test_tool_appendix_shows_code_output_files_and_documents() -> None:
    from bot.glm.events import ToolCall
    from bot.reply.blocks import tool_appendix
    from bot.reply.tools import ToolLedger

    ledger = ToolLedger()
    code = ToolCall("code_interpreter", input="print(1 < 2)")
    ledger.apply(code)
    ledger.apply(ToolCall("code_interpreter", outputs=({"type": "logs", "logs": "True"},)))
    ledger.apply(
        ToolCall(
            "function", name="MakePPT", outputs=({"content": '{"url": "https://f.cn/a.pptx"}'},)
        )
    )
    ledger.apply(ToolCall("retrieval", outputs=({"text": "t", "document": "<!channel>.pdf"},)))
    blocks = tool_appendix(ledger)
    texts = [
        b["text"]["text"] if b["type"] == "section" else b["elements"][0]["text"] for b in blocks
    ]
    assert texts[0] == "*Code run*\n```print(1 &lt; 2)```\n*Output*\n```True```"
    assert texts[1] == ":paperclip: <https://f.cn/a.pptx|a.pptx>"
    assert texts[2] == ":page_facing_up: Documents consulted: &lt;!channel&gt;.pdf"
    assert ledger.images == [], "a .pptx is a link, not an image block"


def test_tool_appendix_and_image_titles_speak_chinese_to_a_chinese_user() -> None:
    from bot.glm.events import ToolCall
    from bot.reply.blocks import tool_appendix
    from bot.reply.tools import Image, ToolLedger

    ledger = ToolLedger(lang="zh")
    code = ToolCall("code_interpreter", input="print(1)")
    ledger.apply(code)
    ledger.apply(ToolCall("code_interpreter", outputs=({"type": "logs", "logs": "1"},)))
    ledger.apply(ToolCall("drawing_tool", outputs=({"image": "https://sfile.chatglm.cn/p.png"},)))
    ledger.apply(ToolCall("retrieval", outputs=({"text": "t", "document": "年报.pdf"},)))
    blocks = tool_appendix(ledger, "zh")
    assert blocks[0]["text"]["text"] == "*运行的代码*\n```print(1)```\n*输出*\n```1```"
    assert blocks[-1]["elements"][0]["text"] == ":page_facing_up: 参考的文档：年报.pdf"
    assert ledger.images == [Image("https://sfile.chatglm.cn/p.png", "生成的图片")]


def test_tool_appendix_is_empty_without_tools() -> None:
    from bot.reply.blocks import tool_appendix
    from bot.reply.tools import ToolLedger

    assert tool_appendix(ToolLedger()) == []


def test_the_activity_line_is_marked_by_block_id_and_dropped_by_it_after_a_crash() -> None:
    _, blocks = reply_message("Half", activity="Searching the web: x", streaming=True)
    (activity,) = [b for b in blocks if b.get("block_id") == "glm_activity"]
    assert activity["elements"][0]["text"] == ":hourglass_flowing_sand: Searching the web: x"

    # However the line was styled by the version that crashed, recovery drops it by its id and
    # keeps any other context line.
    restyled = [
        {"type": "section", "text": {"type": "mrkdwn", "text": "Half"}},
        {
            "type": "context",
            "block_id": "glm_activity",
            "elements": [{"type": "mrkdwn", "text": "⏳ x"}],
        },
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": ":hourglass_flowing_sand: a note"}],
        },
    ]
    text, kept = interrupted_message("Half", restyled, notice="N", retry_value="7")
    assert text == "Half\n\nN"
    assert [b["type"] for b in kept] == ["context", "section", "actions"]
    assert kept[0]["elements"][0]["text"] == ":hourglass_flowing_sand: a note"


def test_published_outputs_link_the_slack_file_and_keep_the_source() -> None:
    from bot.reply.blocks import tool_appendix
    from bot.reply.tools import PublishedFile, ToolLedger

    drawn = "https://sfile.chatglm.cn/a/pig.png"
    deck = "https://sfile.chatglm.cn/ppt/deck.pptx"
    other = "https://sfile.chatglm.cn/ppt/other.pdf"
    ledger = ToolLedger(
        images=[Image(drawn, "Generated image")],
        links=[Source("deck.pptx", deck), Source("other.pdf", other)],
    )
    ledger.published[drawn] = PublishedFile(drawn, "F1", "Generated image", "https://x/F1")
    ledger.published[deck] = PublishedFile(deck, "F2", "deck.pptx <&>", None)
    assert ledger.unpublished_images() == []
    texts = [b["elements"][0]["text"] for b in tool_appendix(ledger, "zh")]
    published, paperclip = texts
    assert published.splitlines() == [
        ":frame_with_picture: <https://x/F1|Generated image> (已上传到此消息串) · "
        f"<{drawn}|原链接>",
        f":frame_with_picture: *deck.pptx &lt;&amp;&gt;* (已上传到此消息串) · <{deck}|原链接>",
    ]
    assert paperclip == f":paperclip: <{other}|other.pdf>"
