"""OAuth on one deployment of two instances sharing PostgreSQL: the install page on one instance
and Slack's redirect on the other, two workspaces and a Grid org, a token refreshed exactly once
while both instances need it, a workspace uninstalled, another revoked, the org still answering.

Skipped, with the reason shown, only when PostgreSQL is unreachable.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest

from tests.conftest import RunningBot
from tests.e2e.test_oauth_install import _dump, replies_in, tokens_used, until_dump
from tests.fakes import FakeGLM, FakeSlack, Reply
from tests.oauth_helpers import (
    ENCRYPTION_KEY,
    install,
    land_on_redirect,
    mention_in,
    open_install_page,
)


@pytest.fixture
async def two_instances(
    bot_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    pg_url: str,
    fake_slack: FakeSlack,
) -> AsyncIterator[tuple[RunningBot, RunningBot]]:
    monkeypatch.delenv("SLACK_BOT_TOKEN")
    monkeypatch.setenv("DATABASE_URL", pg_url)
    monkeypatch.setenv("SLACK_CLIENT_ID", fake_slack.client_id)
    monkeypatch.setenv("SLACK_CLIENT_SECRET", fake_slack.client_secret)
    monkeypatch.setenv("SLACK_TOKEN_ENCRYPTION_KEY", ENCRYPTION_KEY)
    fake_slack.add_workspace("TA0001", "Acme", channels=("CA0001",))
    fake_slack.add_workspace("TB0001", "Beta", channels=("CB0001",))
    fake_slack.add_org("E0000001", "Grid Co", teams={"TE0001": ("CE0001",), "TE0002": ("CE0002",)})
    first, second = await asyncio.gather(RunningBot().start(), RunningBot().start())
    try:
        yield first, second
    finally:
        await first.stop()
        await second.stop()


async def test_two_workspaces_and_an_org_on_two_instances(
    two_instances: tuple[RunningBot, RunningBot],
    fake_slack: FakeSlack,
    fake_glm: FakeGLM,
) -> None:
    a, b = two_instances
    async with aiohttp.ClientSession(trust_env=False) as browser:
        # Installs: the page on one instance, Slack's redirect on the other.
        for target, page_on, redirect_to in (("TA0001", a, b), ("TB0001", b, a)):
            status, page = await install(
                browser, fake_slack, target, page_on=page_on.url, redirect_to=redirect_to.url
            )
            assert status == 200, page
        fake_slack.token_lifetime = 60  # the org's token needs refreshing at once
        status, _ = await install(
            browser, fake_slack, "E0000001", page_on=a.url, redirect_to=b.url, rotation=True
        )
        assert status == 200
        fake_slack.token_lifetime = 43_200

        # One state, two redirects racing to two instances: one code exchange only.
        page = await open_install_page(browser, a.url)
        code = fake_slack.authorize_code("TA0001")
        exchanges = len(fake_slack.calls_to("oauth.v2.access"))
        results = await asyncio.gather(
            *(
                land_on_redirect(browser, x.url, code=code, state=page.state, cookie=page.cookie)
                for x in (a, b)
            )
        )
        assert sorted(status for status, _ in results) == [200, 401]
        assert len(fake_slack.calls_to("oauth.v2.access")) == exchanges + 1

    # A mention in each workspace, answered with its own token; the org's two workspaces ask
    # at once on both instances, and its token is refreshed exactly once.
    fake_glm.enqueue(*(Reply(chunks=["answer"]) for _ in range(4)))
    asks = [
        (a, "TA0001", "CA0001", None),
        (b, "TB0001", "CB0001", None),
        (a, "E0000001", "CE0001", "TE0001"),
        (b, "E0000001", "CE0002", "TE0002"),
    ]
    events = [mention_in(fake_slack, t, c, "hello", team=team) for _, t, c, team in asks]
    await asyncio.gather(
        *(
            bot.slack.event(event, **env)
            for (bot, *_), (event, env) in zip(asks, events, strict=True)
        )
    )
    await a.wait_handled(2)
    await b.wait_handled(2)
    refreshes = [
        c
        for c in fake_slack.calls_to("oauth.v2.access")
        if c.args.get("grant_type") == "refresh_token"
    ]
    assert len(refreshes) == 1 and refreshes[0].ok, fake_slack.describe_calls()
    for (_, target, channel, _team), (event, _env) in zip(asks, events, strict=True):
        assert [m.text for m in replies_in(fake_slack, target, channel, event["ts"])] == ["answer"]
        current = fake_slack.tokens_of(target)[-1]
        assert tokens_used(fake_slack, channel) == {current.token}
    dump = repr(await _dump(a))
    assert not any(i.token in dump for i in fake_slack.issued.values())  # a dump shows no token

    # Workspace A uninstalls (the event reaches instance B): nothing of it stays.
    fake_slack.revoke("TA0001")
    await b.slack.event(
        {"type": "app_uninstalled", "event_ts": "1700000100.000100"},
        team_id="TA0001",
        bot_user_id="UBTA0001",
    )
    await until_dump(a, lambda d: "TA0001" not in repr(d) and "CA0001" not in repr(d))
    # ...and its late retry, on the other instance, starts nothing.
    calls, asked = len(fake_slack.calls), len(fake_glm.requests)
    event, env = mention_in(fake_slack, "TA0001", "CA0001", "late")
    assert (await a.slack.event(event, retry_num=2, **env)).status == 200
    assert (len(fake_slack.calls), len(fake_glm.requests)) == (calls, asked)

    # Workspace B's tokens are revoked (event on A); B's next mention, on B, starts nothing.
    fake_slack.revoke("TB0001")
    await a.slack.event(
        {"type": "tokens_revoked", "tokens": {"oauth": [], "bot": ["UBTB0001"]}},
        team_id="TB0001",
        bot_user_id="UBTB0001",
    )
    await until_dump(a, lambda d: "TB0001" not in repr(d["slack_installations"]))
    calls = len(fake_slack.calls)
    event, env = mention_in(fake_slack, "TB0001", "CB0001", "anyone?")
    await b.slack.event(event, **env)
    assert len(fake_slack.calls) == calls

    # The org still answers, on both instances.
    fake_glm.enqueue(Reply(chunks=["org still here"]))
    event, env = mention_in(fake_slack, "E0000001", "CE0001", "still?", team="TE0001")
    await b.slack.event(event, **env)
    await b.wait_handled(3)
    assert [m.text for m in replies_in(fake_slack, "E0000001", "CE0001", event["ts"])] == [
        "org still here"
    ]
    _, metrics = await a.get_text("/metrics")
    assert "glm_bot_installations 1.0" in metrics
