"""Whether a message may become a turn, and in which language to answer its author.

The one door into a turn: every way in (mention, message, DM, the Retry button, …) asks
:meth:`Gatekeeper.admit`, and a turn cannot start without the :class:`Admitted` it returns.
A shutting-down instance refuses first, then the allow-lists (cheap, no I/O), then the monthly
token quotas (bot/usage/), then the per-user rate limit; quotas and rate limit are counted in
the database so they hold across instances. A refusal says why and what
to tell the user (nothing, for strangers in channels when the workspace prefers silence).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from bot.oauth.workspace import current_access
from bot.policy import TurnPolicy, wait_before_next_turn
from bot.store.models import utcnow
from bot.store.repository import Repository
from bot.texts import Lang, lang_from_locale, t
from bot.turn_input import Route
from bot.usage import format as fmt
from bot.usage.meter import UsageMeter
from bot.workspace.people import UserDirectory

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Refusal:
    reason: str  # a metrics label: "restarting", "not_allowed", "quota" or "rate_limited"
    text: str  # what to tell the person
    quiet: bool = False  # say nothing in the thread (a button press may still be told privately)
    private: bool = False  # tell only the asker (ephemeral in channels; a DM is private anyway)


@dataclass(frozen=True, slots=True)
class Admitted:
    """A ticket into a turn, made only by :meth:`Gatekeeper.admit`; the turn requires one."""

    route: Route
    lang: Lang


class Gatekeeper:
    def __init__(
        self,
        *,
        repo: Repository,
        people: UserDirectory,
        policy: TurnPolicy,
        meter: UsageMeter | None = None,
    ) -> None:
        self._repo = repo
        self._people = people
        self._policy = policy
        self.meter = meter  # monthly token quotas; None: unlimited
        self.accepting = True  # False once shutdown begins: new turns are refused politely

    async def admit(self, route: Route) -> Admitted | Refusal:
        """Admission for every way into a turn; a refusal has already been logged."""
        lang = await self.language(route.user_id)
        if not self.accepting:
            return Refusal("restarting", t("restarting", lang))
        return await self._check(route, lang) or Admitted(route, lang)

    async def language(self, user_id: str) -> Lang:
        """The user's Slack language when it is Chinese or English, else the default."""
        default = self._policy.default_language
        if not self._policy.use_slack_locale:
            return default
        try:
            return lang_from_locale(await self._people.locale(user_id), default)
        except Exception:  # a Slack hiccup must not cost the answer
            return default

    async def _check(self, route: Route, lang: Lang) -> Refusal | None:
        is_dm = route.channel_type == "im"
        access = current_access()  # OAuth mode: the installation this request came through
        org_wide = access is not None and access.workspace.is_enterprise_install
        org = access.workspace.enterprise_id if access is not None and org_wide else None
        if not self._policy.access.allows(
            team_id=route.team_id,
            channel_id=route.channel_id,
            user_id=route.user_id,
            is_dm=is_dm,
            enterprise_id=org,
        ):
            log.info("refused %s in %s (allow-list)", route.user_id, route.channel_id)
            silent = self._policy.refuse_silently_in_channels and not is_dm
            return Refusal("not_allowed", t("not_allowed", lang), quiet=silent)
        over = await self._quota(route, lang, org=org)
        if over is not None:
            return over
        wait = await self._rate_limit_wait(route)
        if wait is None:
            return None
        minutes = max(1, round(wait / 60))
        unit = t("minute" if minutes == 1 else "minutes", lang)
        count = self._policy.user_turns_per_window
        text = t("rate_limited", lang, count=count, minutes=minutes, unit=unit)
        return Refusal("rate_limited", text)

    async def _quota(self, route: Route, lang: Lang, *, org: str | None) -> Refusal | None:
        """Over this month's token quota (the person's or the workspace's, or for an org-wide
        install the org's): no GLM call."""
        if self.meter is None:
            return None
        over = await self.meter.breach(
            team_id=route.team_id, user_id=route.user_id, enterprise_id=org
        )
        if over is None:
            return None
        log.info("refused %s in %s (%s quota)", route.user_id, route.team_id, over.scope)
        text = t(
            f"quota_{over.scope}",
            lang,
            used=fmt.tokens(over.used, lang),
            limit=fmt.tokens(over.limit, lang),
            reset=fmt.day(over.resets_at, lang),
        )
        return Refusal("quota", text, private=True)

    async def _rate_limit_wait(self, route: Route) -> float | None:
        max_turns = self._policy.user_turns_per_window
        if max_turns <= 0:
            return None
        window = self._policy.user_window_seconds
        now = utcnow()
        earlier = await self._repo.take_turn_ticket(
            team_id=route.team_id,
            user_id=route.user_id,
            since=now - timedelta(seconds=window),
            max_turns=max_turns,
        )
        if earlier is None:
            return None
        return wait_before_next_turn(earlier, now=now, max_turns=max_turns, window=window)
