"""Property: no Web API call ever carries a token of a workspace other than the one the work
came from — whatever the mix of workspaces, orgs, concurrent turns, tasks they start, and token
refreshes in between.

Each example installs a few workspaces and an org (some with rotating tokens about to expire),
then runs concurrent "turns", each in one workspace's scope (as Bolt's authorisation sets it),
interleaving at random and starting sub-tasks of their own (as the reply side does), each making
Slack calls through the one shared WorkspaceWebClient. The fake Slack records every call with
the token it carried.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_sdk.errors import SlackApiError
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator
from slack_sdk.web.async_client import AsyncWebClient

from bot.oauth.client import NoWorkspaceInScope, WorkspaceWebClient
from bot.oauth.crypto import TokenCipher, generate_key
from bot.oauth.store import EncryptedInstallationStore
from bot.oauth.tokens import TokenKeeper
from bot.oauth.workspace import SlackAccess, Workspace, scope
from bot.store.db import make_engine
from bot.store.migrate import upgrade_to_head
from tests.fakes import FakeSlack

# (target id in the fake, the workspace scope a request of it gets, its channel)
TARGETS = [
    ("TA0001", Workspace("TA0001"), "CA0001"),
    ("TB0001", Workspace("TB0001"), "CB0001"),
    ("TC0001", Workspace("TC0001"), "CC0001"),
    ("E0000001", Workspace("TE0001", "E0000001", is_enterprise_install=True), "CE0001"),
    ("E0000001", Workspace("TE0002", "E0000001", is_enterprise_install=True), "CE0002"),
]
AUTH_ERRORS = {"channel_not_found", "invalid_auth", "token_revoked", "token_expired", "not_authed"}
METHODS = ("chat.postMessage", "chat.update", "conversations.replies", "users.info")

turn = st.tuples(
    st.integers(0, len(TARGETS) - 1),  # which workspace the turn belongs to
    st.lists(st.sampled_from(METHODS), min_size=1, max_size=4),  # its Slack calls
    st.lists(st.integers(0, 3), min_size=1, max_size=4),  # yields between them
    st.booleans(),  # does it run part of its work in a sub-task?
)


async def _install(fake: FakeSlack, store: EncryptedInstallationStore, rotating: set[str]) -> None:
    for target_id in {t for t, _, _ in TARGETS}:
        target = fake.targets[target_id]
        fake.token_lifetime = 30 if target_id in rotating else 43_200
        body = fake._grant(target, user="U0001", rotation=target_id in rotating)
        await store.async_save(
            Installation(
                app_id="A0001",
                enterprise_id=target.enterprise_id,
                team_id=target.team_id,
                bot_token=body["access_token"],
                bot_id=target.bot_id,
                bot_user_id=target.bot_user_id,
                bot_refresh_token=body.get("refresh_token"),
                bot_token_expires_in=body.get("expires_in"),
                user_id="U0001",
                is_enterprise_install=target.org_install,
            )
        )
    fake.token_lifetime = 43_200


async def _run(db: Path, turns: list, rotating: set[str]) -> None:
    fake = await FakeSlack().start()
    engine = make_engine(f"sqlite+aiosqlite:///{db}")
    client: WorkspaceWebClient | None = None
    try:
        for target_id, name in (("TA0001", "A"), ("TB0001", "B"), ("TC0001", "C")):
            fake.add_workspace(target_id, name, channels=(f"C{target_id[1]}0001",))
        fake.add_org("E0000001", "Org", teams={"TE0001": ("CE0001",), "TE0002": ("CE0002",)})
        store = EncryptedInstallationStore(
            client_id=fake.client_id, engine=engine, cipher=TokenCipher(generate_key())
        )
        await _install(fake, store, rotating)
        api = AsyncWebClient(base_url=fake.api_url)
        keeper = TokenKeeper(
            store=store,
            rotator=AsyncTokenRotator(
                client_id=fake.client_id, client_secret=fake.client_secret, client=api
            ),
            cache_seconds=0.0,
        )
        client = WorkspaceWebClient(tokens=keeper, base_url=fake.api_url)

        async def calls(channel: str, methods: list[str], yields: list[int]) -> None:
            for method, pause in zip(methods, yields * len(methods), strict=False):
                for _ in range(pause):
                    await asyncio.sleep(0)
                args = {"channel": channel, "ts": "1.1", "text": "x"}
                if method == "users.info":
                    args = {"user": "U0001"}
                try:
                    await client.api_call(
                        method,
                        json=args if method.startswith("chat") else None,
                        params=None if method.startswith("chat") else args,
                    )
                except SlackApiError as exc:  # e.g. message_not_found: not about the token
                    assert exc.response["error"] not in AUTH_ERRORS, exc.response["error"]

        async def one_turn(index: int, methods: list[str], yields: list[int], sub: bool) -> None:
            _, ws, channel = TARGETS[index]
            fake_target = fake.targets[TARGETS[index][0]]
            with scope(SlackAccess(ws, bot_user_id=fake_target.bot_user_id)):
                if sub:  # tasks the turn starts inherit its scope
                    half = len(methods) // 2
                    await asyncio.gather(
                        calls(channel, methods[:half], yields),
                        asyncio.create_task(calls(channel, methods[half:], yields)),
                    )
                else:
                    await calls(channel, methods, yields)

        before = len(fake.calls)
        await asyncio.gather(*(one_turn(*t) for t in turns))
        owners = {c: TARGETS[i][0] for i, (_, _, c) in enumerate(TARGETS)}
        for call in fake.calls[before:]:
            if call.method == "oauth.v2.access":
                continue
            token = call.headers.get("Authorization", "").removeprefix("Bearer ")
            issued = fake.issued[token]  # never an unknown token
            assert not issued.revoked
            assert call.status == 200 and call.response is not None
            assert call.response.get("error") not in AUTH_ERRORS, call.response
            channel = call.args.get("channel")
            if channel is not None:
                assert issued.target is fake.targets[owners[channel]], (call.method, channel)
        # Outside any workspace scope nothing is sent at all.
        sent = len(fake.calls)
        try:
            await client.chat_postMessage(channel="CA0001", text="nobody's")
        except NoWorkspaceInScope:
            pass
        else:
            raise AssertionError("a call outside any scope was sent")
        assert len(fake.calls) == sent
    finally:
        if client is not None and client.session is not None:
            await client.session.close()
        await engine.dispose()
        await fake.stop()


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    turns=st.lists(turn, min_size=1, max_size=12),
    rotating=st.sets(st.sampled_from(["TA0001", "TB0001", "E0000001"])),
)
def test_no_call_carries_another_workspaces_token(
    tmp_path: Path, turns: list, rotating: set[str]
) -> None:
    template = tmp_path / "migrated.db"
    if not template.exists():  # migrate once; every example starts from a copy
        asyncio.run(_migrate(template))
    db = tmp_path / "example.db"
    shutil.copyfile(template, db)
    try:
        asyncio.run(_run(db, turns, rotating))
    finally:
        db.unlink(missing_ok=True)


async def _migrate(path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    try:
        await upgrade_to_head(engine)
    finally:
        await engine.dispose()
