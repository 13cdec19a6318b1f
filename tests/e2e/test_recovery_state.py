"""Crash recovery works from what the database recorded, not from how a message looks.

A crashed instance leaves a reply ``streaming`` in the database. The survivor finalises it:
the message is found by its recorded ts, or (crashed between posting and recording the post)
by the Stop button that carries the reply's turn id; the notice is in the language the reply
was written in (recorded since revision 0009_recovery); the live activity line is dropped by
its block id. A different cursor glyph or a restyled activity line cannot break any of this.
"""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.action_ids import RETRY_ACTION_ID, STOP_ACTION_ID
from bot.reply.blocks import ACTIVITY_BLOCK_ID
from bot.store.db import make_engine
from bot.store.migrate import upgrade_to_head
from bot.store.repository import Repository
from tests.conftest import BOT_TOKEN, RunningBot
from tests.fakes import FakeSlack, Message

JSON = dict[str, Any]
ZH_NOTICE = ":octagonal_sign: _机器人重启，回答被中断了。点击「重试」重新提问。_"


def streaming_blocks(text: str, *, turn_id: str, activity: str | None = None) -> list[JSON]:
    """A reply as a streaming instance shows it: header, text, activity line, Stop button."""
    blocks: list[JSON] = [
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "*ChatGLM（官方）*"}]},
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
    ]
    if activity is not None:
        blocks.append(
            {
                "type": "context",
                "block_id": ACTIVITY_BLOCK_ID,
                "elements": [{"type": "mrkdwn", "text": activity}],
            }
        )
    blocks.append(
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": STOP_ACTION_ID,
                    "text": {"type": "plain_text", "text": "停止"},
                    "value": turn_id,
                }
            ],
        }
    )
    return blocks


def buttons(message: Message) -> list[tuple[str, str]]:
    return [
        (e["action_id"], e["text"]["text"])
        for b in message.blocks or []
        if b["type"] == "actions"
        for e in b["elements"]
    ]


async def crashed_reply(
    bot_env: dict[str, str], *, turn_id: str, thread_ts: str, lang: str | None
) -> Repository:
    """What a crashed instance left behind: a reply still streaming, its instance silent."""
    engine = make_engine(bot_env["DATABASE_URL"])
    await upgrade_to_head(engine)
    repo = Repository(engine)
    await repo.start_reply(
        turn_id=turn_id,
        team_id="T0001",
        channel_id="C0001",
        thread_ts=thread_ts,
        user_id="U0001",
        assistant_id="65940acff94777010aa6b796",
        question="讲讲历史",
        instance_id="crashed-instance",
        lang=lang,
    )
    return repo


@pytest.fixture
def slack_client(fake_slack: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token=BOT_TOKEN, base_url=fake_slack.api_url)


async def test_a_message_without_the_cursor_is_found_by_its_turn_not_its_look(
    bot_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    fake_slack: FakeSlack,
    slack_client: AsyncWebClient,
) -> None:
    root = fake_slack.add_message("C0001", "<@UBOT> 讲讲历史")
    repo = await crashed_reply(bot_env, turn_id="t-crashed", thread_ts=root, lang="zh")
    # The crashed instance posted, but died before recording the ts. Its text has no cursor
    # glyph (a version with another glyph, or none) and its activity line looks different.
    posted = await slack_client.chat_postMessage(
        channel="C0001",
        thread_ts=root,
        text="一半的回答",
        blocks=streaming_blocks(
            "一半的回答", turn_id="t-crashed", activity="⏳ 正在搜索网页：唐朝"
        ),
    )
    # Later in the thread: another reply, streaming with the cursor, owned by another turn.
    other = await slack_client.chat_postMessage(
        channel="C0001",
        thread_ts=root,
        text="别的回答 ▍",
        blocks=streaming_blocks("别的回答 ▍", turn_id="t-someone-else"),
    )
    await repo.engine.dispose()

    monkeypatch.setenv("INSTANCE_HEARTBEAT_SECONDS", "0.3")
    survivor = await RunningBot().start()
    try:
        recovered = await fake_slack.wait_for(
            lambda f: next(
                (
                    m
                    for m in f.thread_replies_by_bot("C0001", root)
                    if (RETRY_ACTION_ID, "重试") in buttons(m)
                ),
                None,
            ),
            timeout=10,
            what="the interrupted reply with a Retry button",
        )
        (interrupted,) = await survivor.bot.repo.replies_with_status("interrupted")
    finally:
        await survivor.stop()

    assert recovered.ts == posted["ts"], "the crashed turn's own message, found by its turn id"
    assert recovered.text == f"一半的回答\n\n{ZH_NOTICE}"
    assert buttons(recovered) == [(RETRY_ACTION_ID, "重试")]
    assert [b["type"] for b in recovered.blocks] == ["context", "section", "actions"]
    assert recovered.blocks[0]["elements"][0]["text"] == "*ChatGLM（官方）*", "header kept"
    assert "唐朝" not in str(recovered.blocks), "the live activity line is gone"
    assert interrupted.turn_id == "t-crashed"
    untouched = fake_slack.message("C0001", str(other["ts"]))
    assert untouched is not None and untouched.edits == []
    assert len(fake_slack.thread_replies_by_bot("C0001", root)) == 2, "nothing extra posted"


async def test_a_recorded_reply_is_finalised_in_its_own_language(
    bot_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    fake_slack: FakeSlack,
    slack_client: AsyncWebClient,
) -> None:
    root = fake_slack.add_message("C0001", "<@UBOT> 讲讲历史")
    repo = await crashed_reply(bot_env, turn_id="t-recorded", thread_ts=root, lang="zh")
    posted = await slack_client.chat_postMessage(
        channel="C0001",
        thread_ts=root,
        text="写到一半",
        blocks=streaming_blocks("写到一半", turn_id="t-recorded"),
    )
    (reply,) = await repo.replies_with_status("streaming")
    await repo.set_reply_messages(reply.id, [str(posted["ts"])])
    await repo.engine.dispose()

    monkeypatch.setenv("INSTANCE_HEARTBEAT_SECONDS", "0.3")
    monkeypatch.setenv("DEFAULT_LANGUAGE", "en")  # the default is English; the reply was not
    survivor = await RunningBot().start()
    try:
        recovered = await fake_slack.wait_for(
            lambda f: next(
                (
                    m
                    for m in f.thread_replies_by_bot("C0001", root)
                    if any(action == RETRY_ACTION_ID for action, _ in buttons(m))
                ),
                None,
            ),
            timeout=10,
            what="the recorded message to be finalised",
        )
    finally:
        await survivor.stop()
    assert recovered.ts == posted["ts"]
    assert recovered.text == f"写到一半\n\n{ZH_NOTICE}"
    assert buttons(recovered) == [(RETRY_ACTION_ID, "重试")]


async def test_a_rate_limited_recovery_edit_waits_retry_after_and_lands(
    bot_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    fake_slack: FakeSlack,
    slack_client: AsyncWebClient,
) -> None:
    """Recovery claims the reply before editing it: a 429 there used to leave the message
    looking like it still streams, for good. Now slack_sdk waits Retry-After and edits."""
    root = fake_slack.add_message("C0001", "<@UBOT> 讲讲历史")
    repo = await crashed_reply(bot_env, turn_id="t-limited", thread_ts=root, lang="zh")
    posted = await slack_client.chat_postMessage(
        channel="C0001",
        thread_ts=root,
        text="写到一半",
        blocks=streaming_blocks("写到一半", turn_id="t-limited"),
    )
    (reply,) = await repo.replies_with_status("streaming")
    await repo.set_reply_messages(reply.id, [str(posted["ts"])])
    await repo.engine.dispose()
    fake_slack.fail("conversations.replies", "ratelimited", retry_after=1, times=1)
    fake_slack.fail("chat.update", "ratelimited", retry_after=1, times=1)

    monkeypatch.setenv("INSTANCE_HEARTBEAT_SECONDS", "0.3")
    survivor = await RunningBot().start()
    try:
        recovered = await fake_slack.wait_for(
            lambda f: next(
                (
                    m
                    for m in f.thread_replies_by_bot("C0001", root)
                    if any(action == RETRY_ACTION_ID for action, _ in buttons(m))
                ),
                None,
            ),
            timeout=10,
            what="the rate-limited message to be finalised all the same",
        )
    finally:
        await survivor.stop()
    assert recovered.text == f"写到一半\n\n{ZH_NOTICE}"
    assert [c.status for c in fake_slack.calls_to("chat.update")] == [429, 200]
