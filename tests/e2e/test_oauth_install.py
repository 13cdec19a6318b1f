"""OAuth mode on one instance (SQLite): install through the real routes, answer each workspace
with its own token, refuse bad installs clearly, forget a workspace that leaves."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
import pytest
import sqlalchemy as sa

from bot.store.db import make_engine
from tests.bot_process import BotProcess
from tests.conftest import RunningBot
from tests.e2e.test_home_tab import DECEMBER, open_home, text_of
from tests.e2e.test_usage_quotas import MonthClock, costs
from tests.fakes import FakeGLM, FakeSlack, Reply, event_envelope
from tests.fakes.slack import DROPPED
from tests.fakes.slack_oauth import exchanging_code
from tests.oauth_helpers import (
    ENCRYPTION_KEY,
    install,
    installed,
    land_on_redirect,
    mention_in,
    open_install_page,
)


@pytest.fixture
def oauth_env(
    bot_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, fake_slack: FakeSlack
) -> dict[str, str]:
    monkeypatch.delenv("SLACK_BOT_TOKEN")
    env = {
        "SLACK_CLIENT_ID": fake_slack.client_id,
        "SLACK_CLIENT_SECRET": fake_slack.client_secret,
        "SLACK_TOKEN_ENCRYPTION_KEY": ENCRYPTION_KEY,
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    fake_slack.add_workspace("TA0001", "Acme", channels=("CA0001",))
    fake_slack.add_workspace("TB0001", "Beta", channels=("CB0001",))
    fake_slack.add_org("E0000001", "Grid Co", teams={"TE0001": ("CE0001",), "TE0002": ("CE0002",)})
    return {**bot_env, **env}


@pytest.fixture
async def oauth_bot(oauth_env: dict[str, str]) -> AsyncIterator[RunningBot]:
    bot = await RunningBot().start()
    yield bot
    await bot.stop()


@pytest.fixture
async def browser() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(trust_env=False) as session:
        yield session


def replies_in(fake: FakeSlack, target: str, channel: str, ts: str) -> list:
    bot = fake.targets[target].bot_user_id
    return [m for m in fake.messages(channel, ts) if m.ts != ts and m.user == bot]


def tokens_used(fake: FakeSlack, channel: str) -> set[str]:
    return {
        c.headers.get("Authorization", "").removeprefix("Bearer ")
        for c in fake.calls
        if c.args.get("channel") == channel
    }


async def ask(bot: RunningBot, fake: FakeSlack, target: str, channel: str, text: str, **kw) -> dict:
    event, envelope = mention_in(fake, target, channel, text, **kw)
    resp = await bot.slack.event(event, **envelope)
    assert resp.status == 200
    return event


async def test_two_workspaces_and_an_org_each_answered_with_their_own_token(
    oauth_bot: RunningBot,
    fake_slack: FakeSlack,
    fake_glm: FakeGLM,
    browser: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    status, _ = await oauth_bot.get("/healthz")
    assert status == 200  # healthy with zero installations
    for target in ("TA0001", "TB0001", "E0000001"):
        await installed(browser, fake_slack, oauth_bot.url, target)

    asked = []
    for target, channel, team in (
        ("TA0001", "CA0001", None),
        ("TB0001", "CB0001", None),
        ("E0000001", "CE0002", "TE0002"),
    ):
        fake_glm.enqueue(Reply(chunks=["hello from GLM"]))
        asked.append(
            (target, channel, await ask(oauth_bot, fake_slack, target, channel, "hi", team=team))
        )
    await oauth_bot.wait_handled(3)
    # Each workspace's own bot mention (<@UBTA0001>, <@UBE0000001>…) is stripped.
    assert [r.user_text for r in fake_glm.requests] == ["hi", "hi", "hi"]
    for target, channel, event in asked:
        (reply,) = replies_in(fake_slack, target, channel, event["ts"])
        assert reply.text == "hello from GLM"
        (issued,) = fake_slack.tokens_of(target)
        assert tokens_used(fake_slack, channel) == {issued.token}, fake_slack.describe_calls()

    # A dump of the database reveals no token.
    engine = make_engine(oauth_env_url(oauth_bot))
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(sa.text("SELECT * FROM slack_installations"))).all()
            rows += (await conn.execute(sa.text("SELECT * FROM slack_bots"))).all()
    finally:
        await engine.dispose()
    dump = repr(rows)
    assert len(rows) == 6
    for issued in fake_slack.issued.values():
        assert issued.token not in dump
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for issued in fake_slack.issued.values():
        assert issued.token not in logged
    assert fake_slack.client_secret not in logged

    status, text = await oauth_bot.get_text("/metrics")
    assert "glm_bot_installations 3.0" in text


def oauth_env_url(bot: RunningBot) -> str:
    return bot.bot.settings.database_url


async def test_forged_missing_and_reused_state_and_reused_code_are_refused(
    oauth_bot: RunningBot, fake_slack: FakeSlack, browser: aiohttp.ClientSession
) -> None:
    page = await open_install_page(browser, oauth_bot.url)
    assert page.query["client_id"] == [fake_slack.client_id]
    code = fake_slack.authorize_code("TA0001")
    # forged state (with a cookie to match): refused, the code is never exchanged
    status, text = await land_on_redirect(
        browser, oauth_bot.url, code=code, state="forged", cookie="forged"
    )
    assert status == 401 and "expired or was already used" in text
    # no state at all
    status, text = await land_on_redirect(
        browser, oauth_bot.url, code=code, state=None, cookie=None
    )
    assert status == 400 and "incomplete" in text
    assert not fake_slack.calls_to("oauth.v2.access")
    # the real state works once...
    status, _ = await land_on_redirect(
        browser, oauth_bot.url, code=code, state=page.state, cookie=page.cookie
    )
    assert status == 200
    # ...and never again, even with a fresh code
    status, text = await land_on_redirect(
        browser,
        oauth_bot.url,
        code=fake_slack.authorize_code("TA0001"),
        state=page.state,
        cookie=page.cookie,
    )
    assert status == 401 and "already used" in text
    assert len(fake_slack.calls_to("oauth.v2.access")) == 1
    # a reused code with a fresh state: Slack refuses it, and the page says so
    page2 = await open_install_page(browser, oauth_bot.url)
    status, text = await land_on_redirect(
        browser, oauth_bot.url, code=code, state=page2.state, cookie=page2.cookie
    )
    assert status == 401 and "already used or has expired" in text
    assert fake_slack.calls_to("oauth.v2.access")[-1].response == {
        "ok": False,
        "error": "invalid_code",
    }


async def _dump(bot: RunningBot) -> dict[str, list]:
    """Every row of every table (what a database dump would show)."""
    engine = make_engine(oauth_env_url(bot))
    out: dict[str, list] = {}
    try:
        async with engine.connect() as conn:
            names = await conn.run_sync(lambda c: sa.inspect(c).get_table_names())
            for name in names:
                out[name] = [
                    tuple(r) for r in (await conn.execute(sa.text(f'SELECT * FROM "{name}"'))).all()
                ]
    finally:
        await engine.dispose()
    return out


async def until_dump(
    bot: RunningBot, done: Callable[[dict[str, list]], bool], timeout: float = 5.0
) -> dict[str, list]:
    """The database once ``done`` holds. Bolt runs event listeners after the ack and offers no
    completion signal, so this re-reads the database (bounded) until the listener's
    transaction is visible."""
    async with asyncio.timeout(timeout):
        while not done(dump := await _dump(bot)):  # noqa: ASYNC110 (a database state)
            await asyncio.sleep(0.02)
    return dump


async def test_uninstall_forgets_the_workspace_and_revocation_its_tokens(
    oauth_bot: RunningBot,
    fake_slack: FakeSlack,
    fake_glm: FakeGLM,
    browser: aiohttp.ClientSession,
) -> None:
    for target in ("TA0001", "TB0001", "E0000001"):
        await installed(browser, fake_slack, oauth_bot.url, target)
    events = [
        await ask(oauth_bot, fake_slack, "TA0001", "CA0001", "remember me"),
        await ask(oauth_bot, fake_slack, "TB0001", "CB0001", "and me"),
        await ask(oauth_bot, fake_slack, "E0000001", "CE0001", "org here", team="TE0001"),
    ]
    await oauth_bot.wait_handled(3)
    before = await _dump(oauth_bot)
    assert any("TA0001" in repr(row) for row in before["threads"])
    assert any("TA0001" in repr(row) for row in before["usage_monthly"])  # what it cost too

    # Workspace A uninstalls: Slack revokes its tokens, then sends app_uninstalled.
    fake_slack.revoke("TA0001")
    resp = await oauth_bot.slack.event(
        {"type": "app_uninstalled", "event_ts": "1700000100.000100"},
        team_id="TA0001",
        bot_user_id="UBTA0001",
        authorizations=[
            {
                "enterprise_id": None,
                "team_id": "TA0001",
                "user_id": "UBTA0001",
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
    )
    assert resp.status == 200
    dump = await until_dump(oauth_bot, lambda d: "TA0001" not in repr(d))
    leftovers = {
        name: rows
        for name, rows in dump.items()
        if "TA0001" in repr(rows) or "CA0001" in repr(rows)
    }
    assert leftovers == {}, leftovers
    assert any("TB0001" in repr(row) for row in dump["threads"])  # the others keep theirs

    # A late retry of workspace A's mention starts no turn and makes no Slack call.
    calls, asks = len(fake_slack.calls), len(fake_glm.requests)
    event, envelope = mention_in(fake_slack, "TA0001", "CA0001", "still there?")
    resp = await oauth_bot.slack.event(event, retry_num=1, **envelope)
    assert resp.status == 200
    assert (len(fake_slack.calls), len(fake_glm.requests)) == (calls, asks)

    # Workspace B's bot token is revoked: its installation (the token) is deleted at once.
    fake_slack.revoke("TB0001")
    resp = await oauth_bot.slack.event(
        {"type": "tokens_revoked", "tokens": {"oauth": [], "bot": ["UBTB0001"]}},
        team_id="TB0001",
        bot_user_id="UBTB0001",
    )
    assert resp.status == 200
    dump = await until_dump(oauth_bot, lambda d: "TB0001" not in repr(d["slack_installations"]))
    assert not any("TB0001" in repr(r) for r in dump["slack_installations"] + dump["slack_bots"])
    calls = len(fake_slack.calls)
    event, envelope = mention_in(fake_slack, "TB0001", "CB0001", "hello?")
    await oauth_bot.slack.event(event, **envelope)
    assert len(fake_slack.calls) == calls

    # The org still answers, in another of its workspaces, with its own token.
    fake_glm.enqueue(Reply(chunks=["org answer"]))
    event = await ask(oauth_bot, fake_slack, "E0000001", "CE0002", "still here", team="TE0002")
    await oauth_bot.wait_handled(4)
    (reply,) = replies_in(fake_slack, "E0000001", "CE0002", event["ts"])
    assert reply.text == "org answer"
    assert events  # (the first three were answered before anyone left)


async def test_a_rotating_token_is_refreshed_before_it_expires_once(
    oauth_bot: RunningBot,
    fake_slack: FakeSlack,
    fake_glm: FakeGLM,
    browser: aiohttp.ClientSession,
) -> None:
    fake_slack.token_lifetime = 60  # inside the bot's refresh margin (120 minutes) at once
    status, _ = await install(
        browser,
        fake_slack,
        "TB0001",
        page_on=oauth_bot.url,
        redirect_to=oauth_bot.url,
        rotation=True,
    )
    assert status == 200
    (first,) = fake_slack.tokens_of("TB0001")
    assert first.token.startswith("xoxe.xoxb-")
    fake_slack.token_lifetime = 43_200
    fake_glm.enqueue(Reply(chunks=["fresh"]), Reply(chunks=["still fresh"]))
    one = await ask(oauth_bot, fake_slack, "TB0001", "CB0001", "first")
    await oauth_bot.wait_handled(1)
    two = await ask(oauth_bot, fake_slack, "TB0001", "CB0001", "second")
    await oauth_bot.wait_handled(2)

    refreshes = [
        c
        for c in fake_slack.calls_to("oauth.v2.access")
        if c.args.get("grant_type") == "refresh_token"
    ]
    assert len(refreshes) == 1 and refreshes[0].ok
    assert len(fake_slack.used_refresh_tokens) == 1
    _, second = fake_slack.tokens_of("TB0001")
    assert tokens_used(fake_slack, "CB0001") == {second.token}  # the old one never again
    assert [m.text for m in replies_in(fake_slack, "TB0001", "CB0001", one["ts"])] == ["fresh"]
    assert [m.text for m in replies_in(fake_slack, "TB0001", "CB0001", two["ts"])] == [
        "still fresh"
    ]
    dump = repr(await _dump(oauth_bot))
    assert second.token not in dump and "xoxe-1-" not in dump  # neither token nor refresh token
    _, metrics = await oauth_bot.get_text("/metrics")
    assert 'glm_bot_token_refreshes_total{outcome="ok"} 1.0' in metrics


async def test_allowed_team_ids_narrows_who_may_install(
    oauth_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    fake_slack: FakeSlack,
    fake_glm: FakeGLM,
    browser: aiohttp.ClientSession,
) -> None:
    monkeypatch.setenv("ALLOWED_TEAM_IDS", "TA0001, E0000001")
    bot = await RunningBot().start()
    try:
        status, page = await install(
            browser, fake_slack, "TB0001", page_on=bot.url, redirect_to=bot.url
        )
        assert status == 403 and "may not install" in page
        (issued,) = fake_slack.tokens_of("TB0001")
        assert issued.revoked  # the refused install's fresh token is revoked, never stored
        assert (await _dump(bot))["slack_installations"] == []
        for target in ("TA0001", "E0000001"):
            await installed(browser, fake_slack, bot.url, target)
        # Listing the org lets each of its workspaces ask, not only install.
        fake_glm.enqueue(Reply(chunks=["org member answered"]))
        event = await ask(bot, fake_slack, "E0000001", "CE0002", "may I?", team="TE0002")
        await bot.wait_handled(1)
        assert [m.text for m in replies_in(fake_slack, "E0000001", "CE0002", event["ts"])] == [
            "org member answered"
        ]
    finally:
        await bot.stop()


async def test_a_refused_install_whose_token_cannot_be_revoked_still_gets_its_page(
    oauth_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    fake_slack: FakeSlack,
    browser: aiohttp.ClientSession,
) -> None:
    """The refused install's token is revoked at once; Slack not answering that auth.revoke
    (a reset) must not turn the refusal page into an HTTP 500."""
    monkeypatch.setenv("ALLOWED_TEAM_IDS", "TA0001")
    bot = await RunningBot().start()
    try:
        # Every attempt is dropped, however often the clients send it again (auth.revoke is a
        # GET, which aiohttp itself repeats once after a reset, RFC 9112 §9.3.1).
        fake_slack.fail("auth.revoke", drop=True, times=10)
        status, page = await install(
            browser, fake_slack, "TB0001", page_on=bot.url, redirect_to=bot.url
        )
        assert status == 403 and "may not install" in page
        revokes = fake_slack.calls_to("auth.revoke")
        assert revokes and all(c.status == DROPPED for c in revokes)
        fake_slack.clear_faults()
        assert (await _dump(bot))["slack_installations"] == []
    finally:
        await bot.stop()


async def test_a_wrong_client_secret_is_a_clear_refusal(
    oauth_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    fake_slack: FakeSlack,
    browser: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("SLACK_CLIENT_SECRET", "not-the-app-secret")
    bot = await RunningBot().start()
    try:
        status, page = await install(
            browser, fake_slack, "TA0001", page_on=bot.url, redirect_to=bot.url
        )
        assert status == 401
        assert "SLACK_CLIENT_SECRET" in page and "did not accept" in page
        assert fake_slack.calls_to("oauth.v2.access")[-1].response == {
            "ok": False,
            "error": "bad_client_secret",
        }
        assert "bad_client_secret" in caplog.text  # the operator's log names the cause
        assert "not-the-app-secret" not in caplog.text
        assert (await _dump(bot))["slack_installations"] == []
    finally:
        await bot.stop()


@pytest.mark.parametrize(
    ("error", "status", "page_status", "title"),
    [
        ("invalid_code", 200, 401, "Slack did not accept this installation"),
        ("internal_error", 500, 502, "Slack had a problem"),
    ],
    ids=["refused", "5xx"],
)
async def test_a_failed_code_exchange_logs_neither_the_code_nor_the_state(
    oauth_bot: RunningBot,
    fake_slack: FakeSlack,
    browser: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
    error: str,
    status: int,
    page_status: int,
    title: str,
) -> None:
    page = await open_install_page(browser, oauth_bot.url)
    code = fake_slack.authorize_code("TA0001")
    fake_slack.fail("oauth.v2.access", error, status=status, retry_after=None, when=exchanging_code)
    got, text = await land_on_redirect(
        browser, oauth_bot.url, code=code, state=page.state, cookie=page.cookie
    )
    assert got == page_status and title in text  # the friendly page
    assert fake_slack.calls_to("oauth.v2.access")[-1].args["code"] == code  # sent, and refused
    logged = caplog.text + "".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert error in logged  # the operator still learns why
    assert code not in logged and page.state not in logged


async def test_slack_failing_the_code_exchange_is_not_called_a_refused_code(
    oauth_bot: RunningBot,
    fake_slack: FakeSlack,
    browser: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Slack answering oauth.v2.access with a 5xx is Slack's outage, not a used code or wrong
    credentials: the page says to try again, the log says what Slack answered, and trying
    again installs."""
    page = await open_install_page(browser, oauth_bot.url)
    code = fake_slack.authorize_code("TA0001")
    fake_slack.fail(
        "oauth.v2.access", "internal_error", status=500, retry_after=None, when=exchanging_code
    )
    got, text = await land_on_redirect(
        browser, oauth_bot.url, code=code, state=page.state, cookie=page.cookie
    )
    assert got == 502, text
    assert "Slack had a problem" in text and "try installing again" in text
    assert "credentials" not in text and "SLACK_CLIENT" not in text and "refused" not in text
    logged = caplog.text
    assert "oauth.v2.access" in logged and "HTTP 500" in logged and "internal_error" in logged
    assert code not in logged and page.state not in logged
    assert (await _dump(oauth_bot))["slack_installations"] == []

    await installed(browser, fake_slack, oauth_bot.url, "TA0001")


async def test_slack_unreachable_for_the_code_exchange_is_a_page_not_a_500(
    oauth_bot: RunningBot,
    fake_slack: FakeSlack,
    browser: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """No answer at all to oauth.v2.access (the connection reset mid-request, as a broken
    network path does): Bolt's flow catches only Slack's error answers, so this was a bare
    HTTP 500. Now it is the failure page saying Slack could not be reached; the exchange is
    not sent again with the same code (Slack may have spent it before the reset: a second
    exchange would be refused as a used code), and once Slack is back installing again works."""
    page = await open_install_page(browser, oauth_bot.url)
    code = fake_slack.authorize_code("TA0001")
    fake_slack.fail("oauth.v2.access", drop=True, times=3, when=exchanging_code)
    got, text = await land_on_redirect(
        browser, oauth_bot.url, code=code, state=page.state, cookie=page.cookie
    )
    assert got == 502, text
    assert "Slack could not be reached" in text and "try installing again" in text
    assert "credentials" not in text and "SLACK_CLIENT" not in text
    assert [c.status for c in fake_slack.calls_to("oauth.v2.access")] == [DROPPED]
    fake_slack.clear_faults()  # the network is back
    logged = caplog.text
    assert "oauth.v2.access" in logged and "ClientOSError" in logged  # the cause, for operators
    assert code not in logged and page.state not in logged
    assert (await _dump(oauth_bot))["slack_installations"] == []

    await installed(browser, fake_slack, oauth_bot.url, "TA0001")


async def test_the_process_log_shows_no_code_state_or_token_even_at_debug_level(
    oauth_env: dict[str, str],
    fake_slack: FakeSlack,
    browser: aiohttp.ClientSession,
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in oauth_env.items() if k != "SLACK_BOT_TOKEN"}
    bot = await BotProcess(tmp_path, LOG_LEVEL="DEBUG", **env).start()
    stderr = asyncio.create_task(bot.rest_of_stderr())  # read as written: a full pipe stalls it
    codes: list[str] = []
    states: list[str] = []
    try:
        for target, fails in (("TA0001", False), ("TB0001", True)):
            page = await open_install_page(browser, bot.url)
            code = fake_slack.authorize_code(target, rotation=True)
            if fails:
                fake_slack.fail("oauth.v2.access", "invalid_code", when=exchanging_code)
            got, text = await land_on_redirect(
                browser, bot.url, code=code, state=page.state, cookie=page.cookie
            )
            assert got == (401 if fails else 200), text
            codes.append(code)
            states.append(page.state)
        bot.signal(signal.SIGTERM)
        assert await bot.wait(30) == 0
    finally:
        await bot.kill()
        logged = await asyncio.wait_for(stderr, 10)
    assert "invalid_code" in logged and " DEBUG " in logged
    (issued,) = fake_slack.tokens_of("TA0001")
    (refresh,) = fake_slack._refresh_tokens
    for secret in [*codes, issued.token, refresh, fake_slack.client_secret, ENCRYPTION_KEY]:
        assert secret not in logged  # slack_sdk's DEBUG lines print the form and the answer
    for state in states:
        assert state not in logged  # aiosqlite's DEBUG lines printed every SQL parameter


async def test_check_reports_credentials_and_each_installation(
    oauth_env: dict[str, str],
    oauth_bot: RunningBot,
    fake_slack: FakeSlack,
    browser: aiohttp.ClientSession,
    tmp_path: Path,
) -> None:
    from tests.bot_process import process_env

    await install(browser, fake_slack, "TA0001", page_on=oauth_bot.url, redirect_to=oauth_bot.url)
    await install(
        browser,
        fake_slack,
        "E0000001",
        page_on=oauth_bot.url,
        redirect_to=oauth_bot.url,
        rotation=True,
    )
    await install(browser, fake_slack, "TB0001", page_on=oauth_bot.url, redirect_to=oauth_bot.url)
    fake_slack.revoke("TB0001")
    env = {k: v for k, v in oauth_env.items() if k != "SLACK_BOT_TOKEN"}

    async def check(**extra: str) -> tuple[int, str]:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "check",
            cwd=tmp_path,
            env=process_env(**{**env, **extra}),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode is not None
        return proc.returncode, (out + err).decode()

    code, out = await check()
    assert code == 1, out  # one installation's token is revoked
    assert "✔ Slack client credentials: accepted" in out
    assert "✔ Installations: 3 workspace(s)/org(s)" in out
    assert "T:-:TA0001: token valid: bot UBTA0001 in Acme" in out
    assert "E:E0000001: token valid" in out and "expiring in 12.0 h" in out
    assert "✘   T:-:TB0001: token revoked" in out
    assert "✔ Database" in out
    for issued in fake_slack.issued.values():
        assert issued.token not in out

    code, out = await check(SLACK_CLIENT_SECRET="wrong-secret-value")
    assert "✘ Slack client credentials: rejected (bad_client_secret)" in out
    assert "wrong-secret-value" not in out


async def test_socket_mode_still_serves_the_install_routes_and_answers_by_workspace(
    oauth_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    fake_slack: FakeSlack,
    fake_glm: FakeGLM,
    browser: aiohttp.ClientSession,
) -> None:
    monkeypatch.setenv("SLACK_APP_TOKEN", fake_slack.app_token)
    bot = await RunningBot().start()
    try:
        await fake_slack.wait_for(lambda f: f.sockets, what="the Socket Mode connection")
        await installed(browser, fake_slack, bot.url, "TB0001")
        fake_glm.enqueue(Reply(chunks=["over the socket"]))
        event, envelope = mention_in(fake_slack, "TB0001", "CB0001", "hi")
        await fake_slack.socket_send(event_envelope(event, **envelope))
        await bot.wait_handled(1)
        assert [m.text for m in replies_in(fake_slack, "TB0001", "CB0001", event["ts"])] == [
            "over the socket"
        ]
        (issued,) = fake_slack.tokens_of("TB0001")
        assert tokens_used(fake_slack, "CB0001") == {issued.token}
    finally:
        await bot.stop()


async def test_the_messages_tab_uses_the_workspace_s_token(
    oauth_bot: RunningBot,
    fake_slack: FakeSlack,
    fake_glm: FakeGLM,
    browser: aiohttp.ClientSession,
) -> None:
    """The agent surface calls Slack outside the turn (suggested prompts on opening the tab):
    it too runs in the request's workspace scope."""
    from tests.fakes.slack_requests import app_home_opened_event

    fake_slack.add_workspace("TD0001", "Delta", channels=("DD0001",))
    for target in ("TA0001", "TD0001"):
        await installed(browser, fake_slack, oauth_bot.url, target)
    (delta,) = fake_slack.tokens_of("TD0001")
    _, envelope = mention_in(fake_slack, "TD0001", "DD0001", "x")
    resp = await oauth_bot.slack.event(app_home_opened_event(channel="DD0001"), **envelope)
    assert resp.status == 200
    call = await fake_slack.wait_for_call("assistant.threads.setSuggestedPrompts")
    assert call.ok and call.headers["Authorization"] == f"Bearer {delta.token}"


async def test_crash_recovery_edits_each_workspace_s_reply_with_its_own_token(
    oauth_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    fake_slack: FakeSlack,
    fake_glm: FakeGLM,
    browser: aiohttp.ClientSession,
) -> None:
    """Background work has no request: the survivor finds each reply's installation by its
    team (an org's workspace through the org) and edits with that token."""
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.action_ids import RETRY_ACTION_ID
    from bot.store.repository import Repository
    from tests.e2e.test_recovery_state import buttons, streaming_blocks

    first = await RunningBot().start()
    try:
        for target in ("TA0001", "E0000001"):
            await installed(browser, fake_slack, first.url, target)
        await ask(first, fake_slack, "E0000001", "CE0001", "hello org", team="TE0001")
        await first.wait_handled(1)  # the org's workspace TE0001 is now known
    finally:
        await first.stop()

    repo = Repository(make_engine(oauth_env["DATABASE_URL"]))
    roots = {}
    for target, team, channel in (("TA0001", "TA0001", "CA0001"), ("E0000001", "TE0001", "CE0001")):
        root = fake_slack.add_message(channel, "<@UB> question")
        client = AsyncWebClient(
            token=fake_slack.tokens_of(target)[0].token, base_url=fake_slack.api_url
        )
        await client.chat_postMessage(
            channel=channel,
            thread_ts=root,
            text="half",
            blocks=streaming_blocks("half", turn_id=f"t-{team}"),
        )
        if client.session is not None:
            await client.session.close()
        await repo.start_reply(
            turn_id=f"t-{team}",
            team_id=team,
            channel_id=channel,
            thread_ts=root,
            user_id="U0001",
            assistant_id="65940acff94777010aa6b796",
            question="q",
            instance_id="crashed-instance",
            lang="en",
        )
        roots[target] = (channel, root)
    await repo.engine.dispose()

    monkeypatch.setenv("INSTANCE_HEARTBEAT_SECONDS", "0.3")
    survivor = await RunningBot().start()
    try:
        for target, (channel, root) in roots.items():
            bot_user = fake_slack.targets[target].bot_user_id
            await fake_slack.wait_for(
                lambda f, c=channel, r=root, u=bot_user: any(
                    (RETRY_ACTION_ID, "Retry") in buttons(m)
                    for m in f.messages(c, r)
                    if m.user == u
                ),
                timeout=10,
                what=f"{target}'s interrupted reply",
            )
    finally:
        await survivor.stop()
    for target, (channel, _root) in roots.items():
        (issued,) = fake_slack.tokens_of(target)
        assert tokens_used(fake_slack, channel) == {issued.token}


async def test_an_org_uninstall_forgets_every_workspace_of_the_org(
    oauth_bot: RunningBot,
    fake_slack: FakeSlack,
    fake_glm: FakeGLM,
    browser: aiohttp.ClientSession,
) -> None:
    for target in ("TA0001", "E0000001"):
        await installed(browser, fake_slack, oauth_bot.url, target)
    await ask(oauth_bot, fake_slack, "E0000001", "CE0001", "one", team="TE0001")
    await ask(oauth_bot, fake_slack, "E0000001", "CE0002", "two", team="TE0002")
    await ask(oauth_bot, fake_slack, "TA0001", "CA0001", "three")
    await oauth_bot.wait_handled(3)
    fake_slack.revoke("E0000001")
    _, envelope = mention_in(fake_slack, "E0000001", "CE0001", "x", team="TE0001")
    resp = await oauth_bot.slack.event(
        {"type": "app_uninstalled", "event_ts": "1700000100.000100"}, **envelope
    )
    assert resp.status == 200
    gone = ("E0000001", "TE0001", "TE0002", "CE0001", "CE0002")
    dump = await until_dump(oauth_bot, lambda d: not any(x in repr(d) for x in gone))
    assert "TA0001" in repr(dump["threads"]) and "TA0001" in repr(dump["slack_installations"])


async def test_an_answer_streaming_when_its_workspace_uninstalls_stops_at_once(
    oauth_bot: RunningBot,
    fake_slack: FakeSlack,
    fake_glm: FakeGLM,
    browser: aiohttp.ClientSession,
) -> None:
    """No token is left to show it with, so the upstream stream is closed rather than read (and
    billed) to its end, and the turn ends instead of retrying edits nobody can see."""
    await installed(browser, fake_slack, oauth_bot.url, "TA0001")
    fake_glm.enqueue(Reply(chunks=["word "] * 200, chunk_delay=0.05))  # about 10 s
    event = await ask(oauth_bot, fake_slack, "TA0001", "CA0001", "a long one")
    await fake_slack.wait_for(
        lambda f: bool(replies_in(f, "TA0001", "CA0001", event["ts"])), what="the first text"
    )
    fake_slack.revoke("TA0001")
    resp = await oauth_bot.slack.event(
        {"type": "app_uninstalled", "event_ts": "1700000100.000100"},
        team_id="TA0001",
        bot_user_id="UBTA0001",
    )
    assert resp.status == 200
    stream = await fake_glm.wait_for_stream_state("client_closed", "completed", timeout=12)
    assert stream.state == "client_closed", "the answer was read to its end"
    await oauth_bot.wait_handled(1)


async def test_an_org_wide_install_has_one_quota_for_the_whole_org(
    oauth_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    fake_slack: FakeSlack,
    fake_glm: FakeGLM,
    browser: aiohttp.ClientSession,
) -> None:
    monkeypatch.setenv("MONTHLY_TOKENS_PER_WORKSPACE", "1000")
    bot = await RunningBot().start()
    try:
        await installed(browser, fake_slack, bot.url, "E0000001")
        fake_glm.enqueue(costs(900, 200))  # crosses the org's 1,000 in workspace TE0001
        await ask(bot, fake_slack, "E0000001", "CE0001", "first", team="TE0001")
        await bot.wait_handled(1)
        await ask(bot, fake_slack, "E0000001", "CE0002", "second", team="TE0002")
        await bot.wait_handled(2)
        assert len(fake_glm.requests) == 1, "the org's other workspace is over the same quota"
        note = await fake_slack.wait_for_call("chat.postEphemeral")
        assert note.args["channel"] == "CE0002" and "1,100" in note.args["text"]
    finally:
        await bot.stop()


async def test_the_home_tab_of_an_org_wide_install_shows_the_org_s_month(
    oauth_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    fake_slack: FakeSlack,
    fake_glm: FakeGLM,
    browser: aiohttp.ClientSession,
) -> None:
    """Installed org-wide, the quota bounds the org and a person's tokens count in every
    workspace of it (admission), so the Home tab says so: the person's figure and the quota
    bar are the org's, and an admin sees the org's month. A workspace installed on its own
    beside it still sees only its own."""
    monkeypatch.setenv("MONTHLY_TOKENS_PER_WORKSPACE", "1000")
    monkeypatch.setenv("MONTHLY_TOKENS_PER_USER", "10000")
    monkeypatch.setenv("AGENT_ADMIN_USER_IDS", "U0002")
    bot = await RunningBot(clock=MonthClock(DECEMBER)).start()
    try:
        for target in ("E0000001", "TA0001"):
            await installed(browser, fake_slack, bot.url, target)
        fake_glm.enqueue(costs(300, 20), costs(400, 30), costs(50, 5))
        for n, (target, channel, team) in enumerate(
            (
                ("E0000001", "CE0001", "TE0001"),
                ("E0000001", "CE0002", "TE0002"),
                ("TA0001", "CA0001", None),
            ),
            start=1,
        ):
            await ask(bot, fake_slack, target, channel, "what does it cost?", team=team)
            await bot.wait_handled(n)
        assert len(fake_glm.requests) == 3

        def envelope(target: str, team: str | None = None) -> dict:
            return mention_in(fake_slack, target, "CE0001", "x", team=team)[1]

        # An admin opens Home in one workspace of the org: the org's month, both workspaces.
        admin = text_of(
            await open_home(bot, fake_slack, "U0002", dm="D0002", **envelope("E0000001", "TE0001"))
        )
        assert "Grid Co (whole org) · December 2026" in admin
        assert "*750* tokens (700 prompt + 50 completion) over 2 answers." in admin
        assert (
            "The monthly limit for all workspaces of Grid Co together is 1,000 tokens "
            "(75% used); it resets on 1 January 2027 (UTC)." in admin
        )
        assert "• <#CE0002> — 430 tokens (1 answers)\n• <#CE0001> — 320 tokens (1 answers)" in admin
        assert "Workspace ·" not in admin and "workspace's monthly limit" not in admin

        # A person of the org, in its other workspace: their tokens in both, the org's quota.
        person = text_of(
            await open_home(bot, fake_slack, "U0001", **envelope("E0000001", "TE0002"))
        )
        assert (
            "You have used *750* tokens in December 2026 across every workspace of Grid Co: "
            "700 prompt + 50 completion, over 2 answers." in person
        )
        assert "Your monthly limit is 10,000 tokens (8% used)" in person
        assert "all workspaces of Grid Co together is 1,000 tokens (75% used)" in person
        assert "whole org) ·" not in person, "only admins see the org's month"

        # The workspace installed on its own beside the org: its own month only, as before.
        own = text_of(await open_home(bot, fake_slack, "U0002", dm="D0002", **envelope("TA0001")))
        assert "Workspace · December 2026" in own
        assert "*55* tokens (50 prompt + 5 completion) over 1 answers." in own
        assert (
            "The workspace's monthly limit is 1,000 tokens (6% used); it resets on "
            "1 January 2027 (UTC)." in own
        )
        assert "• <#CA0001> — 55 tokens (1 answers)" in own
        assert "org" not in own and "<#CE000" not in own
        mine = text_of(await open_home(bot, fake_slack, "U0001", **envelope("TA0001")))
        assert "You have used *55* tokens in December 2026: 50 prompt" in mine
    finally:
        await bot.stop()


async def test_a_database_failure_at_the_redirect_is_a_page_not_a_500(
    oauth_bot: RunningBot, fake_slack: FakeSlack, browser: aiohttp.ClientSession
) -> None:
    """The single-use state is checked (and consumed) in the database; with the database
    failing, the redirect was a bare HTTP 500. Now it is the failure page, the code is not
    exchanged, and installing again works once the database is back."""
    page = await open_install_page(browser, oauth_bot.url)
    code = fake_slack.authorize_code("TA0001")
    engine = make_engine(oauth_env_url(oauth_bot))
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text("ALTER TABLE slack_oauth_states RENAME TO states_away"))
        got, text = await land_on_redirect(
            browser, oauth_bot.url, code=code, state=page.state, cookie=page.cookie
        )
        assert got == 503, text
        assert "could not be saved" in text and "Try again" in text
        assert fake_slack.calls_to("oauth.v2.access") == []  # the code was not spent
    finally:
        async with engine.begin() as conn:
            await conn.execute(sa.text("ALTER TABLE states_away RENAME TO slack_oauth_states"))
        await engine.dispose()
    await installed(browser, fake_slack, oauth_bot.url, "TA0001")
