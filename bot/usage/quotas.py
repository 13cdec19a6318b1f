"""Monthly token quotas per person and per workspace (pure policy, no I/O).

A question is refused when the asker (or the workspace) has already used at least the quota
this month. Usage is known only when an answer ends, so answers already running when the
quota is crossed finish: the overshoot is bounded by those, never by later questions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bot.usage.month import next_month_start


@dataclass(frozen=True, slots=True)
class QuotaPolicy:
    """``0`` means unlimited. ``exempt`` people (``AGENT_ADMIN_USER_IDS``) have no per-person
    quota; the workspace's quota still holds for them."""

    per_user: int = 0
    per_workspace: int = 0
    exempt: frozenset[str] = frozenset()

    @property
    def enabled(self) -> bool:
        return self.per_user > 0 or self.per_workspace > 0

    def user_limit(self, user_id: str) -> int:
        return 0 if user_id in self.exempt else self.per_user


@dataclass(frozen=True, slots=True)
class Breach:
    """Why a question is refused: whose quota, how much was used, the limit, when it resets."""

    scope: Literal["user", "workspace"]
    used: int
    limit: int
    resets_at: datetime


def breach(
    policy: QuotaPolicy, *, user_id: str, user_used: int, workspace_used: int, now: datetime
) -> Breach | None:
    """The quota this question would exceed, or None. The workspace's is reported first: the
    person cannot do anything about their own while the whole workspace is out."""
    if policy.per_workspace > 0 and workspace_used >= policy.per_workspace:
        return Breach("workspace", workspace_used, policy.per_workspace, next_month_start(now))
    limit = policy.user_limit(user_id)
    if limit > 0 and user_used >= limit:
        return Breach("user", user_used, limit, next_month_start(now))
    return None
