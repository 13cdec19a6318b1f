"""The SQLAlchemy models match the Alembic migrations, and migrations are repeatable."""

from __future__ import annotations

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
from bot.store.migrate import alembic_config, upgrade_to_head
from bot.store.models import Base

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
