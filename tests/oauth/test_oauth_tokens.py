"""The token keeper: refresh inside the window, never an expired token, a failing refresh
backed off, the org's team found."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator
from slack_sdk.web.async_client import AsyncWebClient

from bot.oauth.authorize import request_team_id
from bot.oauth.client import WorkspaceNotInstalled, WorkspaceWebClient
from bot.oauth.crypto import TokenCipher, generate_key
from bot.oauth.orgs import OrgTeams
from bot.oauth.store import EncryptedInstallationStore
from bot.oauth.tokens import TokenKeeper
from bot.oauth.workspace import SlackAccess, Workspace, scope
from bot.store.db import make_engine
from bot.store.migrate import upgrade_to_head
from tests.bot_process import free_port
from tests.fakes import Call, FakeSlack
from tests.fakes.slack_oauth import refreshing


@pytest.fixture
async def parts(tmp_path: Path) -> AsyncIterator[tuple[FakeSlack, EncryptedInstallationStore]]:
    fake = await FakeSlack().start()
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'keeper.db'}")
    await upgrade_to_head(engine)
    fake.add_workspace("TA0001", "Acme", channels=("CA0001",))
    store = EncryptedInstallationStore(
        client_id=fake.client_id, engine=engine, cipher=TokenCipher(generate_key())
    )
    yield fake, store
    await engine.dispose()
    await fake.stop()


async def _install(fake: FakeSlack, store: EncryptedInstallationStore, lifetime: int) -> str:
    fake.token_lifetime = lifetime
    body = fake._grant(fake.targets["TA0001"], user="U0001", rotation=True)
    await store.async_save(
        Installation(
            app_id="A0001",
            team_id="TA0001",
            bot_token=body["access_token"],
            bot_id="BB",
            bot_user_id="UB",
            bot_refresh_token=body["refresh_token"],
            bot_token_expires_in=lifetime,
            user_id="U0001",
        )
    )
    fake.token_lifetime = 43_200
    return str(body["refresh_token"])


def _keeper(
    fake: FakeSlack,
    store: EncryptedInstallationStore,
    api: AsyncWebClient,
    *,
    clock: Callable[[], float] = time.time,
    on_refresh: Callable[[str], None] | None = None,
    refresh_minutes: float = 120.0,
) -> TokenKeeper:
    rotator = AsyncTokenRotator(
        client_id=fake.client_id, client_secret=fake.client_secret, client=api
    )
    return TokenKeeper(
        store=store,
        rotator=rotator,
        refresh_minutes=refresh_minutes,
        cache_seconds=0.0,
        clock=clock,
        on_refresh=on_refresh,
    )


class Clock:
    """Wall time moved on by the test: the keeper's clock and the fake Slack's, so both see a
    token expire at once and a back-off pass without anyone sleeping."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


def _bearer(call: Call) -> str:
    return call.headers.get("Authorization", "").removeprefix("Bearer ")


async def test_an_expired_token_whose_refresh_fails_is_never_sent(parts) -> None:
    fake, store = parts
    refresh = await _install(fake, store, lifetime=2)  # about to die: inside the 5 s guard
    fake._refresh_tokens.pop(refresh)  # and Slack no longer honours its refresh token
    api = AsyncWebClient(base_url=fake.api_url)
    client = WorkspaceWebClient(tokens=_keeper(fake, store, api), base_url=fake.api_url)
    try:
        with scope(SlackAccess(Workspace("TA0001"))), pytest.raises(WorkspaceNotInstalled):
            await client.chat_postMessage(channel="CA0001", text="hi")
        assert [c.method for c in fake.calls] == ["oauth.v2.access"]  # the refresh only
        assert fake.calls[0].response == {"ok": False, "error": "invalid_refresh_token"}
    finally:
        for c in (api, client):
            if c.session is not None:
                await c.session.close()


async def test_a_token_inside_the_window_is_refreshed_and_the_new_pair_stored(parts) -> None:
    fake, store = parts
    await _install(fake, store, lifetime=600)  # 10 minutes left, window is 120
    api = AsyncWebClient(base_url=fake.api_url)
    keeper = _keeper(fake, store, api)
    try:
        grant = await keeper.grant(Workspace("TA0001"))
        assert grant is not None
        newest = fake.tokens_of("TA0001")[-1]
        assert grant.token == newest.token and grant.expires_at is not None
        again = await keeper.grant(Workspace("TA0001"))  # 12 hours left now: no refresh
        assert again is not None and again.token == newest.token
        assert len(fake.calls_to("oauth.v2.access")) == 1
    finally:
        if api.session is not None:
            await api.session.close()


async def test_a_fractional_refresh_window_still_refreshes_once(parts) -> None:
    """SLACK_TOKEN_REFRESH_MINUTES=1.4: the token (80 s left) is inside the keeper's window
    (84 s). slack_sdk's rotator takes whole minutes; rounded down (60 s) it said "not yet" on
    every call, so each call took the refresh lock and nothing was ever refreshed."""
    fake, store = parts
    await _install(fake, store, lifetime=80)
    api = AsyncWebClient(base_url=fake.api_url)
    keeper = _keeper(fake, store, api, refresh_minutes=1.4)
    try:
        grant = await keeper.grant(Workspace("TA0001"))
        assert grant is not None and grant.token == fake.tokens_of("TA0001")[-1].token
        await keeper.grant(Workspace("TA0001"))
        assert len(fake.calls_to("oauth.v2.access")) == 1
        assert len(keeper._locks) == 0  # the refresh lock went with its last user
    finally:
        if api.session is not None:
            await api.session.close()


class Workload:
    """Slack calls of workspace TA0001 through the bot's client, as turns make them."""

    def __init__(self, fake: FakeSlack, keeper: TokenKeeper) -> None:
        self.fake = fake
        self.client = WorkspaceWebClient(tokens=keeper, base_url=fake.api_url)

    async def post(self, n: int = 1) -> None:
        """``n`` calls at once (each needs the token)."""
        with scope(SlackAccess(Workspace("TA0001"))):
            await asyncio.gather(
                *(self.client.chat_postMessage(channel="CA0001", text="hi") for _ in range(n))
            )

    def exchanges(self) -> int:
        return len(self.fake.calls_to("oauth.v2.access"))

    def tokens_sent(self, last: int) -> set[str]:
        return {_bearer(c) for c in self.fake.calls_to("chat.postMessage")[-last:]}

    async def aclose(self) -> None:
        if self.client.session is not None:
            await self.client.session.close()


@pytest.mark.parametrize(
    ("error", "status"),
    [("invalid_refresh_token", 200), ("internal_error", 500)],
    ids=["refresh-token-refused", "slack-5xx"],
)
async def test_a_failing_refresh_is_tried_again_only_after_a_growing_back_off(
    parts, error: str, status: int
) -> None:
    fake, store = parts
    clock = Clock()
    fake.oauth_clock = clock
    await _install(fake, store, lifetime=600)  # 10 minutes left: inside the 120-minute window
    (current,) = fake.tokens_of("TA0001")
    fake.fail("oauth.v2.access", error, status=status, retry_after=None, times=2, when=refreshing)
    api = AsyncWebClient(base_url=fake.api_url)
    outcomes: list[str] = []
    work = Workload(fake, _keeper(fake, store, api, clock=clock, on_refresh=outcomes.append))
    try:
        await work.post(20)  # every call needs the token while the exchange fails
        assert work.exchanges() == 1 and outcomes == ["failed"]
        assert work.tokens_sent(20) == {current.token}  # the still valid token, 20 times
        assert all(c.ok for c in fake.calls_to("chat.postMessage"))
        clock.advance(29)
        await work.post(5)
        assert work.exchanges() == 1  # back-off: 30 s after the first failure
        clock.advance(1)
        await work.post(5)
        assert work.exchanges() == 2 and outcomes == ["failed", "failed"]
        clock.advance(59)
        await work.post(5)
        assert work.exchanges() == 2  # doubled: 60 s after the second failure
        assert work.tokens_sent(15) == {current.token}
        clock.advance(1)
        await work.post(5)
        assert work.exchanges() == 3 and outcomes == ["failed", "failed", "ok"]
        newest = fake.tokens_of("TA0001")[-1]
        assert work.tokens_sent(5) == {newest.token}
        clock.advance(900)  # the old token has expired; the new one lasts 12 hours
        await work.post(5)
        assert work.exchanges() == 3 and work.tokens_sent(5) == {newest.token}
    finally:
        await work.aclose()
        if api.session is not None:
            await api.session.close()


async def test_an_expired_token_is_never_sent_and_refreshed_no_more_often_than_the_back_off(
    parts,
) -> None:
    fake, store = parts
    clock = Clock()
    fake.oauth_clock = clock
    await _install(fake, store, lifetime=600)
    fake.fail("oauth.v2.access", "invalid_refresh_token", times=2, when=refreshing)
    api = AsyncWebClient(base_url=fake.api_url)
    work = Workload(fake, _keeper(fake, store, api, clock=clock))
    try:
        await work.post()  # first failure: the token still works for 10 minutes
        assert work.exchanges() == 1
        clock.advance(600)  # expired now (for Slack too), and the 30 s back-off is long over
        with pytest.raises(WorkspaceNotInstalled):
            await work.post()  # tried again at once, refused again: nothing to send
        assert work.exchanges() == 2
        for _ in range(10):  # inside the next back-off (60 s): as before, but without trying
            with pytest.raises(WorkspaceNotInstalled):
                await work.post()
        assert work.exchanges() == 2
        assert len(fake.calls_to("chat.postMessage")) == 1  # the expired token never went out
        clock.advance(60)
        await work.post()  # Slack honours the refresh token again: refreshed, and sent
        assert work.exchanges() == 3
        assert work.tokens_sent(1) == {fake.tokens_of("TA0001")[-1].token}
    finally:
        await work.aclose()
        if api.session is not None:
            await api.session.close()


async def test_a_refresh_that_cannot_reach_slack_backs_off_and_keeps_the_current_token(
    parts,
) -> None:
    fake, store = parts
    clock = Clock()
    await _install(fake, store, lifetime=600)
    (current,) = fake.tokens_of("TA0001")
    nowhere = AsyncWebClient(base_url=f"http://127.0.0.1:{free_port()}/api/")  # nothing listens
    outcomes: list[str] = []
    work = Workload(fake, _keeper(fake, store, nowhere, clock=clock, on_refresh=outcomes.append))
    try:
        await work.post(10)
        assert outcomes == ["failed"]
        assert work.tokens_sent(10) == {current.token}
        clock.advance(30)
        await work.post(10)
        assert outcomes == ["failed", "failed"]
    finally:
        await work.aclose()
        if nowhere.session is not None:
            await nowhere.session.close()


@pytest.mark.parametrize("here", [True, False], ids=["uninstalled-here", "uninstalled-elsewhere"])
async def test_a_reinstall_does_not_inherit_the_back_off_of_the_installation_before(
    parts, here: bool
) -> None:
    fake, store = parts
    clock = Clock()
    fake.oauth_clock = clock
    await _install(fake, store, lifetime=600)
    fake.fail("oauth.v2.access", "invalid_refresh_token", when=refreshing)
    api = AsyncWebClient(base_url=fake.api_url)
    keeper = _keeper(fake, store, api, clock=clock)
    work = Workload(fake, keeper)
    try:
        await work.post()
        assert work.exchanges() == 1  # backing off now
        await store.delete_workspace(Workspace("TA0001"))  # app_uninstalled...
        if here:
            keeper.forget(Workspace("TA0001"))  # ...handled by this instance (Departures)
        else:  # ...by another instance: this one only finds the installation gone
            with pytest.raises(WorkspaceNotInstalled):
                await work.post()
        await _install(fake, store, lifetime=600)  # installed again at once, also rotating
        await work.post()
        assert work.exchanges() == 2  # its token is refreshed now, not after the old back-off
        assert work.tokens_sent(1) == {fake.tokens_of("TA0001")[-1].token}
    finally:
        await work.aclose()
        if api.session is not None:
            await api.session.close()


async def test_background_work_finds_a_team_s_installation_or_its_org_s(parts) -> None:
    fake, store = parts
    await _install(fake, store, lifetime=43_200)
    orgs = OrgTeams(store.engine, fake.client_id)
    assert await orgs.workspace_of_team("TA0001") == Workspace("TA0001")
    assert await orgs.workspace_of_team("TE0001") is None
    await orgs.remember("E0000001", "TE0001")
    await orgs.remember("E0000001", "TE0001")  # twice is fine
    assert await orgs.workspace_of_team("TE0001") == Workspace(
        "TE0001", "E0000001", is_enterprise_install=True
    )


def test_the_request_s_workspace_also_for_org_wide_installs() -> None:
    assert request_team_id({"team_id": "T1", "authorizations": [{"team_id": None}]}) == "T1"
    assert request_team_id({"user": {"id": "U1", "team_id": "T2"}}) == "T2"
    assert request_team_id({"team": {"id": "T3"}}) == "T3"
    assert request_team_id({"event": {"team": "T4"}}) == "T4"
    assert request_team_id({}) is None
