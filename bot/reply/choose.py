"""Which strategy shows a reply: ``STREAM_MODE`` = ``edit`` | ``native`` | ``auto``.

``auto`` decides per reply, when the turn starts, from the workspace's budgets: natively only
when a ``startStream`` token is there *now* (so the first text is not delayed) and the reply's
``stopStream`` can be paid within ``horizon`` seconds after every stop already promised (so no
native reply waits long to end). Everything else goes by edit, whose cost is one
``chat.update`` (Tier 3) for the final text. The two draw on different Tier buckets, so under
load the mix finishes more replies a minute than either alone.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Literal

from slack_sdk.web.async_client import AsyncWebClient

from bot.reply.native import NativeStreamer
from bot.reply.stream_budgets import StreamBudgets
from bot.reply.view import ReplyView
from bot.texts import Lang

StreamMode = Literal["auto", "native", "edit"]
STOP_HORIZON = 3.0  # seconds: one Tier 2 refill at 20 a minute


class ReplyChooser:
    def __init__(
        self,
        *,
        mode: StreamMode,
        client: AsyncWebClient,
        budgets: StreamBudgets,
        edit_interval: float,
        horizon: float = STOP_HORIZON,
    ) -> None:
        self.mode = mode
        self._client = client
        self._budgets = budgets
        self._interval = edit_interval
        self._horizon = horizon

    async def choose(
        self,
        edit: ReplyView,
        *,
        team_id: str,
        channel_id: str,
        thread_ts: str,
        user_id: str,
        stop_value: str | None,
        header: str | None,
        on_messages: Callable[[list[str]], Awaitable[None]] | None,
        lang: Lang,
    ) -> ReplyView:
        """``edit`` itself, or a native streamer that falls back to it."""
        if self.mode == "edit":
            return edit
        prepaid = False
        if self.mode == "auto":
            if not await self._budgets.stop_affordable(team_id, self._horizon):
                return edit
            if not await self._budgets.start.try_take(team_id):
                return edit
            prepaid = True
        return NativeStreamer(
            client=self._client,
            budgets=self._budgets,
            team_id=team_id,
            channel=channel_id,
            thread_ts=thread_ts,
            recipient_user_id=user_id,  # required in channels, harmless in DMs
            fallback=edit,
            header=header,
            edit_interval=self._interval,
            stop_value=stop_value,
            on_messages=on_messages,
            start_prepaid=prepaid,
            lang=lang,
        )
