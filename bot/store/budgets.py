"""Slack budgets in the database, so every instance draws on the same per-workspace buckets.

One row per bucket (``slack_budgets``: key, tokens, stamp). A grant is two short autocommit
statements and no lock held in between: read the row with the database's clock (instances'
clocks need not agree), run the pure arithmetic of ``bot.reply.buckets`` on it, then write the
new state *only if the row is still the one read* (compare-and-set on tokens and stamp). When
another instance got there first the update matches nothing and the grant is simply tried
again. A refusal is one read; it returns how long to wait, and the caller sleeps with no
connection held. Should the compare-and-set lose ``CAS_ATTEMPTS`` times in a row (several
instances granting from one bucket in the same milliseconds), the grant takes the row lock
instead (``SELECT … FOR UPDATE`` in a short transaction), which always makes progress.

The store has its own small pool without pre-ping, so a grant never queues behind the turns'
database work (a reply's first text waits for a post grant), and its commits do not wait for
the disk (``synchronous_commit=off``: a crash may forget the last grants, which is harmless).

PostgreSQL only: SQLite means one instance, which keeps its buckets in memory.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from bot.reply import buckets
from bot.reply.buckets import Limits, State

_READ = text(
    "SELECT tokens, stamp, EXTRACT(EPOCH FROM clock_timestamp())::float8 AS now "
    "FROM slack_budgets WHERE key = :key"
)
_CREATE = text(
    "INSERT INTO slack_budgets (key, tokens, stamp) "
    "VALUES (:key, :tokens, EXTRACT(EPOCH FROM clock_timestamp())::float8) "
    "ON CONFLICT (key) DO NOTHING"
)
_LOCK = text(
    "SELECT tokens, stamp, EXTRACT(EPOCH FROM clock_timestamp())::float8 AS now "
    "FROM slack_budgets WHERE key = :key FOR UPDATE"
)
_SWAP = text(
    "UPDATE slack_budgets SET tokens = :tokens, stamp = :stamp "
    "WHERE key = :key AND tokens = :old_tokens AND stamp = :old_stamp"
)
CAS_ATTEMPTS = 3  # compare-and-set races lost in a row before taking the row lock

T = TypeVar("T")
Step = Callable[[State, float], tuple[State, T]]


class DatabaseBucketStore:
    """:class:`bot.reply.ratelimit.BucketStore` over a shared PostgreSQL database."""

    shared = True

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        on_transaction: Callable[[str], None] | None = None,
        cas_attempts: int = CAS_ATTEMPTS,
    ) -> None:
        if engine.dialect.name != "postgresql":
            raise ValueError("shared Slack budgets need PostgreSQL")
        # A budget row lost in a database crash costs nothing (the bucket refills within
        # seconds), so its commits need not wait for the WAL to reach the disk.
        self._engine = create_async_engine(
            engine.url,
            isolation_level="AUTOCOMMIT",
            pool_size=2,
            max_overflow=4,
            connect_args={"server_settings": {"synchronous_commit": "off"}},
        )
        self._on_transaction = on_transaction
        self._cas_attempts = cas_attempts
        self.transactions = 0  # statements, each its own transaction (autocommit)

    async def take(self, key: str, limits: Limits, reserve: float = 0.0) -> float:
        def step(state: State, now: float) -> tuple[State, float]:
            return buckets.take(state, limits, now, reserve)

        return await self._apply(key, limits, step, "take")

    async def peek(self, key: str, limits: Limits, reserve: float = 0.0) -> float:
        async with self._engine.connect() as conn:
            state, now = await self._read(conn, key, limits, _READ)
        return buckets.wait_time(state, limits, now, reserve)

    async def penalise(self, key: str, limits: Limits, seconds: float) -> None:
        def step(state: State, now: float) -> tuple[State, None]:
            return buckets.penalise(state, limits, now, seconds), None

        await self._apply(key, limits, step, "penalise")

    async def _apply(self, key: str, limits: Limits, step: Step[T], op: str) -> T:
        """Run ``step`` on the row: compare-and-set first, the row lock when that keeps losing."""
        async with self._engine.connect() as conn:
            for _ in range(self._cas_attempts):
                state, now = await self._read(conn, key, limits, _READ)
                new, result = step(state, now)
                if new == state or await self._swap(conn, key, state, new, op):
                    return result
            self._count("lock")
            await conn.commit()  # ends SQLAlchemy's autobegun no-op transaction (autocommit)
            locked = await conn.execution_options(isolation_level="READ COMMITTED")
            async with locked.begin():
                state, now = await self._read(locked, key, limits, _LOCK)
                new, result = step(state, now)
                if new != state:
                    await self._swap(locked, key, state, new, op)
            return result

    async def aclose(self) -> None:
        await self._engine.dispose()

    async def _read(
        self, conn: AsyncConnection, key: str, limits: Limits, query: Any
    ) -> tuple[State, float]:
        self._count("read")
        row: Any = (await conn.execute(query, {"key": key})).first()
        if row is None:  # first use of this bucket anywhere: it starts full
            self._count("create")
            await conn.execute(_CREATE, {"key": key, "tokens": limits.burst})
            self._count("read")
            row = (await conn.execute(query, {"key": key})).first()
        return State(float(row.tokens), float(row.stamp)), float(row.now)

    async def _swap(self, conn: AsyncConnection, key: str, old: State, new: State, op: str) -> bool:
        self._count(op)
        params = {
            "key": key,
            "tokens": new.tokens,
            "stamp": new.stamp,
            "old_tokens": old.tokens,
            "old_stamp": old.stamp,
        }
        result: Any = await conn.execute(_SWAP, params)
        return bool(result.rowcount)

    def _count(self, op: str) -> None:
        self.transactions += 1
        if self._on_transaction is not None:
            self._on_transaction(op)
