"""Slack's budgets for native streaming, per workspace, in the style of ``EditBudget``.

``chat.startStream`` and ``chat.stopStream`` are Tier 2 (about 20 per minute each, bursts of
about 10), ``chat.appendStream`` Tier 4 (about 100 per minute, bursts of about 20): each method
has its own bucket (slack-platform-and-peers §2.7, §3.1). They are ``EditBudget`` instances made
by one factory, so when the edit budget becomes shared across instances these can follow.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from bot.slack.ratelimit import Clock, EditBudget

# A little under Slack's rate, as for the edit budget: our clock and Slack's differ by each
# call's network delay.
SAFETY = 0.98


@dataclass(slots=True)
class StreamBudgets:
    start: EditBudget
    stop: EditBudget
    append: EditBudget
    pending_stops: dict[str, int] = field(default_factory=dict)

    def stop_affordable(self, team_id: str, horizon: float) -> bool:
        """Whether one more stream's ``stopStream`` (after those already promised) can be paid
        within ``horizon`` seconds: the rule that keeps native replies from getting stuck."""
        reserve = float(self.pending_stops.get(team_id, 0))
        return self.stop.bucket(team_id).wait_time(reserve) <= horizon

    def promise_stop(self, team_id: str) -> None:
        self.pending_stops[team_id] = self.pending_stops.get(team_id, 0) + 1
        self.stop.open(team_id)

    def stop_done(self, team_id: str) -> None:
        self.pending_stops[team_id] = max(0, self.pending_stops.get(team_id, 0) - 1)
        self.stop.close(team_id)


def make_stream_budgets(
    *,
    start_per_minute: float = 20.0,
    start_burst: float = 10.0,
    stop_per_minute: float = 20.0,
    stop_burst: float = 10.0,
    append_per_minute: float = 100.0,
    append_burst: float = 20.0,
    clock: Clock = time.monotonic,
) -> StreamBudgets:
    return StreamBudgets(
        start=EditBudget(
            per_minute=start_per_minute * SAFETY, burst=start_burst, reserve=0, clock=clock
        ),
        stop=EditBudget(
            per_minute=stop_per_minute * SAFETY, burst=stop_burst, reserve=0, clock=clock
        ),
        append=EditBudget(
            per_minute=append_per_minute * SAFETY, burst=append_burst, reserve=0, clock=clock
        ),
    )
