"""``SlackCalls``: the one way a reply calls Slack, over HTTP against the fake Slack."""

from __future__ import annotations

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.reply.calls import MessageTooLong, ReplyGone, SlackCalls, StreamClosed, ThreadStatus
from bot.reply.ratelimit import Budgets, LocalStore, Tier
from bot.slack.clients import web_clients
from tests.conftest import BOT_TOKEN
from tests.fakes import FakeSlack


def _calls(fake: FakeSlack) -> SlackCalls:
    return SlackCalls(AsyncWebClient(token=BOT_TOKEN, base_url=fake.api_url))


def _times(fake: FakeSlack, method: str) -> list[float]:
    return [c.at for c in fake.calls_to(method)]


async def test_a_429_is_recorded_in_the_budget_and_the_retry_waits_there(
    fake_slack: FakeSlack,
) -> None:
    budget = Budgets(LocalStore()).budget("chat.postMessage", Tier(600, 10))
    fake_slack.fail("chat.postMessage", retry_after=1)
    resp = await _calls(fake_slack).call(
        "chat_postMessage", budget=budget, scope="C1", attempts=2, channel="C1", text="hi"
    )
    assert resp["ok"]
    first, second = _times(fake_slack, "chat.postMessage")
    assert second - first >= 0.95, "the retry waited Retry-After"
    assert await budget.wait_time("C1") < 0.5  # ...in the budget, not again on top of it


async def test_without_a_budget_a_429_sleeps_retry_after(fake_slack: FakeSlack) -> None:
    fake_slack.fail("chat.postMessage", retry_after=1)
    await _calls(fake_slack).call("chat_postMessage", attempts=2, channel="C1", text="hi")
    first, second = _times(fake_slack, "chat.postMessage")
    assert second - first >= 0.95


async def test_server_errors_back_off_and_the_last_attempt_raises(fake_slack: FakeSlack) -> None:
    fake_slack.fail("chat.update", error="internal_error", status=500, retry_after=None, times=2)
    calls = _calls(fake_slack)
    with pytest.raises(SlackApiError):
        await calls.call("chat_update", attempts=2, channel="C1", ts="1.000001", text="x")
    assert len(fake_slack.calls_to("chat.update")) == 2


@pytest.mark.parametrize(
    ("method", "error", "exception"),
    [
        ("chat_update", "msg_too_long", MessageTooLong),
        ("chat_appendStream", "message_not_in_streaming_state", StreamClosed),
        ("chat_stopStream", "message_not_found", StreamClosed),
        ("chat_update", "message_not_found", ReplyGone),
        ("chat_postMessage", "channel_not_found", ReplyGone),
        ("chat_update", "invalid_blocks", SlackApiError),
    ],
)
async def test_failures_no_retry_can_mend_are_named_at_once(
    fake_slack: FakeSlack, method: str, error: str, exception: type[Exception]
) -> None:
    fake_slack.fail(method.replace("_", ".", 1), error=error, times=8)
    with pytest.raises(exception):
        await _calls(fake_slack).call(method, attempts=8, channel="C1", ts="1.000001", text="x")
    assert len(fake_slack.calls_to(method.replace("_", ".", 1))) == 1


async def test_a_refused_status_is_reported_not_raised(fake_slack: FakeSlack) -> None:
    client = AsyncWebClient(token=BOT_TOKEN, base_url=fake_slack.api_url)
    status = ThreadStatus(client, channel_id="C1", thread_ts="1.000001")
    fake_slack.fail("assistant.threads.setStatus", error="missing_scope")
    assert await status.set("Thinking…") is False
    assert await status.set("Searching", loading=True) is True
    (_, call) = fake_slack.calls_to("assistant.threads.setStatus")
    assert call.args["loading_messages"] == ["Searching"]


async def test_a_reset_connection_is_retried_through_the_budget_not_behind_it(
    fake_slack: FakeSlack,
) -> None:
    """A connection reset can come after Slack has counted the call, so its retry must pay
    for another token. The paced client used to retry it itself (slack_sdk's connection-error
    handler), one call to Slack the budget never saw."""
    paced = web_clients(token=BOT_TOKEN, base_url=fake_slack.api_url).paced
    posted = await paced.chat_postMessage(channel="C0001", text="hi")
    budget = Budgets(LocalStore()).budget("chat.update", Tier(6, 2))  # 2 at once, then 1 in 10 s
    fake_slack.fail("chat.update", drop=True)
    resp = await SlackCalls(paced).call(
        "chat_update",
        budget=budget,
        scope="T0001",
        attempts=3,
        channel="C0001",
        ts=posted["ts"],
        text="edited",
    )
    assert resp["ok"]
    assert len(fake_slack.calls_to("chat.update")) == 2  # the reset one and its retry
    assert await budget.wait_time("T0001") > 5  # ...and both were paid for (one: no wait)
    if paced.session is not None:
        await paced.session.close()
