"""What one Slack-budget grant costs in each store: is Redis worth adding next to PostgreSQL?

Not a test. Times ``take`` on an always-granting bucket (so every call is a full grant: read
and write) for the in-process store, the PostgreSQL store the bot uses, and, when the ``redis``
package is importable and a server answers at ``REDIS_URL``, a Lua token bucket written here
only for the comparison (the same arithmetic in one server-side script, one round trip).
Sequential: latency and client CPU per grant. Concurrent: ``--instances`` stores (separate
pools, as separate processes would have) granting from one bucket at once, which is where the
database's compare-and-set may have to retry.

    python bench/budget_store.py [--grants 2000] [--instances 4]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.stream_load import DEFAULT_POSTGRES, fresh_database  # noqa: E402
from bot.reply.buckets import Limits  # noqa: E402
from bot.reply.ratelimit import LocalStore  # noqa: E402
from bot.store.budgets import DatabaseBucketStore  # noqa: E402
from bot.store.db import make_engine  # noqa: E402
from bot.store.migrate import upgrade_to_head  # noqa: E402

PLENTY = Limits(rate=1e6, burst=1e9)  # never refuses: every take is a whole grant

LUA_TAKE = """
local rate, burst, reserve = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
local v = redis.call('HMGET', KEYS[1], 'tokens', 'stamp')
local tokens, stamp = tonumber(v[1]), tonumber(v[2])
if tokens == nil then tokens, stamp = burst, now end
if now > stamp then tokens = math.min(burst, tokens + (now - stamp) * rate); stamp = now end
local need = 1 + reserve - tokens
if need <= 0 then tokens = tokens - 1 end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'stamp', tostring(stamp))
if need <= 0 then return '0' end
return tostring(need / rate)
"""


class RedisStore:
    """A Lua token bucket: one round trip per grant. For this comparison only."""

    shared = True

    def __init__(self, url: str) -> None:
        import redis.asyncio as redis

        self._client: Any = redis.from_url(url)
        self._script = self._client.register_script(LUA_TAKE)

    async def take(self, key: str, limits: Limits, reserve: float = 0.0) -> float:
        return float(await self._script(keys=[key], args=[limits.rate, limits.burst, reserve]))

    async def aclose(self) -> None:
        await self._client.aclose()


Take = Callable[[str, Limits], Awaitable[float]]


async def sequential(take: Take, key: str, n: int) -> tuple[float, float]:
    """(wall µs, client CPU µs) per grant, one grant after the other."""
    await take(key, PLENTY)  # create the bucket, warm the pool
    wall0, cpu0 = time.perf_counter(), time.process_time()
    for _ in range(n):
        await take(key, PLENTY)
    return (
        (time.perf_counter() - wall0) / n * 1e6,
        (time.process_time() - cpu0) / n * 1e6,
    )


async def concurrent(takes: list[Take], key: str, n: int) -> float:
    """Grants per second with every store granting from one bucket at once."""
    for take in takes:
        await take(key, PLENTY)

    async def run(take: Take) -> None:
        for _ in range(n // len(takes)):
            await take(key, PLENTY)

    wall0 = time.perf_counter()
    await asyncio.gather(*(run(take) for take in takes))
    return n / (time.perf_counter() - wall0)


def row(name: str, seq: tuple[float, float], rate: float | None, extra: str = "") -> None:
    together = f"{rate:8.0f} grants/s" if rate is not None else " " * 17
    print(f"  {name:22} {seq[0]:8.0f} µs {seq[1]:8.0f} µs   {together} {extra}")


async def main_async(args: argparse.Namespace) -> int:
    print(
        f"budget_store: {time.strftime('%Y-%m-%d %H:%M:%S %Z')}, {os.cpu_count()} CPUs, "
        f"{args.grants} grants"
    )
    header = f"  {'store':22} {'latency':>11} {'client CPU':>11}"
    print(f"{header}   concurrent ({args.instances} stores)")
    local = LocalStore()
    row("in-process", await sequential(local.take, "local", args.grants), None)

    async with fresh_database(args.postgres) as url:
        engine = make_engine(url.replace("postgresql://", "postgresql+asyncpg://"))
        stores = [DatabaseBucketStore(engine) for _ in range(args.instances)]
        try:
            await upgrade_to_head(engine)
            seq = await sequential(stores[0].take, "seq", args.grants)
            per_grant = stores[0].transactions / (args.grants + 1)
            before = sum(s.transactions for s in stores)
            rate = await concurrent([s.take for s in stores], "shared", args.grants)
            statements = (sum(s.transactions for s in stores) - before) / args.grants
            row(
                "PostgreSQL (CAS)",
                seq,
                rate,
                f"statements/grant: {per_grant:.2f} alone, {statements:.2f} contended",
            )
        finally:
            for store in stores:
                await store.aclose()
            await engine.dispose()

    try:
        redis_stores = [RedisStore(args.redis) for _ in range(args.instances)]
        try:
            seq = await sequential(redis_stores[0].take, "glm-bench:seq", args.grants)
            rate = await concurrent([s.take for s in redis_stores], "glm-bench:shared", args.grants)
            row("Redis (Lua)", seq, rate, "1 round trip/grant")
        finally:
            for store in redis_stores:
                await store._client.delete("glm-bench:seq", "glm-bench:shared")
                await store.aclose()
    except Exception as exc:  # no package or no server: the comparison is optional
        print(f"  Redis (Lua)            skipped: {type(exc).__name__}: {exc}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--grants", type=int, default=2000)
    parser.add_argument("--instances", type=int, default=4)
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES)
    parser.add_argument("--redis", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    args = parser.parse_args(argv)
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
