"""Slack budgets in the database, so every instance draws on the same per-workspace buckets.

One row per bucket (``slack_budgets``: key, tokens, stamp). A grant is one short transaction:
lock the row (``SELECT … FOR UPDATE``), run the pure arithmetic of ``bot.slack.buckets`` on it
with the database's clock (instances' clocks need not agree), write it back only when a token
was spent, commit. A refusal returns how long to wait; the caller sleeps *after* the
connection is back in the pool, so waiting never holds a connection or a lock.

PostgreSQL only: SQLite means one instance, which keeps its buckets in memory.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.slack import buckets
from bot.slack.buckets import Limits, State

_NOW = "EXTRACT(EPOCH FROM clock_timestamp())::float8"
_LOCK = text(f"SELECT tokens, stamp, {_NOW} AS now FROM slack_budgets WHERE key = :key FOR UPDATE")
_CREATE = text(
    f"INSERT INTO slack_budgets (key, tokens, stamp) VALUES (:key, :tokens, {_NOW}) "
    "ON CONFLICT (key) DO NOTHING"
)
_WRITE = text("UPDATE slack_budgets SET tokens = :tokens, stamp = :stamp WHERE key = :key")


class DatabaseBucketStore:
    """:class:`bot.slack.ratelimit.BucketStore` over a shared PostgreSQL database."""

    shared = True

    def __init__(
        self, engine: AsyncEngine, *, on_transaction: Callable[[str], None] | None = None
    ) -> None:
        if engine.dialect.name != "postgresql":
            raise ValueError("shared Slack budgets need PostgreSQL")
        self._engine = engine
        self._on_transaction = on_transaction
        self.transactions = 0

    async def take(self, key: str, limits: Limits, reserve: float = 0.0) -> float:
        async with self._engine.begin() as conn:
            self._count("take")
            state, now = await self._lock(conn, key, limits)
            new, wait = buckets.take(state, limits, now, reserve)
            if wait == 0.0:
                await self._write(conn, key, new)
        return wait

    async def penalise(self, key: str, limits: Limits, seconds: float) -> None:
        async with self._engine.begin() as conn:
            self._count("penalise")
            state, now = await self._lock(conn, key, limits)
            await self._write(conn, key, buckets.penalise(state, limits, now, seconds))

    async def _lock(self, conn: AsyncConnection, key: str, limits: Limits) -> tuple[State, float]:
        row: Any = (await conn.execute(_LOCK, {"key": key})).first()
        if row is None:  # first use of this bucket anywhere: it starts full
            await conn.execute(_CREATE, {"key": key, "tokens": limits.burst})
            row = (await conn.execute(_LOCK, {"key": key})).first()
        return State(float(row.tokens), float(row.stamp)), float(row.now)

    @staticmethod
    async def _write(conn: AsyncConnection, key: str, state: State) -> None:
        await conn.execute(_WRITE, {"key": key, "tokens": state.tokens, "stamp": state.stamp})

    def _count(self, op: str) -> None:
        self.transactions += 1
        if self._on_transaction is not None:
            self._on_transaction(op)
