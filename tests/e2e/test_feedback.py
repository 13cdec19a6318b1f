"""👍/👎 end to end: the final edit carries Slack's feedback_buttons, a click (as Slack sends
it) is acked, stored with the reply, thanked ephemerally and counted in /metrics."""

from __future__ import annotations

import time
from typing import Any

from bot.store.surface import SurfaceStore
from tests.conftest import RunningBot
from tests.fakes import FakeGLM, FakeSlack, Reply, mention_event
from tests.fakes.slack_requests import feedback_click

JSON = dict[str, Any]


async def answer(bot: RunningBot, fake: FakeSlack, text: str = "hello") -> tuple[str, JSON]:
    """Ask in a channel; return the thread ts and the final reply as Slack returns it."""
    event = mention_event(text)
    before = bot.executor.finished
    await bot.slack.event(event)
    await bot.wait_handled(before + 1)
    replies = fake.thread_replies_by_bot("C0001", event["ts"])
    assert replies, fake.describe_calls()
    return str(event["ts"]), replies[-1].to_api()


def feedback_blocks(message: JSON) -> list[JSON]:
    return [b for b in message.get("blocks") or [] if b.get("type") == "context_actions"]


async def click(bot: RunningBot, fake: FakeSlack, message: JSON, **kwargs: Any) -> float:
    before = len(fake.ephemerals)
    started = time.monotonic()
    resp = await bot.slack.action(feedback_click(message, **kwargs))
    acked = time.monotonic() - started
    assert resp.status == 200
    await fake.wait_for(lambda f: len(f.ephemerals) > before, what="the ephemeral thanks")
    return acked


async def test_finished_answer_carries_feedback_and_streaming_edits_do_not(
    running_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    fake_glm.enqueue(Reply(chunks=["Paris ", "is the capital."], chunk_delay=0.3))
    _, message = await answer(running_bot, fake_slack)
    (block,) = feedback_blocks(message)
    element = block["elements"][0]
    assert element["type"] == "feedback_buttons"
    assert element["positive_button"]["text"]["text"] == "👍"
    assert message["blocks"][-1] is block
    posted = fake_slack.calls_to("chat.postMessage")[-1].args
    streaming_edits = [c.args for c in fake_slack.calls_to("chat.update")][:-1]
    assert all(not feedback_blocks(a) for a in [posted, *streaming_edits])


async def test_a_click_is_stored_thanked_counted_and_a_second_click_changes_it(
    running_bot: RunningBot, fake_slack: FakeSlack
) -> None:
    _, message = await answer(running_bot, fake_slack)
    turn_id = feedback_blocks(message)[0]["elements"][0]["positive_button"]["value"].split(":")[1]
    store = SurfaceStore(running_bot.bot.engine)

    assert await click(running_bot, fake_slack, message) < 1.0
    assert await store.ratings(turn_id) == {"U0001": "good"}
    thanks = fake_slack.ephemerals[-1]
    assert (thanks.user, thanks.channel) == ("U0001", "C0001")
    assert thanks.thread_ts == message["thread_ts"] and "Thanks" in thanks.text

    await click(running_bot, fake_slack, message, positive=False)
    await click(running_bot, fake_slack, message, positive=False)
    await click(running_bot, fake_slack, message, positive=False, user="U0002")
    assert await store.ratings(turn_id) == {"U0001": "bad", "U0002": "bad"}
    _, metrics = await running_bot.get_text("/metrics")
    assert 'glm_bot_feedback_total{rating="good"} 1.0' in metrics
    assert 'glm_bot_feedback_total{rating="bad"} 2.0' in metrics  # the repeat is not counted


async def test_a_forged_click_changes_nothing(
    running_bot: RunningBot, fake_slack: FakeSlack
) -> None:
    _, message = await answer(running_bot, fake_slack)
    forged = feedback_click(message)
    forged["actions"][0]["value"] = "good:" + "0" * 32
    resp = await running_bot.slack.action(forged)
    assert resp.status == 200
    junk = feedback_click(message)
    junk["actions"][0]["value"] = "good:'; drop table feedback; --"
    assert (await running_bot.slack.action(junk)).status == 200
    await click(running_bot, fake_slack, message)  # a real one after them is still recorded
    assert len(fake_slack.ephemerals) == 1
    _, metrics = await running_bot.get_text("/metrics")
    assert 'glm_bot_feedback_total{rating="good"} 1.0' in metrics


async def test_a_failed_answer_offers_retry_not_feedback(
    running_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    fake_glm.enqueue(Reply.error(500, "500"))
    fake_glm.enqueue(Reply.error(500, "500"))
    fake_glm.enqueue(Reply.error(500, "500"))
    fake_glm.enqueue(Reply.error(500, "500"))
    _, message = await answer(running_bot, fake_slack)
    assert not feedback_blocks(message)
