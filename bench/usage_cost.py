"""What counting usage costs the database per turn: statements, transactions, connection
checkouts and time, before (no counting) and after (counting; counting + quotas).

Not a test. Runs the real bot in this process (``build_bot`` from settings, the aiohttp app on
loopback) against the loopback fakes of ``tests/fakes``, and sends ``--turns`` signed
``app_mention`` events one after the other (each a new thread from its own person, so every
turn does the same work). SQLAlchemy's engine events count, per turn:

- statements (``before_cursor_execute``),
- transactions (``begin``; each costs a ``BEGIN`` and a ``COMMIT``/``ROLLBACK`` round trip on
  PostgreSQL, where the asyncpg driver starts one per transaction),
- connection checkouts (each a ``SELECT 1`` pre-ping round trip on PostgreSQL).

Estimated PostgreSQL round trips per turn = statements + 2 × transactions + checkouts. It also
times the database work usage adds to: recording a turn's outcome (``Repository.finish_reply``,
which carries the usage tally in its transaction) and the quota check (``UsageMeter.breach``).
"Before" is the same bot with its meter taken off (what the code did before issue 16); Slack
budgets are kept in memory
(``SLACK_BUDGET_STORE=local``) and the background loops slowed down so only the turns count.

    python bench/usage_cost.py [--turns 30] [--postgres URL | --sqlite]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from aiohttp import web  # noqa: E402
from sqlalchemy import event  # noqa: E402

from bot.app import build_bot, build_web_app  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.usage.meter import UsageMeter  # noqa: E402
from tests.fakes import FakeGLM, FakeSlack, Reply, SlackSender, mention_event  # noqa: E402

DEFAULT_POSTGRES = os.environ.get("TEST_POSTGRES_URL", "postgresql://root@127.0.0.1:5432/test")
SECRET = "bench-signing-secret-0123456789"
TOKEN = "xoxb-test-bench-usage"  # a fake: the bench talks only to loopback fakes
GLM_KEY = "bench-glm-key.secret"


@dataclass
class Counts:
    statements: int = 0
    transactions: int = 0
    checkouts: int = 0
    finish_seconds: list[float] = field(default_factory=list)
    breach_seconds: list[float] = field(default_factory=list)

    def snapshot(self) -> tuple[int, int, int]:
        return self.statements, self.transactions, self.checkouts


@contextlib.asynccontextmanager
async def postgres(admin_url: str) -> AsyncIterator[str]:
    import asyncpg

    admin = await asyncio.wait_for(asyncpg.connect(admin_url), 10)
    name = f"test_cost_bench_{uuid.uuid4().hex[:10]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{admin_url.rsplit('/', 1)[0]}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def _timed(into: list[float], fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return await fn(*args, **kwargs)
        finally:
            into.append(time.perf_counter() - started)

    return wrapper


async def run(
    label: str, database_url: str, turns: int, *, counting: bool, quotas: bool
) -> dict[str, float]:
    env = {
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "ZHIPUAI_API_KEY": GLM_KEY,
        "DATABASE_URL": database_url,
        "STREAM_MODE": "edit",
        "STREAM_EDIT_INTERVAL": "0",
        "SLACK_BUDGET_STORE": "local",
        "USER_TURNS_PER_WINDOW": "30",
        "INSTANCE_HEARTBEAT_SECONDS": "3600",
        "STOP_POLL_SECONDS": "3600",
        "MONTHLY_TOKENS_PER_USER": "1000000" if quotas else "0",
        "MONTHLY_TOKENS_PER_WORKSPACE": "100000000" if quotas else "0",
        "LOG_LEVEL": "WARNING",
    }
    async with FakeSlack(token=TOKEN) as slack, FakeGLM(api_key=GLM_KEY) as glm:
        env["SLACK_API_BASE_URL"] = slack.api_url
        env["ZHIPUAI_BASE_URL"] = glm.base_url
        os.environ.update(env)
        bot = build_bot(load_settings())
        counts = Counts()
        meter = bot.conversations.meter
        assert isinstance(meter, UsageMeter)
        # Timed: recording a turn's outcome (with the usage tally, after) and the quota check.
        finish = _timed(counts.finish_seconds, bot.repo.finish_reply)
        bot.repo.finish_reply = finish  # type: ignore[method-assign]
        meter.breach = _timed(counts.breach_seconds, meter.breach)  # type: ignore[method-assign]
        if not counting:  # what the bot did before usage was counted
            bot.conversations.meter = None
            bot.conversations.gate.meter = None
        sync = bot.engine.sync_engine

        @event.listens_for(sync, "before_cursor_execute")
        def _statement(*_: Any) -> None:
            counts.statements += 1

        @event.listens_for(sync, "begin")
        def _begin(*_: Any) -> None:
            counts.transactions += 1

        @event.listens_for(sync.pool, "checkout")
        def _checkout(*_: Any) -> None:
            counts.checkouts += 1

        runner = web.AppRunner(build_web_app(bot), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        per_turn: list[tuple[int, int, int]] = []
        try:
            async with aiohttp.ClientSession(trust_env=False) as session:
                sender = SlackSender(f"http://127.0.0.1:{port}/slack/events", SECRET, session)
                for i in range(turns + 1):  # the first turn warms pools and caches
                    user = f"U{i:05d}"
                    slack.add_user(user)
                    glm.enqueue(Reply(chunks=["An answer."]))
                    before = counts.snapshot()
                    ev = mention_event(f"question {i}", user=user)
                    await sender.event(ev)
                    await slack.wait_for(
                        lambda f, ts=ev["ts"]: any(
                            m.text == "An answer." and not m.streaming
                            for m in f.thread_replies_by_bot("C0001", ts)
                        ),
                        timeout=20,
                        what=f"turn {i}",
                    )
                    assert await bot.conversations.executor.wait_idle(20), "turn still running"
                    after = counts.snapshot()
                    if i:
                        per_turn.append(tuple(a - b for a, b in zip(after, before, strict=True)))
        finally:
            await runner.cleanup()
    statements, transactions, checkouts = (statistics.mean(c) for c in zip(*per_turn, strict=True))
    finish_ms = 1000 * statistics.median(counts.finish_seconds)
    breach_ms = 1000 * statistics.median(counts.breach_seconds) if counts.breach_seconds else 0.0
    return {
        "label": label,  # type: ignore[dict-item]
        "statements": statements,
        "transactions": transactions,
        "checkouts": checkouts,
        "round_trips": statements + 2 * transactions + checkouts,
        "finish_ms": finish_ms,
        "breach_ms": breach_ms,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=30)
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES)
    parser.add_argument("--sqlite", action="store_true", help="SQLite in a temp dir instead")
    args = parser.parse_args()
    configs = (
        ("before (no counting)", False, False),
        ("after: counting", True, False),
        ("after: counting + quotas", True, True),
    )
    rows = []
    for label, counting, quotas in configs:
        if args.sqlite:
            with tempfile.TemporaryDirectory() as tmp:
                url = f"sqlite+aiosqlite:///{tmp}/bench.db"
                rows.append(await run(label, url, args.turns, counting=counting, quotas=quotas))
        else:
            async with postgres(args.postgres) as url:
                rows.append(await run(label, url, args.turns, counting=counting, quotas=quotas))
    store = "SQLite" if args.sqlite else "PostgreSQL"
    print(f"{args.turns} sequential turns on {store}: counts per turn (means), times (medians):")
    print(
        f"{'':28} {'statements':>10} {'transactions':>12} {'checkouts':>9} "
        f"{'~PG round trips':>15} {'outcome ms':>10} {'quota ms':>8}"
    )
    for r in rows:
        print(
            f"{r['label']:28} {r['statements']:10.1f} {r['transactions']:12.1f} "
            f"{r['checkouts']:9.1f} {r['round_trips']:15.1f} "
            f"{r['finish_ms']:10.2f} {r['breach_ms']:8.2f}"
        )


if __name__ == "__main__":
    asyncio.run(main())
