"""Opens each reply with its strategy: ``STREAM_MODE`` = ``edit`` | ``native`` | ``auto``.

``auto`` decides per reply, when the turn starts, from the workspace's budgets: natively only
when a ``startStream`` token is there *now* (so the first text is not delayed) and the reply's
``stopStream`` can be paid within ``horizon`` seconds after every stop already promised (so no
native reply waits long to end). Everything else goes by edit, whose cost is one
``chat.update`` (Tier 3) for the final text. The two draw on different Tier buckets, so under
load the mix finishes more replies a minute than either alone. A native reply always has the
edit view as its fallback (see :mod:`bot.reply.engine`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from slack_sdk.web.async_client import AsyncWebClient

from bot.metrics import Metrics
from bot.reply.calls import SlackCalls
from bot.reply.engine import ReplyEngine, View
from bot.reply.ratelimit import EditBudget, PostBudget
from bot.reply.state import ReplyState, ReplyTarget
from bot.reply.stream_budgets import StreamBudgets
from bot.reply.tools import ToolLedger
from bot.reply.views.edit import EditView, StreamerConfig
from bot.reply.views.native import HandOver, NativeView

StreamMode = Literal["auto", "native", "edit"]
STOP_HORIZON = 3.0  # seconds: one Tier 2 refill at 20 a minute


@dataclass(frozen=True, slots=True)
class ReplyBudgets:
    """The workspace budgets replies draw on (shared by every instance when the store is)."""

    edits: EditBudget  # chat.update, Tier 3
    posts: PostBudget | None  # chat.postMessage, per channel
    streams: StreamBudgets | None  # start/append/stopStream; None: never native


class Replies:
    def __init__(
        self,
        *,
        mode: StreamMode,
        budgets: ReplyBudgets,
        config: StreamerConfig,
        metrics: Metrics | None = None,
        horizon: float = STOP_HORIZON,
    ) -> None:
        self.mode: StreamMode = mode if budgets.streams is not None else "edit"
        self._budgets = budgets
        self._config = config
        self._metrics = metrics
        self._horizon = horizon

    @property
    def budgets(self) -> ReplyBudgets:
        return self._budgets

    async def open(self, target: ReplyTarget, *, client: AsyncWebClient) -> ReplyEngine:
        """A reply engine over the view this reply should start with (not started yet)."""
        calls = SlackCalls(client, metrics=self._metrics)
        state = ReplyState(tools=ToolLedger(lang=target.lang))

        def edit_view(handover: HandOver | None = None) -> EditView:
            kept = handover is not None and handover.keep > 0
            return EditView(
                calls=calls,
                state=state,
                target=target,
                budget=self._budgets.edits,
                posts=self._budgets.posts,
                config=self._config,
                header=None if kept else target.header,  # the stream message names it
                start=handover.keep if handover else 0,
                prefix=handover.reopen if handover else "",
            )

        view: View
        fallback = None
        streams = self._budgets.streams
        if streams is not None and await self._native(streams, target.team_id):
            view = NativeView(
                calls=calls,
                state=state,
                target=target,
                budgets=streams,
                start_prepaid=self.mode == "auto",  # _native took the start token
            )
            fallback = edit_view
        else:
            view = edit_view()
        return ReplyEngine(
            view=view,
            state=state,
            interval=self._config.edit_interval,
            lang=target.lang,
            fallback=fallback,
        )

    async def _native(self, streams: StreamBudgets, team_id: str) -> bool:
        if self.mode == "native":
            return True
        if self.mode == "edit" or not await streams.stop_affordable(team_id, self._horizon):
            return False
        return await streams.start.try_take(team_id)
