"""Counting what each turn cost, and whether a question may still be asked this month.

:class:`UsageMeter` is the one place that knows "this month" (its clock, injectable so a test
can turn the month) and speaks to :class:`~bot.store.usage.UsageStore`; the rules themselves
are in :mod:`bot.usage.quotas` and the month arithmetic in :mod:`bot.usage.month`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy import Executable

from bot.metrics import Metrics
from bot.store.usage import TurnUsage, UsageStore
from bot.usage.month import Clock, month_key, system_clock
from bot.usage.quotas import Breach, QuotaPolicy, breach

log = logging.getLogger(__name__)


class UsageMeter:
    def __init__(
        self,
        store: UsageStore,
        *,
        policy: QuotaPolicy | None = None,
        metrics: Metrics | None = None,
        clock: Clock = system_clock,
    ) -> None:
        self.store = store
        self.policy = policy or QuotaPolicy()
        self._metrics = metrics
        self.clock = clock

    @property
    def month(self) -> str:
        return month_key(self.clock())

    def tally(self, usage: TurnUsage) -> Sequence[Executable]:
        """Count a finished turn's tokens (as GLM reported them) in /metrics, and return the
        statement that adds them to this month's usage, for the caller's transaction."""
        if self._metrics is not None:
            tokens = self._metrics.tokens
            tokens.labels("prompt", usage.assistant_id).inc(max(0, usage.prompt_tokens))
            tokens.labels("completion", usage.assistant_id).inc(max(0, usage.completion_tokens))
        return (self.store.tally(usage, month=self.month),)

    async def breach(
        self, *, team_id: str, user_id: str, enterprise_id: str | None = None
    ) -> Breach | None:
        """The quota a new question from ``user_id`` would exceed; no query when unlimited.
        ``enterprise_id``: an org-wide install, whose quota is the org's (see UsageStore)."""
        policy = self.policy
        if policy.per_workspace <= 0 and policy.user_limit(user_id) <= 0:
            return None
        now = self.clock()
        reading = await self.store.quota_reading(
            team_id=team_id, user_id=user_id, month=month_key(now), enterprise_id=enterprise_id
        )
        return breach(
            policy,
            user_id=user_id,
            user_used=reading.user,
            workspace_used=reading.workspace,
            now=now,
        )
