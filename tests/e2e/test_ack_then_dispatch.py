"""Events are acknowledged before Bolt runs them (bot.slack.early_ack): the ack waits for
nothing, an authorization failure after the ack is retried instead of lost, and shutdown runs
every event it acknowledged."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
import sqlalchemy as sa

from bot.store.db import make_engine
from bot.texts import t
from tests.conftest import RunningBot
from tests.e2e.test_oauth_install import replies_in
from tests.fakes import FakeGLM, FakeSlack, Reply, mention_event
from tests.oauth_helpers import ENCRYPTION_KEY, installed, mention_in

OAUTH_TABLES = ("slack_installations", "slack_bots")


@pytest.fixture
async def oauth_bot(
    bot_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, fake_slack: FakeSlack
) -> AsyncIterator[RunningBot]:
    monkeypatch.delenv("SLACK_BOT_TOKEN")
    monkeypatch.setenv("SLACK_CLIENT_ID", fake_slack.client_id)
    monkeypatch.setenv("SLACK_CLIENT_SECRET", fake_slack.client_secret)
    monkeypatch.setenv("SLACK_TOKEN_ENCRYPTION_KEY", ENCRYPTION_KEY)
    fake_slack.add_workspace("TA0001", "Acme", channels=("CA0001",))
    bot = await RunningBot().start()
    async with aiohttp.ClientSession(trust_env=False) as browser:
        await installed(browser, fake_slack, bot.url, "TA0001")
    yield bot
    await bot.stop()


class LogSeen(logging.Handler):
    """Sets ``event`` when a record containing ``needle`` is logged."""

    def __init__(self, needle: str) -> None:
        super().__init__(logging.DEBUG)
        self.needle = needle
        self.event = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if self.needle in record.getMessage():
            self.event.set()


@contextlib.asynccontextmanager
async def installations_unreadable(bot: RunningBot) -> AsyncIterator[None]:
    """The installation tables are gone for a while (as in a database outage): authorization
    fails with an error, not with "not installed"."""
    engine = make_engine(bot.bot.settings.database_url)
    try:
        async with engine.begin() as conn:
            for table in OAUTH_TABLES:
                await conn.execute(sa.text(f"ALTER TABLE {table} RENAME TO {table}_away"))
        yield
    finally:
        async with engine.begin() as conn:
            for table in OAUTH_TABLES:
                await conn.execute(sa.text(f"ALTER TABLE {table}_away RENAME TO {table}"))
        await engine.dispose()


async def test_an_authorization_failure_after_the_ack_is_retried_not_lost(
    oauth_bot: RunningBot,
    fake_slack: FakeSlack,
    fake_glm: FakeGLM,
) -> None:
    fake_glm.enqueue(Reply(chunks=["answered after all"]))
    event, envelope = mention_in(fake_slack, "TA0001", "CA0001", "are you there?")
    failed = LogSeen("Bolt answered 500")
    logger = logging.getLogger("bot.slack.early_ack")
    logger.addHandler(failed)
    try:
        async with installations_unreadable(oauth_bot):
            resp = await oauth_bot.slack.event(event, **envelope)
            # Acknowledged: Slack will not send it again, so the bot must not lose it.
            assert resp.status == 200
            await asyncio.wait_for(failed.event.wait(), timeout=10)
        # The tables are back: the next attempt authorizes and answers.
        await oauth_bot.wait_handled(1)
    finally:
        logger.removeHandler(failed)
    (reply,) = replies_in(fake_slack, "TA0001", "CA0001", event["ts"])
    assert reply.text == "answered after all"
    assert len(fake_glm.requests) == 1


async def test_the_ack_does_not_wait_for_authorization(
    oauth_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    """Bolt used to answer only after authorization: with the installation unreadable the ack
    was a 500 (and Slack's retry the only hope)."""
    fake_glm.enqueue(Reply(chunks=["ok"]))
    event, envelope = mention_in(fake_slack, "TA0001", "CA0001", "quick?")
    async with installations_unreadable(oauth_bot):
        started = time.perf_counter()
        resp = await oauth_bot.slack.event(event, **envelope)
        acked = time.perf_counter() - started
    assert resp.status == 200
    assert acked < 1.0  # generous: what matters is that it did not wait for the database
    await oauth_bot.wait_handled(1)


async def test_every_event_acknowledged_before_shutdown_is_handled_before_it_ends(
    bot_env: dict[str, str], fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    """Slack will not send an acknowledged event again, so stopping must not drop one: each
    gets its answer, or (if its turn would start after shutdown began) the polite request to
    send it again, by the time the bot has stopped."""
    bot = await RunningBot().start()
    n = 12
    fake_glm.default_reply = lambda req: Reply(chunks=[f"answer to {req.user_text}"])
    events = [mention_event(f"q{i}", channel="C0001", user=f"U{100 + i}") for i in range(n)]
    try:
        responses = await asyncio.gather(*(bot.slack.event(e) for e in events))
        assert [r.status for r in responses] == [200] * n
    finally:
        await bot.stop()  # straight after the acks
    restarting = t("restarting", "en")
    for event in events:  # no waiting: all of it happened inside stop()
        texts = [m.text for m in fake_slack.thread_replies_by_bot("C0001", event["ts"])]
        assert texts in ([f"answer to {event['text'].split()[-1]}"], [restarting]), texts
