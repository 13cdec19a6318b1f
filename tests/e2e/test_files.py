"""Files both ways, end to end: the real bot, FakeSlack (private downloads, external uploads)
and FakeGLM (``/files``, a file host for tool outputs), configured only by environment."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from tests.conftest import BOT_TOKEN, RunningBot
from tests.fakes import FakeGLM, FakeSlack, Reply, mention_event, message_event

JSON = dict[str, Any]
PNG = b"\x89PNG\r\n\x1a\n" + os.urandom(3000)
CSV = b"month,revenue\n" + b"".join(f"2026-{m:02d},{m * 1000}\n".encode() for m in range(1, 13))
PPTX = b"PK\x03\x04" + os.urandom(5000)


class Elsewhere:
    """A server that is neither Slack nor GLM: it must never be asked for anything."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str]]] = []
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> Elsewhere:
        async def anything(request: web.Request) -> web.Response:
            self.requests.append((request.path, dict(request.headers)))
            return web.Response(body=PNG, content_type="image/png")

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", anything)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


@pytest.fixture
async def elsewhere() -> AsyncIterator[Elsewhere]:
    server = await Elsewhere().start()
    yield server
    await server.stop()


async def turn(bot: RunningBot, event: JSON, count: int) -> None:
    resp = await bot.slack.event(event)
    assert resp.status == 200
    await bot.wait_handled(count)


def final_text(fake: FakeSlack, event: JSON, thread_ts: str | None = None) -> str:
    replies = [
        m
        for m in fake.thread_replies_by_bot(event["channel"], thread_ts or event["ts"])
        if not m.extra.get("files")
    ]
    assert replies, fake.describe_calls()
    return replies[-1].text


def image_blocks(fake: FakeSlack, event: JSON) -> list[str]:
    replies = fake.thread_replies_by_bot(event["channel"], event["ts"])
    return [b["image_url"] for m in replies for b in m.blocks or [] if b.get("type") == "image"]


def contexts(fake: FakeSlack, event: JSON) -> str:
    replies = fake.thread_replies_by_bot(event["channel"], event["ts"])
    return "\n".join(
        e.get("text", "")
        for m in replies
        for b in m.blocks or []
        if b.get("type") == "context"
        for e in b["elements"]
    )


# -- in ----------------------------------------------------------------------------------------


async def test_shared_image_reaches_glm_as_its_exact_bytes(
    running_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    shot = fake_slack.add_file("screenshot.png", PNG, mimetype="image/png")
    event = mention_event("what does this error mean?", files=[shot])
    await turn(running_bot, event, 1)

    (request,) = fake_glm.requests
    assert request.user_text == "what does this error mean?"
    assert request.image_urls == ["data:image/png;base64," + base64.b64encode(PNG).decode()]
    assert "attachments" not in request.body, "images go inline, not as GLM files"
    assert fake_glm.files == {}
    download = fake_slack.downloads[-1]
    assert download.served == "file" and download.headers["Authorization"] == f"Bearer {BOT_TOKEN}"
    assert final_text(fake_slack, event) == "Echo: what does this error mean?"


async def test_csv_is_uploaded_attached_and_remembered_by_the_thread(
    bot_env: dict[str, str], fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    sheet = fake_slack.add_file("revenue.csv", CSV, mimetype="text/csv")
    root = mention_event("chart this", files=[sheet])
    bot = await RunningBot().start()
    try:
        await turn(bot, root, 1)
        follow = message_event("which month was best?", thread_ts=root["ts"])
        await turn(bot, follow, 2)
    finally:
        await bot.stop()

    (uploaded,) = fake_glm.files.values()
    assert uploaded.content == CSV
    assert (uploaded.filename, uploaded.purpose) == ("revenue.csv", "assistant")
    first, second = fake_glm.requests
    assert first.attachment_ids == [uploaded.id]
    assert first.image_urls == []
    # Decision (bot/files/intake.py): every later turn attaches the thread's documents again.
    assert second.attachment_ids == [uploaded.id]
    assert second.body["conversation_id"] == fake_glm.streams[0].conversation_id

    restarted = await RunningBot().start()  # the thread's files live in the database
    try:
        await turn(restarted, message_event("and the worst?", thread_ts=root["ts"]), 1)
    finally:
        await restarted.stop()
    assert fake_glm.requests[2].attachment_ids == [uploaded.id]
    assert len(fake_glm.files) == 1, "a remembered file is not uploaded again"


async def test_a_file_shared_earlier_in_a_human_thread_is_read_when_the_bot_is_asked(
    running_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    """People share the spreadsheet first and ask later: "@GLM chart the file above"."""
    sheet = fake_slack.add_file("revenue.csv", CSV, mimetype="text/csv")
    root = fake_slack.add_message("C0001", "Q3 numbers", user="U0002", files=[sheet])
    fake_slack.add_message("C0001", "looks good", user="U0001", thread_ts=root)
    await turn(running_bot, mention_event("chart the file above", thread_ts=root), 1)

    (uploaded,) = fake_glm.files.values()
    assert uploaded.content == CSV
    (request,) = fake_glm.requests
    assert request.attachment_ids == [uploaded.id]
    assert request.user_text.startswith(
        "This Slack thread started with: [bob]: Q3 numbers (shared revenue.csv)"
    )


async def test_refused_and_failed_files_each_get_a_line_and_the_text_is_answered(
    bot_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    fake_slack: FakeSlack,
    fake_glm: FakeGLM,
) -> None:
    monkeypatch.setenv("MAX_FILE_MB", "1")
    big = fake_slack.add_file(
        "huge.pdf", b"%PDF-" + bytes(2 * 1024 * 1024), mimetype="application/pdf"
    )
    liar = fake_slack.add_file(
        "small.csv", b"a,b\n" * 400_000, mimetype="text/csv", declared_size=100
    )
    exe = fake_slack.add_file("setup.exe", b"MZ" + bytes(100))
    fake_png = fake_slack.add_file("photo.png", b"GIF89a not a png", mimetype="image/png")
    ok = fake_slack.add_file("notes.txt", b"remember the milk\n", mimetype="text/plain")
    event = mention_event("summarise", files=[big, liar, exe, fake_png, ok])
    bot = await RunningBot().start()
    try:
        await turn(bot, event, 1)
    finally:
        await bot.stop()

    (request,) = fake_glm.requests
    assert request.user_text == "summarise"
    (txt,) = fake_glm.files.values()
    assert txt.content == b"remember the milk\n" and request.attachment_ids == [txt.id]
    text = final_text(fake_slack, event)
    assert text.startswith("Echo: summarise")
    lines = [line for line in text.splitlines() if line.startswith(":warning:")]
    assert len(lines) == 4, text
    assert "`huge.pdf`" in lines[0] and "1 MB" in lines[0]
    assert "`small.csv`" in lines[1] and "1 MB" in lines[1], "checked while streaming too"
    assert "`setup.exe`" in lines[2] and "not supported" in lines[2]
    assert "`photo.png`" in lines[3] and "not a valid png" in lines[3]
    assert not any(d.path.endswith("huge.pdf") for d in fake_slack.downloads), (
        "a declared size over the limit is refused before downloading"
    )


async def test_sign_in_page_means_the_app_needs_files_read(
    running_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    fake_slack.files_read_scope = False  # installed without files:read: Slack sends HTML
    doc = fake_slack.add_file("report.pdf", b"%PDF-1.7\n...", mimetype="application/pdf")
    event = mention_event("read this", files=[doc])
    await turn(running_bot, event, 1)

    assert fake_slack.downloads[-1].served == "sign_in_page"
    assert fake_glm.files == {}, "HTML is never sent to GLM"
    text = final_text(fake_slack, event)
    assert "`report.pdf`" in text and "`files:read`" in text
    assert fake_glm.requests[0].user_text == "read this"


async def test_files_without_text_get_a_default_question_in_the_users_language(
    running_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    fake_slack.add_user("U0CN", name="li", locale="zh-CN")
    sheet = fake_slack.add_file("data.csv", CSV, mimetype="text/csv", user="U0CN")
    dm = message_event("", channel="D0CN", channel_type="im", user="U0CN", files=[sheet])
    await turn(running_bot, dm, 1)
    assert fake_glm.requests[0].user_text == "请查看附件：里面有什么内容？请总结一下。"
    assert len(fake_glm.requests[0].attachment_ids) == 1


async def test_nothing_readable_and_no_text_posts_the_lines_only(
    running_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    exe = fake_slack.add_file("tool.exe", b"MZ")
    dm = message_event("", channel="D0001", channel_type="im", files=[exe])
    await turn(running_bot, dm, 1)
    assert fake_glm.requests == []
    (reply,) = fake_slack.thread_replies_by_bot("D0001", dm["ts"])
    assert "`tool.exe`" in reply.text


async def test_files_per_conversation_limit(
    bot_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    fake_slack: FakeSlack,
    fake_glm: FakeGLM,
) -> None:
    monkeypatch.setenv("MAX_FILES_PER_CONVERSATION", "2")
    a, b, c = (
        fake_slack.add_file(f"{n}.txt", n.encode() * 10, mimetype="text/plain") for n in "abc"
    )
    root = mention_event("two files", files=[a, b])
    bot = await RunningBot().start()
    try:
        await turn(bot, root, 1)
        await turn(bot, message_event("one more", thread_ts=root["ts"], files=[c]), 2)
    finally:
        await bot.stop()
    assert len(fake_glm.requests[1].attachment_ids) == 2
    text = final_text(fake_slack, root)
    assert "`c.txt`" in text and "at most 2 files" in text


async def test_purpose_refused_by_glm_says_what_to_try(
    running_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    fake_glm.accepted_purposes = {"agent"}
    doc = fake_slack.add_file("paper.pdf", b"%PDF-1.4 paper", mimetype="application/pdf")
    event = mention_event("summarise the paper", files=[doc])
    await turn(running_bot, event, 1)
    text = final_text(fake_slack, event)
    assert text.startswith("Echo: summarise the paper")
    assert "`paper.pdf`" in text and "GLM_FILE_PURPOSE=agent" in text


async def test_the_token_never_leaves_slacks_hosts(
    running_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM, elsewhere: Elsewhere
) -> None:
    trap = fake_slack.add_file("trap.png", PNG, mimetype="image/png", url=f"{elsewhere.url}/x.png")
    event = mention_event("look", files=[trap])
    await turn(running_bot, event, 1)
    assert elsewhere.requests == []
    assert fake_glm.requests[0].image_urls == []
    assert "`trap.png`" in final_text(fake_slack, event)


# -- out ---------------------------------------------------------------------------------------


def drawing(url: str) -> Reply:
    return Reply(
        chunks=["Here is your pig."],
        tool_calls=[
            (0, Reply.tool("drawing_tool", input="a flying pig")),
            (0, Reply.tool("drawing_tool", outputs=[{"image": url}])),
        ],
    )


async def test_drawn_image_is_uploaded_into_the_thread_with_its_exact_bytes(
    running_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    url = fake_glm.host_file("testpath/pig_0.png", PNG)
    fake_glm.enqueue(drawing(url))
    event = mention_event("draw a flying pig")
    await turn(running_bot, event, 1)

    (shared,) = fake_slack.shared_files("C0001", event["ts"])
    assert shared.content == PNG and shared.name == "pig_0.png"
    (complete,) = fake_slack.calls_to("files.completeUploadExternal")
    assert complete.args["channel_id"] == "C0001" and complete.args["thread_ts"] == event["ts"]
    ticket = next(iter(fake_slack.upload_tickets.values()))
    assert "Authorization" not in ticket.posts[0], "the upload URL needs no token"
    assert image_blocks(fake_slack, event) == [], "no block pointing at GLM's expiring link"
    ctx = contexts(fake_slack, event)
    assert shared.id in ctx and url in ctx, "the Slack file is shown and the source kept"
    assert final_text(fake_slack, event) == "Here is your pig."


async def test_slides_from_a_function_output_are_uploaded_too(
    running_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    url = fake_glm.host_file("ppt/deck.pptx", PPTX, "application/octet-stream")
    fake_glm.enqueue(
        Reply(
            chunks=["Your deck."],
            tool_calls=[
                (0, Reply.tool("function", outputs=[{"content": json.dumps({"url": url})}]))
            ],
        )
    )
    event = mention_event("make slides")
    await turn(running_bot, event, 1)
    (shared,) = fake_slack.shared_files("C0001", event["ts"])
    assert shared.content == PPTX and shared.name == "deck.pptx"
    assert ":paperclip:" not in contexts(fake_slack, event)


async def test_upload_refused_falls_back_to_the_image_link(
    running_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    url = fake_glm.host_file("testpath/pig_1.png", PNG)
    fake_slack.fail("files.completeUploadExternal", "not_allowed_token_type")
    fake_glm.enqueue(drawing(url))
    event = mention_event("draw a pig")
    await turn(running_bot, event, 1)
    assert fake_slack.shared_files("C0001", event["ts"]) == []
    assert image_blocks(fake_slack, event) == [url]
    assert final_text(fake_slack, event) == "Here is your pig."
    done = await running_bot.bot.repo.replies_with_status("done")
    assert len(done) == 1


async def test_outputs_outside_the_allow_list_or_redirected_there_are_never_fetched(
    running_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM, elsewhere: Elsewhere
) -> None:
    outside = f"{elsewhere.url}/internal/secret.png"
    bounce = fake_glm.host_redirect("testpath/bounce.png", f"{elsewhere.url}/meta.png")
    fake_glm.enqueue(
        Reply(
            chunks=["Two pictures."],
            tool_calls=[
                (0, Reply.tool("drawing_tool", outputs=[{"image": outside}])),
                (0, Reply.tool("drawing_tool", outputs=[{"image": bounce}])),
            ],
        )
    )
    event = mention_event("draw twice")
    await turn(running_bot, event, 1)
    assert len(fake_glm.hosted["testpath/bounce.png"].fetches) == 1
    assert elsewhere.requests == []
    assert fake_slack.shared_files("C0001", event["ts"]) == []
    assert fake_slack.calls_to("files.getUploadURLExternal") == []
    assert final_text(fake_slack, event) == "Two pictures."


async def test_files_glm_no_longer_has_are_dropped_once_and_forgotten(
    running_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    sheet = fake_slack.add_file("old.csv", CSV, mimetype="text/csv")
    root = mention_event("look at this", files=[sheet])
    await turn(running_bot, root, 1)
    (old_id,) = fake_glm.files
    fake_glm.forget_file(old_id)  # expired upstream

    await turn(running_bot, message_event("still there?", thread_ts=root["ts"]), 2)
    rejected, retried = fake_glm.requests[1:3]
    assert rejected.status == 400 and rejected.attachment_ids == [old_id]
    assert retried.status == 200 and "attachments" not in retried.body
    assert retried.body["conversation_id"] == fake_glm.streams[0].conversation_id, (
        "a rejected attachment is not a rejected conversation"
    )
    text = final_text(fake_slack, root)
    assert text.startswith("Echo: still there?") and "no longer available" in text

    await turn(running_bot, message_event("and now?", thread_ts=root["ts"]), 3)
    assert "attachments" not in fake_glm.requests[3].body


async def test_a_file_stub_is_completed_with_files_info(
    running_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    full = fake_slack.add_file("stub.csv", CSV, mimetype="text/csv")
    stub = {"id": full["id"], "mode": "hosted", "file_access": "check_file_info"}
    event = mention_event("what is in it?", files=[stub])
    await turn(running_bot, event, 1)
    assert fake_slack.calls_to("files.info")
    (uploaded,) = fake_glm.files.values()
    assert uploaded.content == CSV and uploaded.filename == "stub.csv"


async def test_a_file_link_in_the_answer_text_is_uploaded_when_on_a_glm_host(
    running_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM, elsewhere: Elsewhere
) -> None:
    url = fake_glm.host_file("ppt/outline.pptx", PPTX, "application/octet-stream")
    half = len(url) // 2
    fake_glm.enqueue(
        Reply(
            chunks=[f"Done: [deck]({url[:half]}", f"{url[half:]}) (mirror {elsewhere.url}/m.pdf)"]
        )
    )
    event = mention_event("make a deck")
    await turn(running_bot, event, 1)
    (shared,) = fake_slack.shared_files("C0001", event["ts"])
    assert shared.content == PPTX and shared.name == "outline.pptx"
    assert elsewhere.requests == []
