"""The SQLAlchemy models match the Alembic migrations, and migrations are repeatable."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, MetaData, String, inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.db import make_engine
from bot.store.migrate import alembic_config, head_revision, upgrade_to_head
from bot.store.models import Base
from tests.bot_process import process_env

HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()
TABLES = {
    "alembic_version",
    "channel_settings",
    "feedback",
    "instances",
    "processed_events",
    "replies",
    "slack_budgets",
    "threads",
    "turn_tickets",
    "usage_monthly",
    "thread_leases",
    "thread_files",
    "view_contexts",
    # 0011_oauth: slack_sdk's OAuth stores, on our migrations
    "slack_installations",
    "slack_bots",
    "slack_oauth_states",
    "slack_org_teams",
}


@pytest.fixture
async def engine(tmp_path: Path) -> Any:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'schema.db'}")
    try:
        yield engine
    finally:
        await engine.dispose()


def _diff(conn: Connection) -> list[Any]:
    context = MigrationContext.configure(conn, opts={"compare_type": True})
    return compare_metadata(context, Base.metadata)


def _tables_and_version(conn: Connection) -> tuple[set[str], list[str]]:
    tables = set(inspect(conn).get_table_names())
    versions = (
        [row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))]
        if "alembic_version" in tables
        else []
    )
    return tables, versions


def _downgrade_to_base(conn: Connection) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = conn
    command.downgrade(cfg, "base")


async def diff(engine: AsyncEngine) -> list[Any]:
    async with engine.connect() as conn:
        return await conn.run_sync(_diff)


async def state(engine: AsyncEngine) -> tuple[set[str], list[str]]:
    async with engine.connect() as conn:
        return await conn.run_sync(_tables_and_version)


async def test_models_match_migrations(engine: AsyncEngine) -> None:
    await upgrade_to_head(engine)
    assert await diff(engine) == []
    assert await state(engine) == (TABLES, [HEAD])


async def test_upgrade_twice_is_a_no_op(engine: AsyncEngine) -> None:
    await upgrade_to_head(engine)
    async with engine.begin() as conn:
        await conn.execute(
            text("INSERT INTO processed_events (key, received_at) VALUES ('k', '2026-01-01')")
        )
    await upgrade_to_head(engine)
    assert await state(engine) == (TABLES, [HEAD])
    assert await diff(engine) == []
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT key FROM processed_events"))).all() == [("k",)]


async def test_downgrade_to_base_then_upgrade(engine: AsyncEngine) -> None:
    await upgrade_to_head(engine)
    async with engine.begin() as conn:
        await conn.run_sync(_downgrade_to_base)
    assert await state(engine) == ({"alembic_version"}, [])
    await upgrade_to_head(engine)
    assert await state(engine) == (TABLES, [HEAD])
    assert await diff(engine) == []


def _diff_against_altered_models(conn: Connection) -> list[Any]:
    altered = MetaData()
    for table in Base.metadata.tables.values():
        table.to_metadata(altered)
    altered.tables["replies"].append_column(Column("extra", String(8), nullable=True))
    altered.tables["threads"].c.conversation_id.nullable = False
    context = MigrationContext.configure(conn, opts={"compare_type": True})
    return compare_metadata(context, altered)


async def test_comparison_is_not_vacuous(engine: AsyncEngine) -> None:
    """Guard against a compare that would pass whatever the models say."""
    await upgrade_to_head(engine)
    async with engine.connect() as conn:
        changes = await conn.run_sync(_diff_against_altered_models)
    kinds = sorted(change[0] if isinstance(change, tuple) else change[0][0] for change in changes)
    assert kinds == ["add_column", "modify_nullable"]


def test_the_head_read_from_the_files_is_alembic_s(tmp_path: Path) -> None:
    assert head_revision() == HEAD
    versions = tmp_path / "versions"
    versions.mkdir()
    (versions / "a.py").write_text('revision: str = "a"\ndown_revision: str | None = None\n')
    (versions / "b.py").write_text('revision = "b"\ndown_revision = "a"\n')
    assert head_revision(versions) == "b"
    (versions / "c.py").write_text("revision = 'c'\ndown_revision = 'a'\n")  # a branch
    assert head_revision(versions) is None  # two heads: Alembic decides
    (versions / "m.py").write_text('revision = "m"\ndown_revision = ("b", "c")\n')  # merged
    assert head_revision(versions) == "m"


MIGRATE_AND_REPORT = """
import asyncio, sys
from bot.store.db import make_engine
from bot.store.migrate import upgrade_to_head
import bot.app  # everything a serving process imports
async def main():
    engine = make_engine(sys.argv[1])
    await upgrade_to_head(engine)
    await engine.dispose()
asyncio.run(main())
print("alembic loaded" if "alembic" in sys.modules else "alembic not loaded")
"""


async def test_a_process_whose_database_is_current_never_loads_alembic(
    engine: AsyncEngine,
) -> None:
    """Alembic, Mako and Pygments are 12 MB of a serving process; after the release step has
    migrated, a starting instance reads the version and leaves them unloaded."""
    url = str(engine.url)

    async def run() -> str:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            MIGRATE_AND_REPORT,
            url,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=process_env(),
        )
        out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
        assert proc.returncode == 0, err.decode()
        return out.decode().strip()

    assert await run() == "alembic loaded"  # a new database: migrated with Alembic
    assert await state(engine) == (TABLES, [HEAD])
    assert await run() == "alembic not loaded"  # at head: recognised without it
