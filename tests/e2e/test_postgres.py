"""The scale-out path on a real PostgreSQL: several instances share one database.

Needs a server at ``TEST_POSTGRES_URL`` (default ``postgresql://root@127.0.0.1:5432/test``);
each test gets its own freshly created database. Skipped, with the reason shown, only when the
server cannot be reached.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import text

from bot.store.db import make_engine
from bot.store.migrate import upgrade_to_head
from bot.store.models import utcnow
from bot.store.repository import Repository
from tests.conftest import POSTGRES_ADMIN_URL, RunningBot
from tests.fakes import FakeGLM, FakeSlack, Reply, mention_event, message_event


async def test_repository_is_race_free_on_postgres(pg_url: str) -> None:
    engine = make_engine(pg_url.replace("postgresql://", "postgresql+asyncpg://"))
    try:
        await upgrade_to_head(engine)
        await upgrade_to_head(engine)  # idempotent
        repo = Repository(engine)
        claims = await asyncio.gather(*(repo.claim("event:Ev1") for _ in range(20)))
        assert claims.count(True) == 1
        created = await asyncio.gather(
            *(
                repo.open_thread(
                    team_id="T1",
                    channel_id="C1",
                    thread_ts="1.000001",
                    default_assistant_id=f"{i:024x}",
                )
                for i in range(10)
            )
        )
        assert sum(1 for _, was_created in created if was_created) == 1
        assert len({record.assistant_id for record, _ in created}) == 1
        await repo.set_channel_assistant(
            team_id="T1", channel_id="C1", assistant_id="a" * 24, updated_by="U1"
        )
        await repo.set_channel_assistant(
            team_id="T1", channel_id="C1", assistant_id="b" * 24, updated_by="U2"
        )
        assert await repo.get_channel_assistant(team_id="T1", channel_id="C1") == "b" * 24
        record, created_here = await repo.open_thread(
            team_id="T1", channel_id="C1", thread_ts="2.000001", default_assistant_id="c" * 24
        )
        assert created_here and record.assistant_id == "b" * 24  # the channel's choice wins
        assert await repo.claim_all(["event:Ev1", "event:Ev2"]) == [False, True]
        # Turn tickets take their own path here (a concurrent ticket is invisible until it
        # commits): ten at once, exactly three admitted, the refused ones withdrawn.
        since = utcnow() - timedelta(minutes=10)
        tickets = await asyncio.gather(
            *(
                repo.take_turn_ticket(team_id="T1", user_id="U1", since=since, max_turns=3)
                for _ in range(10)
            )
        )
        assert tickets.count(None) == 3
        left = await repo.take_turn_ticket(team_id="T1", user_id="U1", since=since, max_turns=3)
        assert left is not None and len(left) == 3
    finally:
        await engine.dispose()


async def test_two_instances_share_threads_on_postgres(
    bot_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    pg_url: str,
    fake_slack: FakeSlack,
    fake_glm: FakeGLM,
) -> None:
    monkeypatch.setenv("DATABASE_URL", pg_url)  # plain postgresql:// as an operator writes it
    first = await RunningBot().start()
    second = await RunningBot().start()
    try:
        root = mention_event("started on instance one")
        await first.slack.event(root)
        await first.wait_handled(1)
        follow = message_event("continued on instance two", thread_ts=root["ts"])
        await second.slack.event(follow)
        await second.wait_handled(1)
        # Slack retries an event to the other instance: answered once across both.
        await first.slack.event(follow, event_id="EvShared", retry_num=None)
        await second.slack.event(follow, event_id="EvShared", retry_num=1)
        await first.wait_handled(2)
        await second.wait_handled(2)
    finally:
        await first.stop()
        await second.stop()

    conversation = fake_glm.streams[0].conversation_id
    assert [r.user_text for r in fake_glm.requests] == [
        "started on instance one",
        "continued on instance two",
    ]
    assert fake_glm.requests[1].body["conversation_id"] == conversation
    assert len(fake_slack.thread_replies_by_bot("C0001", root["ts"])) == 2


async def test_one_turn_at_a_time_per_thread_across_instances(
    bot_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    pg_url: str,
    fake_slack: FakeSlack,
    fake_glm: FakeGLM,
) -> None:
    from tests.fakes import Reply

    monkeypatch.setenv("DATABASE_URL", pg_url)
    first = await RunningBot().start()
    second = await RunningBot().start()
    gate = asyncio.Event()
    try:
        root = mention_event("start")
        await first.slack.event(root)
        await first.wait_handled(1)

        fake_glm.enqueue(Reply(chunks=["slow ", "answer"], stall_after=1, gate=gate))
        await first.slack.event(message_event("question A", thread_ts=root["ts"]))
        await fake_glm.wait_for_stream_start(2)
        await second.slack.event(message_event("question B", thread_ts=root["ts"]))
        await fake_slack.wait_for(
            lambda f: (
                f.statuses.get(("C0001", root["ts"])) == "is waiting for the previous answer…"
            ),
            what="the second instance waiting for the thread",
        )
        assert [r.user_text for r in fake_glm.requests] == ["start", "question A"]
        gate.set()
        await first.wait_handled(2)
        await second.wait_handled(1)
    finally:
        gate.set()
        await first.stop()
        await second.stop()

    conversation = fake_glm.streams[0].conversation_id
    assert [r.user_text for r in fake_glm.requests] == ["start", "question A", "question B"]
    assert all(r.body.get("conversation_id") == conversation for r in fake_glm.requests[1:])
    texts = [m.text for m in fake_slack.thread_replies_by_bot("C0001", root["ts"])]
    assert texts[1] == "slow answer"


async def test_healthz_turns_503_when_the_database_goes_away(
    bot_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, pg_url: str
) -> None:
    import asyncpg

    monkeypatch.setenv("DATABASE_URL", pg_url)
    bot = await RunningBot().start()
    try:
        assert (await bot.get("/healthz"))[0] == 200
        admin = await asyncpg.connect(POSTGRES_ADMIN_URL)
        try:
            await admin.execute(f'DROP DATABASE "{pg_url.rsplit("/", 1)[1]}" WITH (FORCE)')
        finally:
            await admin.close()
        status, body = await bot.get("/healthz")
        assert status == 503 and body["ok"] is False
    finally:
        await bot.stop()


async def test_the_first_text_does_not_wait_for_the_conversation_id_to_be_written(
    bot_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    pg_url: str,
    fake_slack: FakeSlack,
    fake_glm: FakeGLM,
) -> None:
    """A new conversation's id is written beside the stream, not in front of its first text:
    under a burst that write queued behind every other turn's and held the first words back.
    Here the thread's row is locked while the answer starts: its text still shows at once,
    and the id is there once the lock goes (the turn waits for it before it ends)."""
    monkeypatch.setenv("DATABASE_URL", pg_url)
    bot = await RunningBot().start()
    reply = Reply(chunks=["first words", " and the rest"], stall_after=0)
    fake_glm.enqueue(reply)
    root = mention_event("hello")
    engine = make_engine(pg_url.replace("postgresql://", "postgresql+asyncpg://"))
    try:
        await bot.slack.event(root)
        await fake_glm.wait_for_stream_state("stalled")
        async with engine.connect() as conn:
            lock = await conn.begin()
            await conn.execute(
                text("SELECT id FROM threads WHERE thread_ts = :ts FOR UPDATE"), {"ts": root["ts"]}
            )
            assert reply.gate is not None
            reply.gate.set()
            await fake_slack.wait_for(
                lambda f: any(
                    "first words" in m.text for m in f.thread_replies_by_bot("C0001", root["ts"])
                ),
                timeout=5,
                what="the first text while the thread row is locked",
            )
            await lock.rollback()
        await bot.wait_handled(1)
        async with engine.connect() as conn:
            stored = await conn.scalar(
                text("SELECT conversation_id FROM threads WHERE thread_ts = :ts"),
                {"ts": root["ts"]},
            )
        assert stored == fake_glm.streams[0].conversation_id
        (final,) = fake_slack.thread_replies_by_bot("C0001", root["ts"])
        assert final.text == "first words and the rest"
    finally:
        await engine.dispose()
        await bot.stop()
