"""Installing the bot by OAuth the way a person does it, against the fake Slack.

A browser opens ``/slack/install`` on one instance, follows the *Add to Slack* link to Slack
(here: the fake issues the code Slack would redirect with), and lands on
``/slack/oauth_redirect`` — on whichever instance the load balancer picks — with the state in
the query string and in the ``slack-app-oauth-state`` cookie the install page set.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import unescape
from urllib.parse import parse_qs, urlsplit

import aiohttp

from tests.fakes import FakeSlack, mention_event

ENCRYPTION_KEY = "kIqV5xD0oJx7f2rM8fH2H1p0m3Q9vQp6cX1bL4zW8sE="
COOKIE = "slack-app-oauth-state"


@dataclass
class InstallPage:
    state: str
    cookie: str
    query: dict[str, list[str]]


async def open_install_page(session: aiohttp.ClientSession, base: str) -> InstallPage:
    async with session.get(f"{base}/slack/install") as resp:
        assert resp.status == 200, await resp.text()
        page = await resp.text()
        cookie = resp.cookies[COOKIE].value
    match = re.search(r'href="(https://slack\.com/oauth/v2/authorize\?[^"]+)"', page)
    assert match, page
    query = parse_qs(urlsplit(unescape(match.group(1))).query, keep_blank_values=True)
    return InstallPage(state=query["state"][0], cookie=cookie, query=query)


async def land_on_redirect(
    session: aiohttp.ClientSession,
    base: str,
    *,
    code: str | None,
    state: str | None,
    cookie: str | None,
) -> tuple[int, str]:
    params = {k: v for k, v in (("code", code), ("state", state)) if v is not None}
    headers = {"Cookie": f"{COOKIE}={cookie}"} if cookie else {}
    async with session.get(f"{base}/slack/oauth_redirect", params=params, headers=headers) as resp:
        return resp.status, await resp.text()


async def install(
    session: aiohttp.ClientSession,
    fake: FakeSlack,
    target: str,
    *,
    page_on: str,
    redirect_to: str,
    rotation: bool = False,
) -> tuple[int, str]:
    page = await open_install_page(session, page_on)
    code = fake.authorize_code(target, rotation=rotation)
    return await land_on_redirect(
        session, redirect_to, code=code, state=page.state, cookie=page.cookie
    )


async def installed(
    session: aiohttp.ClientSession, fake: FakeSlack, bot_url: str, *targets: str
) -> None:
    """Install the app into each of ``targets`` through ``bot_url``'s real routes; each must
    end on the "installed" page."""
    for target in targets:
        status, page = await install(session, fake, target, page_on=bot_url, redirect_to=bot_url)
        assert status == 200 and "installed" in page.lower(), (status, page)


def org_authorizations(enterprise_id: str, bot_user_id: str) -> list[dict]:
    """An org-wide install's ``authorizations``: the org, no team (docs §9)."""
    return [
        {
            "enterprise_id": enterprise_id,
            "team_id": None,
            "user_id": bot_user_id,
            "is_bot": True,
            "is_enterprise_install": True,
        }
    ]


def team_authorizations(
    team_id: str, bot_user_id: str, enterprise_id: str | None = None
) -> list[dict]:
    return [
        {
            "enterprise_id": enterprise_id,
            "team_id": team_id,
            "user_id": bot_user_id,
            "is_bot": True,
            "is_enterprise_install": False,
        }
    ]


def mention_in(
    fake: FakeSlack, target: str, channel: str, text: str, *, team: str | None = None
) -> tuple[dict, dict]:
    """A mention of the bot of ``target`` in ``channel``, and the envelope keywords."""
    t = fake.targets[target]
    team_id = team or t.team_id
    assert team_id is not None
    event = mention_event(text, channel=channel, bot_user_id=t.bot_user_id, team=team_id)
    auths = (
        org_authorizations(t.enterprise_id or "", t.bot_user_id)
        if t.org_install
        else team_authorizations(team_id, t.bot_user_id, t.enterprise_id)
    )
    return event, {"team_id": team_id, "bot_user_id": t.bot_user_id, "authorizations": auths}
