"""The auto strategy's rule: native only with a start token now and an affordable stop."""

from __future__ import annotations

from slack_sdk.web.async_client import AsyncWebClient

from bot.reply.choose import ReplyChooser
from bot.reply.native import NativeStreamer
from bot.reply.ratelimit import Budgets, LocalStore, Tier
from bot.reply.stream_budgets import StreamBudgets, stream_budgets


class _Edit:
    """Stands in for the edit streamer: the chooser only passes it through."""

    gone = None
    first_text_at = None
    has_text = False

    async def start(self, status: str | None = None) -> None: ...

    async def set_status(self, status: str) -> None: ...

    def append(self, text: str) -> None: ...

    def take_back(self) -> None: ...

    def tool(self, call: object) -> None: ...

    async def finish(
        self, notice: str | None = None, *, retry_value: str | None = None
    ) -> None: ...


async def _choose(chooser: ReplyChooser, edit: _Edit) -> object:
    return await chooser.choose(
        edit,  # type: ignore[arg-type]
        team_id="T1",
        channel_id="C1",
        thread_ts="1.1",
        user_id="U1",
        stop_value=None,
        header=None,
        on_messages=None,
        lang="en",
    )


async def test_auto_goes_native_until_stops_could_not_be_paid_soon() -> None:
    now = [0.0]
    shared = Budgets(LocalStore(clock=lambda: now[0]), margin=0.98)
    budgets = StreamBudgets(
        start=shared.budget("chat.startStream", Tier(20, 10)),
        stop=shared.budget("chat.stopStream", Tier(20, 4)),
        append=shared.budget("chat.appendStream", Tier(100, 20)),
    )
    chooser = ReplyChooser(
        mode="auto", client=AsyncWebClient(), budgets=budgets, edit_interval=1.0, horizon=3.0
    )
    edit = _Edit()
    picks = [await _choose(chooser, edit) for _ in range(8)]
    native = [p for p in picks if isinstance(p, NativeStreamer)]
    # 4 stops in the bucket; a 5th would come only after 3.06 s (20/min x 0.98) > horizon.
    assert len(native) == 4
    assert all(p is edit for p in picks[4:])
    budgets.stop_done("T1")  # one native reply ended (its stop was paid)
    now[0] += 6.0
    assert isinstance(await _choose(chooser, edit), NativeStreamer)


async def test_edit_mode_never_streams_natively() -> None:
    chooser = ReplyChooser(
        mode="edit",
        client=AsyncWebClient(),
        budgets=stream_budgets(Budgets(LocalStore())),
        edit_interval=1.0,
    )
    edit = _Edit()
    assert await _choose(chooser, edit) is edit
