"""What OAuth mode costs per request: acknowledgement latency and Slack calls, single-token
mode against OAuth mode (SQLite, and PostgreSQL when reachable).

Not a test. Runs the real bot in-process on loopback (configured by environment variables,
like the e2e tests), installs one workspace through the real routes in OAuth mode, then sends
``--requests`` signed ``message`` events one after another (channel messages outside any bot
thread: authorised, deduplicated and routed, but no GLM turn, so what is timed is the
per-request work) and reports ack p50/p99 and the Slack calls made while they ran. Bolt's own
multi-workspace authorisation would call ``auth.test`` once per request; ours reads the bot's
identity from the stored installation.

    python bench/oauth_requests.py [--requests 300]
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
from collections.abc import AsyncIterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402

from bench.stream_load import DEFAULT_POSTGRES, fresh_database  # noqa: E402
from tests.conftest import BOT_TOKEN, GLM_KEY, SIGNING_SECRET, RunningBot  # noqa: E402
from tests.fakes import FakeGLM, FakeSlack, message_event  # noqa: E402
from tests.oauth_helpers import ENCRYPTION_KEY, install, team_authorizations  # noqa: E402


@contextlib.contextmanager
def environment(values: dict[str, str]):
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextlib.asynccontextmanager
async def database(kind: str) -> AsyncIterator[str]:
    if kind == "postgres":
        async with fresh_database(DEFAULT_POSTGRES) as url:
            yield url
        return
    with tempfile.TemporaryDirectory() as tmp:
        yield f"sqlite+aiosqlite:///{tmp}/bench.db"


async def run(mode: str, db: str, requests: int) -> str:
    fake = await FakeSlack(token=BOT_TOKEN).start()
    glm = await FakeGLM(api_key=GLM_KEY).start()
    fake.add_workspace("TA0001", "Acme", channels=("CA0001",))
    try:
        async with database(db) as url:
            env = {
                "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                "SLACK_API_BASE_URL": fake.api_url,
                "ZHIPUAI_API_KEY": GLM_KEY,
                "ZHIPUAI_BASE_URL": glm.base_url,
                "DATABASE_URL": url,
                "STREAM_MODE": "edit",
                "LOG_LEVEL": "WARNING",
            }
            if mode == "oauth":
                env |= {
                    "SLACK_CLIENT_ID": fake.client_id,
                    "SLACK_CLIENT_SECRET": fake.client_secret,
                    "SLACK_TOKEN_ENCRYPTION_KEY": ENCRYPTION_KEY,
                }
            else:
                env["SLACK_BOT_TOKEN"] = BOT_TOKEN
            with environment(env):
                bot = await RunningBot().start()
            try:
                team, channel, bot_user = "T0001", "C0001", "UBOT"
                if mode == "oauth":
                    async with aiohttp.ClientSession(trust_env=False) as browser:
                        await install(browser, fake, "TA0001", page_on=bot.url, redirect_to=bot.url)
                    team, channel, bot_user = "TA0001", "CA0001", "UBTA0001"
                before = len(fake.calls)
                acks = []
                for i in range(requests):
                    event = message_event(
                        f"chatter {i}", channel=channel, team=team, thread_ts="1690000000.000100"
                    )
                    started = time.perf_counter()
                    resp = await bot.slack.event(
                        event,
                        team_id=team,
                        bot_user_id=bot_user,
                        authorizations=team_authorizations(team, bot_user),
                    )
                    acks.append(time.perf_counter() - started)
                    assert resp.status == 200
                await bot.wait_handled(requests, timeout=120)
                calls = fake.calls[before:]
            finally:
                await bot.stop()
    finally:
        await glm.stop()
        await fake.stop()
    acks.sort()
    p50 = statistics.median(acks) * 1000
    p99 = acks[int(len(acks) * 0.99) - 1] * 1000
    methods = sorted({c.method for c in calls})
    return (
        f"{mode:6} {db:8} ack p50 {p50:5.1f} ms  p99 {p99:5.1f} ms  "
        f"Slack calls {len(calls)} {methods}"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    for mode, db in (
        ("single", "sqlite"),
        ("oauth", "sqlite"),
        ("single", "postgres"),
        ("oauth", "postgres"),
    ):
        try:
            print(await run(mode, db, args.requests), flush=True)
        except OSError as exc:
            print(f"{mode} {db}: skipped ({exc})")


if __name__ == "__main__":
    asyncio.run(main())
