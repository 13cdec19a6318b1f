"""The auto strategy's rule: native only with a start token now and an affordable stop."""

from __future__ import annotations

from slack_sdk.web.async_client import AsyncWebClient

from bot.reply.choose import Replies, ReplyBudgets
from bot.reply.engine import ReplyEngine
from bot.reply.ratelimit import Budgets, LocalStore, Tier
from bot.reply.state import ReplyTarget
from bot.reply.stream_budgets import StreamBudgets, stream_budgets
from bot.reply.views.edit import EditView, StreamerConfig
from bot.reply.views.native import NativeView

TARGET = ReplyTarget(team_id="T1", channel_id="C1", thread_ts="1.1", user_id="U1")


def _replies(mode: str, shared: Budgets, streams: StreamBudgets | None) -> Replies:
    return Replies(
        mode=mode,  # type: ignore[arg-type]
        budgets=ReplyBudgets(
            edits=shared.edits(per_minute=50, burst=20), posts=None, streams=streams
        ),
        config=StreamerConfig(edit_interval=1.0),
        horizon=3.0,
    )


async def _pick(replies: Replies) -> type:
    engine: ReplyEngine = await replies.open(TARGET, client=AsyncWebClient())
    return type(engine.view)


async def test_auto_goes_native_until_stops_could_not_be_paid_soon() -> None:
    now = [0.0]
    shared = Budgets(LocalStore(clock=lambda: now[0]), margin=0.98)
    budgets = StreamBudgets(
        start=shared.budget("chat.startStream", Tier(20, 10)),
        stop=shared.budget("chat.stopStream", Tier(20, 4)),
        append=shared.budget("chat.appendStream", Tier(100, 20)),
    )
    replies = _replies("auto", shared, budgets)
    picks = []
    for _ in range(8):
        picks.append(await _pick(replies))
        if picks[-1] is NativeView:
            budgets.promise_stop("T1")  # what the view does when it opens
    # 4 stops in the bucket; a 5th would come only after 3.06 s (20/min x 0.98) > horizon.
    assert picks == [NativeView] * 4 + [EditView] * 4
    budgets.stop_done("T1")  # one native reply ended (its stop was paid)
    now[0] += 6.0
    assert await _pick(replies) is NativeView


async def test_edit_mode_never_streams_natively() -> None:
    shared = Budgets(LocalStore())
    assert await _pick(_replies("edit", shared, stream_budgets(shared))) is EditView
    assert await _pick(_replies("native", shared, None)) is EditView  # no stream budgets
    assert await _pick(_replies("native", shared, stream_budgets(shared))) is NativeView
