"""Who may use the bot and how much: allow-lists and a per-user rate limit (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.texts import Lang


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

    def allows(
        self,
        *,
        team_id: str,
        channel_id: str,
        user_id: str,
        is_dm: bool,
        enterprise_id: str | None = None,
    ) -> bool:
        """``enterprise_id``: a Grid org installed org-wide; listing the org lets all its
        workspaces ask, as it let the org install (OAuth mode)."""
        if self.teams and team_id not in self.teams and enterprise_id not in self.teams:
            return False
        if self.users and user_id not in self.users:
            return False
        # A channel allow-list restricts channels; DMs are governed by the user list.
        return not (self.channels and not is_dm and channel_id not in self.channels)


def wait_before_next_turn(
    recent: Sequence[datetime], *, now: datetime, max_turns: int, window: float
) -> float | None:
    """Seconds until a user may ask again, or None if they may now.

    ``recent`` are the start times of the user's turns (from the database, so the limit holds
    across instances); at most ``max_turns`` per sliding ``window`` seconds; 0 disables it.
    """
    if max_turns <= 0:
        return None
    cutoff = now - timedelta(seconds=window)
    inside = sorted(t for t in recent if t > cutoff)
    if len(inside) < max_turns:
        return None
    oldest_that_counts = inside[-max_turns]
    return max(0.0, (oldest_that_counts + timedelta(seconds=window) - now).total_seconds())


@dataclass(frozen=True, slots=True)
class TurnPolicy:
    """Everything that shapes a turn, from settings: defaults, limits, access, language."""

    default_assistant_id: str
    thread_context_limit: int = 20
    max_input_chars: int = 8000
    access: AccessPolicy = field(default_factory=AccessPolicy)
    refuse_silently_in_channels: bool = True
    user_turns_per_window: int = 0
    user_window_seconds: float = 600.0
    max_concurrent_streams: int = 40
    default_language: Lang = "en"
    use_slack_locale: bool = True
    lease_max_wait: float = 660.0
    admins: frozenset[str] = frozenset()  # AGENT_ADMIN_USER_IDS: may stop anyone's answer


def may_stop(*, presser: str, asker: str, admins: frozenset[str]) -> bool:
    """Stop belongs to the person who asked; admins may stop any answer (an empty admin list
    means nobody else, unlike the agent switch, where it means everyone)."""
    return presser == asker or presser in admins
