"""The App Home tab: what the bot costs, for the person looking and (for admins) the workspace.

For an org-wide install on Enterprise Grid the installation is the org: admission holds the
workspace quota against the whole org and a person's quota against their tokens in every
workspace of it (``UsageStore.quota_reading(enterprise_id=)``), so the tab reads the same rows
and says so: the person's month and the quota are the org's, and admins see the org's month.

``app_home_opened`` with ``tab == "home"`` → ``views.publish`` of a ``home`` view (docs.slack.dev
/surfaces/app-home). The view is built with slack_sdk's Block Kit models, whose ``to_dict``
checks Slack's limits (block count, text lengths) before anything is sent. Every figure is a sum
of the ``usage`` GLM reported on finished answers (bot/usage/); nothing is estimated.

Slack calls go through the Bolt-injected ``client`` of the event, so the tab works for whichever
workspace the event came from.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View
from slack_sdk.web.async_client import AsyncWebClient

from bot.agents import Catalogue
from bot.oauth.workspace import current_access
from bot.reply.render import escape_mrkdwn
from bot.store.repository import Repository
from bot.store.usage import Tokens
from bot.texts import Lang, lang_from_locale, t
from bot.usage import format as fmt
from bot.usage.meter import UsageMeter
from bot.usage.month import month_key, next_month_start

log = logging.getLogger(__name__)

_USER = re.compile(r"[UW][A-Z0-9]{2,20}")
_TEAM = re.compile(r"[TE][A-Z0-9]{2,20}")
_DM = re.compile(r"D[A-Z0-9]{2,20}")
TOP_CHANNELS = 5
ORG_NAME_CHARS = 80  # a header holds 150 characters; the org's name is Slack's, of any length


@dataclass(frozen=True, slots=True)
class HomeOpened:
    team_id: str
    user_id: str
    dm_channel_id: str | None


def parse_home_opened(body: Mapping[str, Any]) -> HomeOpened | None:
    """The Home tab was opened; ``None`` for other tabs or a payload without a person."""
    event = body.get("event")
    if not isinstance(event, Mapping) or event.get("type") != "app_home_opened":
        return None
    if event.get("tab") != "home":
        return None
    team = body.get("team_id") or event.get("team")
    user, dm = event.get("user"), event.get("channel")
    if not (isinstance(team, str) and _TEAM.fullmatch(team)):
        return None
    if not (isinstance(user, str) and _USER.fullmatch(user)):
        return None
    return HomeOpened(team, user, dm if isinstance(dm, str) and _DM.fullmatch(dm) else None)


@dataclass(frozen=True, slots=True)
class Workspace:
    """What an admin sees: the month per assistant (display name) and the busiest channels."""

    total: Tokens
    limit: int
    by_assistant: Sequence[tuple[str, Tokens]]
    top_channels: Sequence[tuple[str, Tokens]]


@dataclass(frozen=True, slots=True)
class Org:
    """An org-wide install (Enterprise Grid): the installation, so the quota, is the org."""

    enterprise_id: str
    name: str | None = None  # as Slack gave it at install; None: the view says "this org"


def org_in_scope() -> Org | None:
    """The org when the request came through an org-wide install (OAuth mode), else None."""
    access = current_access()
    if access is None or not access.workspace.is_enterprise_install:
        return None
    enterprise_id = access.workspace.enterprise_id
    if not enterprise_id:
        return None
    return Org(enterprise_id, (access.enterprise_name or "").strip() or None)


@dataclass(frozen=True, slots=True)
class HomeFigures:
    """Everything the Home view shows, gathered before it is drawn (so drawing is pure)."""

    month: str  # YYYY-MM
    resets_at: datetime
    mine: Tokens
    my_limit: int  # 0: none
    exempt: bool  # an admin with no personal limit while others have one
    workspace_limit: int  # 0: none
    workspace_used: int
    dm_assistant: str  # display name
    assistants: int  # how many /glm-agent offers
    workspace: Workspace | None = None  # admins only
    org: Org | None = None  # an org-wide install: mine, workspace_* and workspace are the org's


def _percent(used: int, limit: int) -> int:
    return min(999, round(100 * used / limit)) if limit > 0 else 0


def _md(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=text)


def _org_name(org: Org, lang: Lang, *, limit: int | None = None) -> str:
    """The org as a sentence names it: its name, else "this org"."""
    if org.name is None:
        return t("home.this_org", lang)
    if limit is not None and len(org.name) > limit:
        return org.name[: limit - 1] + "…"
    return org.name


def home_view(f: HomeFigures, lang: Lang) -> View:
    """The Home tab for one person, in their language."""
    month = fmt.month(f.month, lang)
    reset = fmt.day(f.resets_at, lang)
    mine = f.mine
    # Sections are mrkdwn (the org's name escaped); the header is plain text.
    org = escape_mrkdwn(_org_name(f.org, lang)) if f.org is not None else None
    you = t(
        "home.you" if org is None else "home.you_org",
        lang,
        month=month,
        total=fmt.tokens(mine.total, lang),
        prompt=fmt.tokens(mine.prompt, lang),
        completion=fmt.tokens(mine.completion, lang),
        turns=fmt.tokens(mine.turns, lang),
        **({} if org is None else {"org": org}),
    )
    if f.my_limit > 0:
        limit_line = t(
            "home.quota",
            lang,
            limit=fmt.tokens(f.my_limit, lang),
            percent=_percent(mine.total, f.my_limit),
            reset=reset,
        )
    else:
        limit_line = t("home.quota_exempt" if f.exempt else "home.no_quota", lang)
    lines = [you, limit_line]
    if f.workspace_limit > 0:
        lines.append(
            t(
                "home.workspace_quota" if org is None else "home.org_quota",
                lang,
                limit=fmt.tokens(f.workspace_limit, lang),
                percent=_percent(f.workspace_used, f.workspace_limit),
                reset=reset,
                **({} if org is None else {"org": org}),
            )
        )
    blocks: list[Block] = [
        HeaderBlock(text=t("home.title", lang, month=month)),
        SectionBlock(text=_md("\n".join(lines))),
        SectionBlock(
            text=_md(
                t(
                    "home.assistant",
                    lang,
                    agent=escape_mrkdwn(f.dm_assistant),
                    count=f.assistants,
                )
            )
        ),
    ]
    if f.workspace is not None:
        blocks.extend(_workspace_blocks(f.workspace, _admin_title(f.org, month, lang), lang))
    blocks.append(ContextBlock(elements=[_md(t("home.footer", lang))]))
    return View(type="home", blocks=blocks)


def _admin_title(org: Org | None, month: str, lang: Lang) -> str:
    """The admin section's header: the workspace, or the org it stands for."""
    if org is None:
        return t("home.admin_title", lang, month=month)
    if org.name is None:
        return t("home.org_title_unnamed", lang, month=month)
    return t("home.org_title", lang, org=_org_name(org, lang, limit=ORG_NAME_CHARS), month=month)


def _workspace_blocks(w: Workspace, title: str, lang: Lang) -> list[Block]:
    total = t(
        "home.admin_total",
        lang,
        total=fmt.tokens(w.total.total, lang),
        prompt=fmt.tokens(w.total.prompt, lang),
        completion=fmt.tokens(w.total.completion, lang),
        turns=fmt.tokens(w.total.turns, lang),
    )

    def lines(rows: Sequence[tuple[str, Tokens]]) -> str:
        if not rows:
            return t("home.nothing", lang)
        return "\n".join(
            t(
                "home.line",
                lang,
                name=name,
                total=fmt.tokens(tokens.total, lang),
                turns=fmt.tokens(tokens.turns, lang),
            )
            for name, tokens in rows
        )

    assistants = [(escape_mrkdwn(name), tokens) for name, tokens in w.by_assistant]
    channels = [(f"<#{channel}>", tokens) for channel, tokens in w.top_channels]
    return [
        DividerBlock(),
        HeaderBlock(text=title),
        SectionBlock(text=_md(total)),
        SectionBlock(text=_md(t("home.by_assistant", lang) + "\n" + lines(assistants))),
        SectionBlock(text=_md(t("home.top_channels", lang) + "\n" + lines(channels))),
    ]


class HomeTab:
    """Gathers a person's figures and publishes their Home tab."""

    def __init__(
        self,
        *,
        meter: UsageMeter,
        repo: Repository,
        catalogue: Catalogue,
        default_assistant_id: str,
        admins: frozenset[str],
        default_language: Lang = "en",
        use_slack_locale: bool = True,
    ) -> None:
        self._meter = meter
        self._repo = repo
        self._catalogue = catalogue
        self._default = default_assistant_id
        self._admins = admins
        self._default_language = default_language
        self._use_locale = use_slack_locale

    async def publish(self, client: AsyncWebClient, opened: HomeOpened) -> None:
        person = await self._person(client, opened.user_id)
        lang = self._lang(person)
        admin = self._is_admin(opened.user_id, person)
        figures = await self.figures(opened, admin=admin, org=org_in_scope())
        view = home_view(figures, lang)
        try:
            await client.views_publish(user_id=opened.user_id, view=view)
        except SlackApiError as exc:
            log.warning("could not publish the Home tab: %s", exc.response.get("error"))

    async def figures(
        self, opened: HomeOpened, *, admin: bool, org: Org | None = None
    ) -> HomeFigures:
        """The person's figures; with ``org`` (an org-wide install) over the whole org, the
        rows admission's quota reading sums, so the tab shows what the quota holds."""
        team, user = opened.team_id, opened.user_id
        enterprise_id = org.enterprise_id if org is not None else None
        now = self._meter.clock()
        month = month_key(now)
        store, policy = self._meter.store, self._meter.policy
        mine = await store.person(
            team_id=team, user_id=user, month=month, enterprise_id=enterprise_id
        )
        by_id = await store.by_assistant(team_id=team, month=month, enterprise_id=enterprise_id)
        workspace_total = Tokens(
            sum(x.prompt for x in by_id.values()),
            sum(x.completion for x in by_id.values()),
            sum(x.turns for x in by_id.values()),
        )
        workspace = None
        if admin:
            ranked = sorted(by_id.items(), key=lambda item: (-item[1].total, item[0]))
            workspace = Workspace(
                total=workspace_total,
                limit=policy.per_workspace,
                by_assistant=[(self._name(a), tokens) for a, tokens in ranked],
                top_channels=await store.top_channels(
                    team_id=team, month=month, limit=TOP_CHANNELS, enterprise_id=enterprise_id
                ),
            )
        return HomeFigures(
            month=month,
            resets_at=next_month_start(now),
            mine=mine,
            my_limit=policy.user_limit(user),
            exempt=policy.per_user > 0 and policy.user_limit(user) == 0,
            workspace_limit=policy.per_workspace,
            workspace_used=workspace_total.total,
            dm_assistant=await self._dm_assistant(team, opened.dm_channel_id),
            assistants=len(self._catalogue.agents),
            workspace=workspace,
            org=org,
        )

    def _name(self, assistant_id: str) -> str:
        try:
            return self._catalogue.by_id(assistant_id).display_name
        except ValueError:  # a row written by hand
            return assistant_id

    async def _dm_assistant(self, team_id: str, dm_channel_id: str | None) -> str:
        stored = None
        if dm_channel_id is not None:
            stored = await self._repo.get_channel_assistant(
                team_id=team_id, channel_id=dm_channel_id
            )
        return self._name(stored or self._default)

    def _is_admin(self, user_id: str, person: Mapping[str, Any]) -> bool:
        """AGENT_ADMIN_USER_IDS when set; otherwise the workspace's Slack admins and owners."""
        if self._admins:
            return user_id in self._admins
        return any(person.get(flag) is True for flag in ("is_admin", "is_owner"))

    def _lang(self, person: Mapping[str, Any]) -> Lang:
        if not self._use_locale:
            return self._default_language
        locale = person.get("locale")
        return lang_from_locale(locale if isinstance(locale, str) else None, self._default_language)

    async def _person(self, client: AsyncWebClient, user_id: str) -> Mapping[str, Any]:
        """``users.info`` (locale, admin flags); empty when Slack does not answer."""
        try:
            response = await client.users_info(user=user_id, include_locale=True)
        except SlackApiError as exc:
            log.info("users.info for the Home tab failed: %s", exc.response.get("error"))
            return {}
        user = response.get("user")
        return user if isinstance(user, Mapping) else {}


def register_home_tab(app: AsyncApp, tab: HomeTab) -> None:
    """Register before the Messages tab's listener: Bolt runs the first matching listener."""

    async def is_home(body: dict[str, Any]) -> bool:
        event = body.get("event")
        return isinstance(event, Mapping) and event.get("tab") == "home"

    @app.event("app_home_opened", matchers=[is_home])
    async def on_home_opened(body: dict[str, Any], client: AsyncWebClient) -> None:
        opened = parse_home_opened(body)
        if opened is None:
            log.info("app_home_opened (home) without a valid team/user; ignored")
            return
        try:
            await tab.publish(client, opened)
        except Exception:  # a database hiccup: the tab stays as it was
            log.exception("Home tab failed")
