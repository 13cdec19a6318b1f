"""Slack's budgets for native streaming, drawn from the instance's shared :class:`Budgets`.

``chat.startStream`` and ``chat.stopStream`` are Tier 2 (about 20 per minute each),
``chat.appendStream`` Tier 4 (about 100 per minute); each method has its own bucket per
workspace (slack-platform-and-peers §2.7, §3.1). They come from :class:`Budgets`, so with a
shared store (PostgreSQL) every instance draws on the same buckets, like the edit budget.

``pending_stops`` counts the native replies this instance has started and not yet stopped: a
new one starts natively only when its ``stopStream`` could be paid soon after all of those.
Other instances' promises are not counted (they are seen once their stops are spent), which
the ``auto`` horizon absorbs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.reply.ratelimit import Budget, Budgets


@dataclass(slots=True)
class StreamBudgets:
    start: Budget
    stop: Budget
    append: Budget
    pending_stops: dict[str, int] = field(default_factory=dict)

    async def stop_affordable(self, team_id: str, horizon: float) -> bool:
        """Whether one more stream's ``stopStream`` (after those already promised) can be paid
        within ``horizon`` seconds: the rule that keeps native replies from getting stuck."""
        reserve = float(self.pending_stops.get(team_id, 0))
        return await self.stop.wait_time(team_id, reserve) <= horizon

    def promise_stop(self, team_id: str) -> None:
        self.pending_stops[team_id] = self.pending_stops.get(team_id, 0) + 1

    def stop_done(self, team_id: str) -> None:
        left = self.pending_stops.get(team_id, 0) - 1
        if left > 0:
            self.pending_stops[team_id] = left
        else:
            self.pending_stops.pop(team_id, None)  # nothing promised: forget the workspace


def stream_budgets(budgets: Budgets) -> StreamBudgets:
    return StreamBudgets(
        start=budgets.budget("chat.startStream"),
        stop=budgets.budget("chat.stopStream"),
        append=budgets.budget("chat.appendStream"),
    )
