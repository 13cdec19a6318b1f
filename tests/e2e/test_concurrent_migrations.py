"""Several instances started at the same moment on an empty database all come up.

Before the migration lock, two processes on a fresh PostgreSQL raced on ``CREATE TABLE
alembic_version`` and one died with ``duplicate key value violates unique constraint
"pg_type_typname_nsp_index"``; on SQLite the loser saw ``table ... already exists``.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import text

from bot.store.db import make_engine
from bot.store.migrate import upgrade_to_head
from tests.bot_process import BotProcess, process_env
from tests.conftest import BOT_TOKEN, GLM_KEY, SIGNING_SECRET
from tests.fakes import FakeGLM, FakeSlack


def _settings(fake_slack: FakeSlack, fake_glm: FakeGLM, database_url: str) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_BASE_URL": fake_slack.api_url,
        "ZHIPUAI_API_KEY": GLM_KEY,
        "ZHIPUAI_BASE_URL": fake_glm.base_url,
        "DATABASE_URL": database_url,
    }


async def _start_together(procs: list[BotProcess]) -> None:
    results = await asyncio.gather(*(p.start(timeout=60) for p in procs), return_exceptions=True)
    failures = [r for r in results if isinstance(r, BaseException)]
    assert not failures, "\n".join(str(f) for f in failures)
    async with aiohttp.ClientSession(trust_env=False) as session:
        for proc in procs:
            async with session.get(f"{proc.url}/healthz") as resp:
                assert resp.status == 200, await resp.text()


async def test_two_processes_and_a_migrate_start_together_on_an_empty_postgres(
    tmp_path: Path, pg_url: str, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    settings = _settings(fake_slack, fake_glm, pg_url)
    procs = [BotProcess(tmp_path, **settings) for _ in "ab"]
    migrate = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "migrate",
        cwd=tmp_path,
        env=process_env(**settings),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await _start_together(procs)
        out, err = await asyncio.wait_for(migrate.communicate(), 60)
        assert migrate.returncode == 0, err.decode()
        assert "latest schema" in out.decode()
    finally:
        for proc in procs:
            await proc.kill()
        if migrate.returncode is None:
            migrate.kill()
            await migrate.wait()


async def test_two_processes_start_together_on_an_empty_sqlite_file(
    tmp_path: Path, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    procs = [BotProcess(tmp_path, **_settings(fake_slack, fake_glm, url)) for _ in "ab"]
    try:
        await _start_together(procs)
    finally:
        for proc in procs:
            await proc.kill()


async def _concurrent_upgrades(url: str, n: int) -> None:
    engines = [make_engine(url) for _ in range(n)]
    try:
        await asyncio.wait_for(asyncio.gather(*(upgrade_to_head(e) for e in engines)), 60)
        async with engines[0].connect() as conn:
            versions = (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()
        assert len(versions) == 1
    finally:
        for engine in engines:
            await engine.dispose()


async def test_concurrent_upgrades_in_one_process_on_sqlite(tmp_path: Path) -> None:
    await _concurrent_upgrades(f"sqlite+aiosqlite:///{tmp_path / 'race.db'}", 4)


async def test_concurrent_upgrades_in_one_process_on_postgres(pg_url: str) -> None:
    await _concurrent_upgrades(pg_url.replace("postgresql://", "postgresql+asyncpg://"), 4)


async def test_a_held_lock_makes_the_upgrade_wait_then_give_up(tmp_path: Path) -> None:
    import fcntl

    from bot.store.migrate import MigrationLockTimeout

    db = tmp_path / "held.db"
    engine = make_engine(f"sqlite+aiosqlite:///{db}")
    with Path(f"{db}.migrate-lock").open("w") as held:  # noqa: ASYNC230
        fcntl.flock(held, fcntl.LOCK_EX)  # another process in the middle of a migration
        try:
            with pytest.raises(MigrationLockTimeout):
                await upgrade_to_head(engine, lock_timeout=0.3)
        finally:
            fcntl.flock(held, fcntl.LOCK_UN)
    try:
        await upgrade_to_head(engine, lock_timeout=5)  # released: goes through
    finally:
        await engine.dispose()


async def test_a_held_advisory_lock_makes_the_upgrade_wait_then_give_up(
    pg_url: str,
) -> None:
    import asyncpg

    from bot.store.migrate import PG_LOCK_KEY, MigrationLockTimeout

    holder = await asyncpg.connect(pg_url)
    engine = make_engine(pg_url.replace("postgresql://", "postgresql+asyncpg://"))
    try:
        await holder.execute("SELECT pg_advisory_lock($1)", PG_LOCK_KEY)
        with pytest.raises(MigrationLockTimeout):
            await upgrade_to_head(engine, lock_timeout=0.3)
        await holder.execute("SELECT pg_advisory_unlock($1)", PG_LOCK_KEY)
        await upgrade_to_head(engine, lock_timeout=5)
    finally:
        await holder.close()
        await engine.dispose()
