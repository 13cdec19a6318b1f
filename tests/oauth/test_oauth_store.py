"""The encrypted installation store and the shared state store, on a migrated SQLite database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from slack_sdk.oauth.installation_store.models.installation import Installation
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.oauth.crypto import TokenCipher, TokenDecryptError, generate_key
from bot.oauth.store import EncryptedInstallationStore, SharedStateStore
from bot.oauth.workspace import Workspace
from bot.store.db import make_engine
from bot.store.migrate import upgrade_to_head

OLD, NEW = generate_key(), generate_key()
TOKEN = "xoxe.xoxb-1-" + "a" * 140  # a rotating token's length: longer than String(200) sealed


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'oauth.db'}")
    await upgrade_to_head(engine)
    yield engine
    await engine.dispose()


def installation(team: str = "T1", token: str = TOKEN) -> Installation:
    return Installation(
        app_id="A1",
        enterprise_id=None,
        team_id=team,
        bot_token=token,
        bot_id="B1",
        bot_user_id="UB1",
        bot_refresh_token="xoxe-1-refresh",
        bot_token_expires_in=43_200,
        user_id="U1",
    )


async def raw(engine: AsyncEngine) -> str:
    async with engine.connect() as conn:
        rows = (await conn.execute(sa.text("SELECT * FROM slack_installations"))).all()
        rows += (await conn.execute(sa.text("SELECT * FROM slack_bots"))).all()
    return repr(rows)


async def test_tokens_are_sealed_at_rest_and_opened_on_the_way_out(engine: AsyncEngine) -> None:
    store = EncryptedInstallationStore(client_id="C", engine=engine, cipher=TokenCipher(OLD))
    await store.async_save(installation())
    dump = await raw(engine)
    assert TOKEN not in dump and "xoxe-1-refresh" not in dump and "fernet:" in dump
    found = await store.find(Workspace("T1"))
    assert found is not None and found.bot_token == TOKEN
    assert found.bot_refresh_token == "xoxe-1-refresh"
    bot = await store.async_find_bot(enterprise_id=None, team_id="T1")
    assert bot is not None and bot.bot_token == TOKEN
    assert await store.count() == 1


async def test_key_rotation_old_key_reads_new_key_writes_then_reencrypt(
    engine: AsyncEngine,
) -> None:
    before = EncryptedInstallationStore(client_id="C", engine=engine, cipher=TokenCipher(OLD))
    await before.async_save(installation())
    both = EncryptedInstallationStore(
        client_id="C", engine=engine, cipher=TokenCipher(f"{NEW},{OLD}")
    )
    assert (await both.find(Workspace("T1"))).bot_token == TOKEN  # type: ignore[union-attr]
    assert await both.reencrypt() == 2  # the installation row and the bot row
    only_new = EncryptedInstallationStore(client_id="C", engine=engine, cipher=TokenCipher(NEW))
    assert (await only_new.find(Workspace("T1"))).bot_token == TOKEN  # type: ignore[union-attr]
    only_old = EncryptedInstallationStore(client_id="C", engine=engine, cipher=TokenCipher(OLD))
    with pytest.raises(TokenDecryptError):
        await only_old.find(Workspace("T1"))


async def test_a_state_is_good_once_and_never_when_forged_or_expired(engine: AsyncEngine) -> None:
    states = SharedStateStore(engine=engine)
    state = await states.async_issue()
    assert await asyncio.gather(*(states.async_consume(state) for _ in range(5))) == [
        True,
        False,
        False,
        False,
        False,
    ]
    assert not await states.async_consume("forged")
    assert not await states.async_consume("")
    expired = SharedStateStore(engine=engine, expiration_seconds=-1)
    assert not await expired.async_consume(await expired.async_issue())


async def test_delete_workspace_takes_every_row_of_it_only(engine: AsyncEngine) -> None:
    store = EncryptedInstallationStore(client_id="C", engine=engine, cipher=TokenCipher(OLD))
    await store.async_save(installation("T1"))
    await store.async_save(installation("T2", token="xoxb-other"))
    await store.delete_workspace(Workspace("T1"))
    assert await store.find(Workspace("T1")) is None
    assert (await store.find(Workspace("T2"))).bot_token == "xoxb-other"  # type: ignore[union-attr]
