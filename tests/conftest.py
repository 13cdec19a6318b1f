"""Shared fixtures: loopback fakes, and the real bot configured through environment variables."""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from collections.abc import AsyncIterator, Hashable, Iterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from bot.app import Bot, build_bot, build_web_app
from bot.concurrency import Job, KeyedSerialExecutor
from bot.config import load_settings
from bot.usage.month import Clock, system_clock
from tests.fakes import FakeGLM, FakeSlack, SlackSender

SIGNING_SECRET = "test-signing-secret-0123456789"
BOT_TOKEN = "xoxb-test-token"
GLM_KEY = "test-glm-key.secret"

_BOT_ENV_PREFIXES = ("SLACK_", "ZHIPUAI_", "GLM_", "DATABASE_URL", "PORT", "STREAM_", "LOG_")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No proxy (slack_sdk ignores NO_PROXY), no stray bot settings, no .env from the cwd."""
    for var in list(os.environ):
        if var.lower().endswith("_proxy") or var.startswith(_BOT_ENV_PREFIXES):
            monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    yield


SECRETS = (BOT_TOKEN, SIGNING_SECRET, GLM_KEY)


@pytest.fixture(autouse=True)
def _no_secret_in_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Every test doubles as a leak check: no secret may appear in anything the code logged."""
    caplog.set_level(logging.DEBUG, logger="bot")
    yield
    for record in caplog.records:
        text = record.getMessage() + (record.exc_text or "")
        if record.exc_info and record.exc_info[1] is not None:
            text += repr(record.exc_info[1])
        for secret in SECRETS:
            assert secret not in text, f"secret leaked in log from {record.name}: {text[:200]}"


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    fake = await FakeSlack(token=BOT_TOKEN).start()
    yield fake
    await fake.stop()


@pytest.fixture
async def fake_glm() -> AsyncIterator[FakeGLM]:
    fake = await FakeGLM(api_key=GLM_KEY).start()
    yield fake
    await fake.stop()


@pytest.fixture
def bot_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> dict[str, str]:
    """Configure the bot the way an operator would: environment variables only."""
    env = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_BASE_URL": fake_slack.api_url,
        "ZHIPUAI_API_KEY": GLM_KEY,
        "ZHIPUAI_BASE_URL": fake_glm.base_url,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        "STREAM_EDIT_INTERVAL": "0.2",
        # The suite at large checks the post-and-edit strategy; tests of native streaming and
        # of the auto mix (the default) set STREAM_MODE themselves.
        "STREAM_MODE": "edit",
        "GLM_RETRY_BASE_DELAY": "0.01",
        "GLM_RETRY_MAX_DELAY": "0.05",
        "GLM_IDLE_TIMEOUT": "5",
        "SHUTDOWN_GRACE_SECONDS": "5",
        # Tool outputs are fetched only from the fake GLM's own origin: never the internet.
        "GLM_FILE_HOSTS": "",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


class CountingExecutor(KeyedSerialExecutor):
    """The real executor, counting finished jobs so tests can wait for "handled" (answered,
    refused or skipped) without a test hook in the bot: the harness injects it like any
    embedding could."""

    def __init__(self, **bounds: int) -> None:
        super().__init__(**bounds)
        self.finished = 0
        self._changed = asyncio.Condition()

    def submit(self, key: Hashable, job: Job) -> bool:
        async def counted() -> None:
            try:
                await job()
            finally:
                async with self._changed:
                    self.finished += 1
                    self._changed.notify_all()

        return super().submit(key, counted)

    async def wait_finished(self, count: int, timeout: float) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: self.finished >= count), timeout)


class RunningBot:
    """The real bot on a loopback port, plus a client that signs requests like Slack."""

    def __init__(self, *, clock: Clock = system_clock, **executor_bounds: int) -> None:
        self._bounds = executor_bounds  # max_per_key / max_total, as an embedding may set them
        self.bot: Bot
        self.clock = clock  # which calendar month usage counts in (build_bot's clock)
        self.url = ""
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.slack: SlackSender

    async def start(self) -> RunningBot:
        self.executor = CountingExecutor(**self._bounds)
        self.bot = build_bot(load_settings(), executor=self.executor, clock=self.clock)
        self._runner = web.AppRunner(build_web_app(self.bot), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        self._session = aiohttp.ClientSession(trust_env=False)
        self.slack = SlackSender(f"{self.url}/slack/events", SIGNING_SECRET, self._session)
        return self

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def wait_handled(self, count: int, timeout: float = 10.0) -> None:
        """Wait until ``count`` delivered messages (or Retry presses) were fully handled."""
        await self.executor.wait_finished(count, timeout)

    async def get_text(self, path: str) -> tuple[int, str]:
        assert self._session is not None
        async with self._session.get(self.url + path) as resp:
            return resp.status, await resp.text()

    async def get(self, path: str) -> tuple[int, dict]:
        assert self._session is not None
        async with self._session.get(self.url + path) as resp:
            return resp.status, await resp.json(content_type=None)


@pytest.fixture
async def running_bot(bot_env: dict[str, str]) -> AsyncIterator[RunningBot]:
    bot = await RunningBot().start()
    yield bot
    await bot.stop()


POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://root@127.0.0.1:5432/test")


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    """An empty PostgreSQL database of the test's own on ``TEST_POSTGRES_URL``'s server, dropped
    afterwards; the test is skipped, with the reason, when the server is unreachable."""
    asyncpg = pytest.importorskip("asyncpg")
    try:
        admin = await asyncio.wait_for(asyncpg.connect(POSTGRES_ADMIN_URL), 5)
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        pytest.skip(f"PostgreSQL unreachable at {POSTGRES_ADMIN_URL}: {type(exc).__name__}: {exc}")
    name = f"glm_bot_{uuid.uuid4().hex[:12]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{POSTGRES_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
