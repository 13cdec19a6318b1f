"""The token keeper: refresh inside the window, never an expired token, the org's team found."""

from __future__ import annotations

from collections.abc import AsyncIterator
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
from tests.fakes import FakeSlack


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


def _keeper(fake: FakeSlack, store: EncryptedInstallationStore, api: AsyncWebClient) -> TokenKeeper:
    rotator = AsyncTokenRotator(
        client_id=fake.client_id, client_secret=fake.client_secret, client=api
    )
    return TokenKeeper(store=store, rotator=rotator, cache_seconds=0.0)


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
