"""What the reader sees of tool calls, model markup, long answers and Slack's rate limits.

End to end: the real bot on loopback, FakeGLM scripting the wire chunks of wire notes §2.5,
FakeSlack recording every call. Synchronisation is on recorded calls (``wait_for``) and on
handled turns (``wait_handled``), never on sleeps.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from bot.reply.blocks import CURSOR
from tests.conftest import RunningBot
from tests.fakes import Call, FakeGLM, FakeSlack, Message, Reply, mention_event

JSON = dict[str, Any]
SEARCH = 'search("Paris 2024 medal table")'
ACTIVITY = "Searching the web: Paris 2024 medal table"
OLYMPICS = "https://olympics.com/en/paris-2024/medals"
CCTV = "https://sports.cctv.com/Paris2024/medal_list/index.shtml"


def only_reply(fake: FakeSlack, event: JSON) -> Message:
    replies = fake.thread_replies_by_bot(event["channel"], event["ts"])
    assert len(replies) == 1, fake.describe_calls()
    return replies[0]


def blocks_text(blocks: list[JSON] | None) -> str:
    """Every piece of text in a message's blocks, one per line (for containment checks)."""
    out: list[str] = []
    for block in blocks or []:
        if block.get("type") == "section":
            out.append(block["text"]["text"])
        elif block.get("type") == "context":
            out.extend(e.get("text", "") for e in block["elements"])
    return "\n".join(out)


def context_texts(blocks: list[JSON] | None) -> list[str]:
    return [
        e.get("text", "") for b in blocks or [] if b.get("type") == "context" for e in b["elements"]
    ]


def image_urls(blocks: list[JSON] | None) -> list[str]:
    return [b["image_url"] for b in blocks or [] if b.get("type") == "image"]


def shows_activity(call: Call, activity: str) -> bool:
    if call.method not in ("chat.postMessage", "chat.update") or not call.ok:
        return False
    blocks = call.args.get("blocks")
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    return any(activity in t for t in context_texts(blocks))


async def ask(running_bot: RunningBot, text: str) -> JSON:
    event = mention_event(text)
    resp = await running_bot.slack.event(event)
    assert resp.status == 200
    return event


# -- (a) web search: activity while streaming, sources at the end -------------------------------


async def test_search_shows_activity_while_streaming_and_sources_at_the_end(
    running_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    gate = asyncio.Event()
    outputs = [
        {"title": "Medal table <!channel> & more", "link": OLYMPICS, "content": "…"},
        {"title": "CCTV medals", "link": CCTV, "content": "…"},
        {"title": "", "link": "", "content": "clicked page"},
        {"title": "Duplicate", "link": OLYMPICS, "content": "…"},
    ]
    fake_glm.enqueue(
        Reply(
            chunks=["The United States ", "topped the table."],
            tool_calls=[
                (0, Reply.tool("web_browser", input=SEARCH)),
                (0, Reply.tool("web_browser", outputs=outputs)),
            ],
            stall_after=2,  # hold the text back until the activity has been seen
            gate=gate,
        )
    )
    event = await ask(running_bot, "who won Paris 2024?")

    def activity_seen(f: FakeSlack) -> bool:
        in_status = any(ACTIVITY in status for _, _, status in f.status_history)
        return in_status or any(shows_activity(c, ACTIVITY) for c in f.calls)

    await fake_slack.wait_for(activity_seen, what="the search activity")
    assert any(ACTIVITY in status for _, _, status in fake_slack.status_history), (
        "before any text, tool progress is shown in the thread status"
    )
    assert fake_slack.calls_to("chat.postMessage") == [], "and nothing is posted yet"
    gate.set()
    await running_bot.wait_handled(1)

    reply = only_reply(fake_slack, event)
    assert reply.text == "The United States topped the table."
    everything = blocks_text(reply.blocks)
    assert "Searching the web" not in everything and ":hourglass" not in everything
    sources = [t for t in context_texts(reply.blocks) if t.startswith("*Sources*")]
    assert sources == [
        "*Sources*\n"
        f"1. <{OLYMPICS}|Medal table &lt;!channel&gt; &amp; more>\n"
        f"2. <{CCTV}|CCTV medals>"
    ]
    assert "<!channel>" not in json.dumps(reply.blocks)


# -- (b)-(d) images from drawing, code and function tools ---------------------------------------


async def test_drawing_tool_image_is_shown_in_the_final_message(
    running_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    url = "https://sfile.chatglm.cn/testpath/1e9a8dd9-04be-5849-8c92-1b6d2ed86540_0.png"
    fake_glm.enqueue(
        Reply(
            chunks=["Here is your flying pig."],
            tool_calls=[
                (0, Reply.tool("drawing_tool", input="A cyberpunk flying pig")),
                (0, Reply.tool("drawing_tool", outputs=[{"image": url}])),
            ],
        )
    )
    event = await ask(running_bot, "draw a flying pig")
    await running_bot.wait_handled(1)
    reply = only_reply(fake_slack, event)
    assert image_urls(reply.blocks) == [url]
    assert reply.text == "Here is your flying pig."


async def test_code_interpreter_chart_from_logs_is_shown(
    running_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    chart = "https://sfile.chatglm.cn/img2text/00776b9d-e7ea-4034-b624-2b2d57e32ada.jpg"
    code = "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\nplt.show()"
    fake_glm.enqueue(
        Reply(
            chunks=["The chart shows ", "steady growth."],
            tool_calls=[
                (0, Reply.tool("code_interpreter", input=code)),
                (0, Reply.tool("code_interpreter", outputs=[{"type": "logs", "logs": chart}])),
            ],
        )
    )
    event = await ask(running_bot, "plot it")
    await running_bot.wait_handled(1)
    reply = only_reply(fake_slack, event)
    assert image_urls(reply.blocks) == [chart]
    assert reply.text == "The chart shows steady growth."


async def test_mind_map_function_result_is_shown(
    running_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    url = "https://sfile.chatglm.cn/markmap/f820b149-e786-43ed-b00c-04e61108d457.png"
    arguments = "```python\ntool_call(markmap='# Llama 3\\n- Intro\\n- Architecture')\n```"
    fake_glm.enqueue(
        Reply(
            chunks=["Your mind map is ready."],
            tool_calls=[
                (0, Reply.tool("function", name="GenerateMindMap", arguments=arguments)),
                (0, Reply.tool("function", outputs=[{"content": json.dumps({"url": url})}])),
            ],
        )
    )
    event = await ask(running_bot, "mind map of Llama 3")
    await running_bot.wait_handled(1)
    reply = only_reply(fake_slack, event)
    assert image_urls(reply.blocks) == [url]


# -- (e) model markup ---------------------------------------------------------------------------


async def test_reasoning_is_never_shown_and_box_tags_are_unwrapped(
    running_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    secret = "SECRET-REASONING"
    fake_glm.enqueue(
        Reply(
            chunks=["<thi", f"nk>{secret} step one", f" {secret} step two</th", "ink>The answer"],
            chunk_delay=0.05,
        ),
        Reply(chunks=["<|begin_of", "_box|>42<|end_", "of_box|>"]),
    )
    first = await ask(running_bot, "think about it")
    await running_bot.wait_handled(1)
    second = await ask(running_bot, "what is six times seven?")
    await running_bot.wait_handled(2)

    assert only_reply(fake_slack, first).text == "The answer"
    assert only_reply(fake_slack, second).text == "42"
    for call in fake_slack.calls:
        dumped = json.dumps(call.args, ensure_ascii=False)
        assert secret not in dumped and "think>" not in dumped and "_box|>" not in dumped


# -- (f) a long answer over several messages ----------------------------------------------------


def long_answer_parts() -> tuple[list[str], list[str], list[str]]:
    """Prose paragraphs, the lines of a long code block, more prose: plain text that Slack
    shows exactly as written (no markup, nothing to escape)."""
    para = " ".join(f"Sentence {{n}}.{i} explains one more detail of the plan." for i in range(8))
    before = [para.format(n=n) for n in range(10)]
    code = ["def plan():"] + [
        f"    total_{i:03d} = compute(step={i}, scale=2.5)  # line {i}" for i in range(110)
    ]
    after = [para.format(n=n) for n in range(100, 105)]
    return before, code, after


def long_answer() -> str:
    """About 12,000 characters: prose, a long fenced code block, more prose."""
    before, code, after = long_answer_parts()
    return "\n\n".join([*before, "```python\n" + "\n".join(code) + "\n```", *after]) + "\n"


def content_lines(mrkdwn: str) -> list[str]:
    """Lines of rendered text without fence lines or blank lines (the splitter adds those)."""
    return [line for line in mrkdwn.splitlines() if line.strip() and line.strip() != "```"]


async def test_long_answer_is_split_over_messages_without_loss_or_duplication(
    running_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    answer = long_answer()
    assert 11_000 <= len(answer) <= 13_000
    chunks = [answer[i : i + 97] for i in range(0, len(answer), 97)]
    fake_glm.enqueue(Reply(chunks=chunks, chunk_delay=0.004))
    event = await ask(running_bot, "explain the plan in detail")
    await running_bot.wait_handled(1, timeout=20)

    replies = fake_slack.thread_replies_by_bot("C0001", event["ts"])
    texts = [m.text for m in replies]
    assert len(texts) >= 4, fake_slack.describe_calls()
    for text in texts:
        assert len(text) <= 3000
        assert not text.endswith(CURSOR)
        fences = [line for line in text.splitlines() if line.lstrip().startswith("```")]
        assert len(fences) % 2 == 0, f"unbalanced fences in:\n{text}"
    got = [line for text in texts for line in content_lines(text)]
    # What the reader sees: every paragraph and code line once, in order; Slack fences carry no
    # language tag, so "```python" shows as a bare fence (dropped by content_lines).
    before, code, after = long_answer_parts()
    assert got == [*before, *code, *after]


# -- (g) rate limits and a server error on the final edit ---------------------------------------


async def test_429_bursts_and_a_500_on_the_final_edit_still_end_complete(
    running_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    chunks = [f"part{i} " for i in range(20)]
    expected = "".join(chunks).strip()
    fake_slack.fail("chat.update", "ratelimited", retry_after=1, times=3)
    fake_slack.fail(
        "chat.update",
        "internal_error",
        status=500,
        when=lambda args: str(args.get("text", "")) == expected,
    )
    fake_glm.enqueue(Reply(chunks=chunks, chunk_delay=0.05))
    event = await ask(running_bot, "count slowly")
    await running_bot.wait_handled(1, timeout=30)

    assert only_reply(fake_slack, event).text == expected
    statuses = [c.status for c in fake_slack.calls_to("chat.update")]
    assert statuses.count(429) == 3 and statuses.count(500) == 1, fake_slack.describe_calls()
    assert statuses[-1] == 200


async def test_long_answer_heavy_in_escaped_characters_loses_nothing(
    running_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    rows = "\n".join(f'<tr><td class="c{i}">&lt;{i}&gt; &amp; more</td></tr>' for i in range(120))
    answer = f"An HTML table:\n\n```html\n<table>\n{rows}\n</table>\n```\n\nThat is all.\n"
    chunks = [answer[i : i + 97] for i in range(0, len(answer), 97)]
    fake_glm.enqueue(Reply(chunks=chunks, chunk_delay=0.002))
    event = await ask(running_bot, "write the table")
    await running_bot.wait_handled(1, timeout=20)

    texts = [m.text for m in fake_slack.thread_replies_by_bot("C0001", event["ts"])]
    assert all(len(text) <= 3000 for text in texts)
    got = [line for text in texts for line in content_lines(text)]
    # Slack mrkdwn escapes &, < and > even inside code blocks, so the reader sees the HTML as
    # written: "&lt;" in the source is sent as "&amp;lt;" and shows as "&lt;".
    expected_rows = [
        f'&lt;tr&gt;&lt;td class="c{i}"&gt;&amp;lt;{i}&amp;gt; &amp;amp; more&lt;/td&gt;&lt;/tr&gt;'
        for i in range(120)
    ]
    assert got == [
        "An HTML table:",
        "&lt;table&gt;",
        *expected_rows,
        "&lt;/table&gt;",
        "That is all.",
    ]


async def test_final_message_lands_as_plain_text_when_slack_refuses_its_blocks(
    running_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    url = "https://sfile.chatglm.cn/testpath/unreachable.png"
    fake_glm.enqueue(
        Reply(
            chunks=["Here is ", "your picture."],
            tool_calls=[(2, Reply.tool("drawing_tool", outputs=[{"image": url}]))],
        )
    )
    # Slack could not download the image: the rich final edit is refused.
    fake_slack.fail(
        "chat.update",
        "invalid_blocks",
        times=5,
        when=lambda args: '"image"' in json.dumps(args.get("blocks") or []),
    )
    event = await ask(running_bot, "draw a pig")
    await running_bot.wait_handled(1)
    reply = only_reply(fake_slack, event)
    assert reply.text.startswith("Here is your picture.")
    assert f"<{url}|Generated image>" in reply.text
    assert not any(b["type"] in ("actions", "image") for b in reply.blocks or [])
    done = await running_bot.bot.repo.replies_with_status("done")
    assert len(done) == 1


# -- (h) tool activity in the reader's language -------------------------------------------------


@pytest.mark.parametrize(
    ("locale", "searching", "drawing"),
    [
        ("en-US", "Searching the web: 巴黎 2024 奖牌榜", "Drawing: 金牌榜海报"),
        ("zh-CN", "正在搜索网页：巴黎 2024 奖牌榜", "正在画图：金牌榜海报"),
    ],
)
async def test_tool_activity_is_shown_in_the_readers_language(
    running_bot: RunningBot,
    fake_slack: FakeSlack,
    fake_glm: FakeGLM,
    locale: str,
    searching: str,
    drawing: str,
) -> None:
    fake_slack.add_user("U0LANG", name="mei", locale=locale)
    search_gate, draw_gate = asyncio.Event(), asyncio.Event()
    fake_glm.enqueue(
        Reply(
            chunks=["金牌榜", "如下。"],
            tool_calls=[(0, Reply.tool("web_browser", input='search("巴黎 2024 奖牌榜")'))],
            stall_after=1,  # the search is under way, no text yet: the thread status says so
            gate=search_gate,
        )
    )
    event = mention_event("谁赢了？", user="U0LANG")
    await running_bot.slack.event(event)
    await fake_slack.wait_for(
        lambda f: f.statuses.get(("C0001", event["ts"])) == searching,
        what="the search activity in the thread status",
    )
    search_gate.set()
    await running_bot.wait_handled(1)

    # Once text is showing, the activity is a context line under it while streaming.
    fake_glm.enqueue(
        Reply(
            chunks=["海报", "画好了。"],
            tool_calls=[(1, Reply.tool("drawing_tool", input="金牌榜海报"))],
            stall_after=2,
            gate=draw_gate,
        )
    )
    follow = mention_event("画一张海报", user="U0LANG", thread_ts=event["ts"])
    await running_bot.slack.event(follow)
    await fake_slack.wait_for(
        lambda f: any(shows_activity(c, drawing) for c in f.calls),
        what="the drawing activity under the streaming text",
    )
    draw_gate.set()
    await running_bot.wait_handled(2)
    first, second = fake_slack.thread_replies_by_bot("C0001", event["ts"])
    assert first.text == "金牌榜如下。"
    assert second.text == "海报画好了。"
