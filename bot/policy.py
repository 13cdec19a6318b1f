"""Who may use the bot and how much: allow-lists and a per-user rate limit (pure)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field


def parse_id_list(raw: str | None) -> frozenset[str]:
    """``"T1, T2 T3"`` → ``{"T1", "T2", "T3"}``; empty means "everyone"."""
    if not raw:
        return frozenset()
    return frozenset(part for part in raw.replace(",", " ").split() if part)


@dataclass(frozen=True, slots=True)
class AccessPolicy:
    teams: frozenset[str] = frozenset()
    channels: frozenset[str] = frozenset()
    users: frozenset[str] = frozenset()

    def allows(self, *, team_id: str, channel_id: str, user_id: str, is_dm: bool) -> bool:
        if self.teams and team_id not in self.teams:
            return False
        if self.users and user_id not in self.users:
            return False
        # A channel allow-list restricts channels; DMs are governed by the user list.
        return not (self.channels and not is_dm and channel_id not in self.channels)


@dataclass(slots=True)
class UserRateLimiter:
    """At most ``max_turns`` per ``window`` seconds per (team, user); sliding window."""

    max_turns: int
    window: float
    clock: Callable[[], float] = time.monotonic
    _history: dict[tuple[str, str], deque[float]] = field(default_factory=dict)

    def check(self, team_id: str, user_id: str) -> float | None:
        """Record a turn and return None, or return seconds until the user may ask again."""
        if self.max_turns <= 0:
            return None
        now = self.clock()
        times = self._history.setdefault((team_id, user_id), deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        if len(times) >= self.max_turns:
            return max(0.0, times[0] + self.window - now)
        times.append(now)
        return None

    def forget_idle(self, keys: Iterable[tuple[str, str]] | None = None) -> None:
        now = self.clock()
        for key in list(keys if keys is not None else self._history):
            times = self._history.get(key)
            if times is not None and (not times or times[-1] <= now - self.window):
                del self._history[key]
