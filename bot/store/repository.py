"""All database access the bot does, as intention-named async methods.

Every write is one short transaction with an atomic statement (insert-or-ignore, keyed update),
so it is safe across coroutines and across bot instances sharing one database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Executable, bindparam, delete, func, insert, or_, select, true, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.models import (
    ChannelSetting,
    Instance,
    ProcessedEvent,
    Reply,
    Thread,
    ThreadFile,
    ThreadLease,
    TurnTicket,
    utcnow,
)

# What a Stop press did through the database (see Repository.request_stop).
StopRequest = Literal["requested", "not_yours", "finished"]


@dataclass(frozen=True, slots=True)
class ThreadRecord:
    id: int
    team_id: str
    channel_id: str
    thread_ts: str
    assistant_id: str
    conversation_id: str | None


@dataclass(frozen=True, slots=True)
class ReplyRecord:
    id: int
    turn_id: str
    team_id: str
    channel_id: str
    thread_ts: str
    user_id: str
    assistant_id: str
    question: str
    message_ts: tuple[str, ...]
    status: str
    lang: str | None = None  # the reply's language (None: started before 0009_recovery)


@dataclass(frozen=True, slots=True)
class ThreadFileRecord:
    slack_file_id: str
    glm_file_id: str | None
    name: str
    kind: str
    mimetype: str
    size: int


def _aware(moment: datetime) -> datetime:
    """SQLite hands timezone-aware columns back naive; they were written in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


_THREAD_COLUMNS = (
    Thread.id,
    Thread.team_id,
    Thread.channel_id,
    Thread.thread_ts,
    Thread.assistant_id,
    Thread.conversation_id,
)


def _earlier(rows: Any, ticket_id: int) -> list[datetime]:
    """The start times of the tickets before ``ticket_id`` (ids grow with insertion)."""
    return [_aware(at) for row_id, at in rows if row_id < ticket_id]


def _reply(row: Any) -> ReplyRecord:
    return ReplyRecord(
        row.id,
        row.turn_id,
        row.team_id,
        row.channel_id,
        row.thread_ts,
        row.user_id,
        row.assistant_id,
        row.question,
        tuple((row.message_ts or "").split()),
        row.status,
        row.lang,
    )


class _Prepared:
    """The statements every turn runs, built once with bound parameters (``p_*``).

    Building a statement and deriving its cache key cost about a third of a short transaction's
    CPU on SQLite (800 against 1,200 µs); these are built once per repository, for its dialect.
    """

    def __init__(self, insert_of: Any) -> None:
        p = bindparam
        self.claim = (
            insert_of(ProcessedEvent)
            .values(key=p("p_key"), received_at=p("p_at"))
            .on_conflict_do_nothing(index_elements=["key"])
        )
        self.get_thread = select(*_THREAD_COLUMNS).where(
            Thread.team_id == p("p_team"),
            Thread.channel_id == p("p_channel"),
            Thread.thread_ts == p("p_thread_ts"),
        )
        chosen = func.coalesce(
            select(ChannelSetting.assistant_id)
            .where(
                ChannelSetting.team_id == p("p_team"), ChannelSetting.channel_id == p("p_channel")
            )
            .scalar_subquery(),
            p("p_default"),
        )
        self.open_thread = (
            insert_of(Thread)
            .values(
                team_id=p("p_team"),
                channel_id=p("p_channel"),
                thread_ts=p("p_thread_ts"),
                assistant_id=chosen,
                created_at=p("p_at"),
                updated_at=p("p_at"),
            )
            .on_conflict_do_nothing(index_elements=["team_id", "channel_id", "thread_ts"])
            .returning(Thread.id, Thread.assistant_id, Thread.conversation_id)
        )
        self.set_conversation = (
            update(Thread)
            .where(Thread.id == p("p_id"))
            .values(conversation_id=p("p_conversation"), updated_at=p("p_at"))
        )
        self.start_reply = (
            insert(Reply)
            .values(
                instance_id=p("p_instance"),
                lang=p("p_lang"),
                turn_id=p("p_turn"),
                team_id=p("p_team"),
                channel_id=p("p_channel"),
                thread_ts=p("p_thread_ts"),
                user_id=p("p_user"),
                assistant_id=p("p_assistant"),
                question=p("p_question"),
                status="streaming",
                started_at=p("p_at"),
            )
            .returning(Reply.id)
        )
        self.reply_messages = (
            update(Reply).where(Reply.id == p("p_id")).values(message_ts=p("p_messages"))
        )
        self.finish_reply = (
            update(Reply)
            .where(Reply.id == p("p_id"))
            .values(
                status=p("p_status"),
                error_code=p("p_error"),
                prompt_tokens=p("p_prompt"),
                completion_tokens=p("p_completion"),
                finished_at=p("p_at"),
            )
        )
        self.add_ticket = (
            insert(TurnTicket)
            .values(team_id=p("p_team"), user_id=p("p_user"), at=p("p_at"))
            .returning(TurnTicket.id)
        )
        self.ticket_window = (
            select(TurnTicket.id, TurnTicket.at)
            .where(
                TurnTicket.team_id == p("p_team"),
                TurnTicket.user_id == p("p_user"),
                TurnTicket.at > p("p_since"),
            )
            .order_by(TurnTicket.id)
        )
        self.drop_ticket = delete(TurnTicket).where(TurnTicket.id == p("p_id"))
        lease = insert_of(ThreadLease).values(
            key=p("p_key"), holder=p("p_holder"), expires_at=p("p_expires")
        )
        self.take_lease = lease.on_conflict_do_update(
            index_elements=["key"],
            set_={"holder": lease.excluded.holder, "expires_at": lease.excluded.expires_at},
            where=or_(ThreadLease.expires_at < p("p_now"), ThreadLease.holder == p("p_holder")),
        )
        self.release_lease = delete(ThreadLease).where(
            ThreadLease.key == p("p_key"), ThreadLease.holder == p("p_holder")
        )


class Repository:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._insert = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert
        self._writers_serialised = engine.dialect.name == "sqlite"  # one writer at a time
        self._sql = _Prepared(self._insert)

    # -- events -----------------------------------------------------------------------------
    async def claim(self, key: str) -> bool:
        """True exactly once per key, across coroutines and instances."""
        return (await self.claim_all([key]))[0]

    async def claim_all(self, keys: Sequence[str]) -> list[bool]:
        """:meth:`claim` for several keys in one transaction (one commit, not one each); for
        each key, whether this call claimed it. Callers pass keys in one fixed order, so two
        transactions claiming overlapping keys wait for each other instead of deadlocking."""
        now = utcnow()
        claimed: list[bool] = []
        async with self.engine.begin() as conn:
            for key in keys:
                result: Any = await conn.execute(self._sql.claim, {"p_key": key[:160], "p_at": now})
                claimed.append(bool(result.rowcount))
        return claimed

    async def prune_events(self, older_than: timedelta) -> int:
        cutoff = utcnow() - older_than
        async with self.engine.begin() as conn:
            result: Any = await conn.execute(
                delete(ProcessedEvent).where(ProcessedEvent.received_at < cutoff)
            )
            return int(result.rowcount or 0)

    # -- threads ----------------------------------------------------------------------------
    async def get_thread(
        self, *, team_id: str, channel_id: str, thread_ts: str
    ) -> ThreadRecord | None:
        params = {"p_team": team_id, "p_channel": channel_id, "p_thread_ts": thread_ts}
        async with self.engine.connect() as conn:
            row = (await conn.execute(self._sql.get_thread, params)).first()
            return ThreadRecord(*row) if row else None

    async def open_thread(
        self, *, team_id: str, channel_id: str, thread_ts: str, default_assistant_id: str
    ) -> tuple[ThreadRecord, bool]:
        """The thread's record and whether this call created it; a new thread gets its
        channel's assistant (``/glm-agent``), else ``default_assistant_id``. One statement
        (the channel's choice is read inside the INSERT) where a lookup and an insert took
        two transactions."""
        params = {
            "p_team": team_id,
            "p_channel": channel_id,
            "p_thread_ts": thread_ts,
            "p_default": default_assistant_id,
            "p_at": utcnow(),
        }
        async with self.engine.begin() as conn:
            row = (await conn.execute(self._sql.open_thread, params)).first()
        if row is not None:
            thread_id, assistant_id, conversation_id = row
            record = ThreadRecord(
                thread_id, team_id, channel_id, thread_ts, assistant_id, conversation_id
            )
            return record, True
        existing = await self.get_thread(
            team_id=team_id, channel_id=channel_id, thread_ts=thread_ts
        )
        assert existing is not None
        return existing, False

    async def set_conversation_id(self, thread_id: int, conversation_id: str | None) -> None:
        params = {"p_id": thread_id, "p_conversation": conversation_id, "p_at": utcnow()}
        async with self.engine.begin() as conn:
            await conn.execute(self._sql.set_conversation, params)

    # -- thread files -------------------------------------------------------------------------
    async def thread_files(
        self, *, team_id: str, channel_id: str, thread_ts: str
    ) -> list[ThreadFileRecord]:
        """The files a thread has shared with GLM, oldest first."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(ThreadFile.__table__)
                .where(
                    ThreadFile.team_id == team_id,
                    ThreadFile.channel_id == channel_id,
                    ThreadFile.thread_ts == thread_ts,
                )
                .order_by(ThreadFile.id)
            )
            return [
                ThreadFileRecord(r.slack_file_id, r.glm_file_id, r.name, r.kind, r.mimetype, r.size)
                for r in rows
            ]

    async def add_thread_file(
        self, *, team_id: str, channel_id: str, thread_ts: str, record: ThreadFileRecord
    ) -> None:
        """Remember a file of a thread (the first record of a Slack file id wins)."""
        stmt = (
            self._insert(ThreadFile)
            .values(
                team_id=team_id,
                channel_id=channel_id,
                thread_ts=thread_ts,
                slack_file_id=record.slack_file_id,
                glm_file_id=record.glm_file_id,
                name=record.name[:255],
                kind=record.kind,
                mimetype=record.mimetype[:128],
                size=record.size,
                created_at=utcnow(),
            )
            .on_conflict_do_nothing(
                index_elements=["team_id", "channel_id", "thread_ts", "slack_file_id"]
            )
        )
        async with self.engine.begin() as conn:
            await conn.execute(stmt)

    async def forget_thread_files(
        self, *, team_id: str, channel_id: str, thread_ts: str, glm_file_ids: Sequence[str]
    ) -> None:
        """Drop files GLM no longer has, so later turns stop attaching them."""
        async with self.engine.begin() as conn:
            await conn.execute(
                delete(ThreadFile).where(
                    ThreadFile.team_id == team_id,
                    ThreadFile.channel_id == channel_id,
                    ThreadFile.thread_ts == thread_ts,
                    ThreadFile.glm_file_id.in_(list(glm_file_ids)),
                )
            )

    # -- channel settings -------------------------------------------------------------------
    async def get_channel_assistant(self, *, team_id: str, channel_id: str) -> str | None:
        async with self.engine.connect() as conn:
            return await conn.scalar(
                select(ChannelSetting.assistant_id).where(
                    ChannelSetting.team_id == team_id, ChannelSetting.channel_id == channel_id
                )
            )

    async def set_channel_assistant(
        self, *, team_id: str, channel_id: str, assistant_id: str | None, updated_by: str
    ) -> None:
        """Set (or, with ``None``, clear back to the configured default) a channel's agent."""
        async with self.engine.begin() as conn:
            if assistant_id is None:
                await conn.execute(
                    delete(ChannelSetting).where(
                        ChannelSetting.team_id == team_id, ChannelSetting.channel_id == channel_id
                    )
                )
                return
            now = utcnow()
            stmt = self._insert(ChannelSetting).values(
                team_id=team_id,
                channel_id=channel_id,
                assistant_id=assistant_id,
                updated_by=updated_by,
                updated_at=now,
            )
            stmt = stmt.on_conflict_do_update(
                index_elements=["team_id", "channel_id"],
                set_={"assistant_id": assistant_id, "updated_by": updated_by, "updated_at": now},
            )
            await conn.execute(stmt)

    # -- replies ----------------------------------------------------------------------------
    async def start_reply(
        self,
        *,
        turn_id: str,
        team_id: str,
        channel_id: str,
        thread_ts: str,
        user_id: str,
        assistant_id: str,
        question: str,
        instance_id: str | None = None,
        lang: str | None = None,
    ) -> int:
        params = {
            "p_instance": instance_id,
            "p_lang": lang,
            "p_turn": turn_id,
            "p_team": team_id,
            "p_channel": channel_id,
            "p_thread_ts": thread_ts,
            "p_user": user_id,
            "p_assistant": assistant_id,
            "p_question": question,
            "p_at": utcnow(),
        }
        async with self.engine.begin() as conn:
            return int((await conn.execute(self._sql.start_reply, params)).scalar_one())

    async def set_reply_messages(self, reply_id: int, message_ts: Sequence[str]) -> None:
        params = {"p_id": reply_id, "p_messages": " ".join(message_ts)}
        async with self.engine.begin() as conn:
            await conn.execute(self._sql.reply_messages, params)

    async def finish_reply(
        self,
        reply_id: int,
        *,
        status: str,
        error_code: str | None = None,
        prompt_tokens: int | None = None,
        completion_tokens: int | None = None,
        finished_at: datetime | None = None,
        also: Sequence[Executable] = (),
    ) -> None:
        """Record how a reply ended; ``also`` runs in the same transaction (the turn's usage
        tally: one commit per turn instead of two)."""
        params = {
            "p_id": reply_id,
            "p_status": status,
            "p_error": error_code,
            "p_prompt": prompt_tokens,
            "p_completion": completion_tokens,
            "p_at": finished_at or utcnow(),
        }
        async with self.engine.begin() as conn:
            for statement in also:
                await conn.execute(statement)
            await conn.execute(self._sql.finish_reply, params)

    async def take_turn_ticket(
        self, *, team_id: str, user_id: str, since: datetime, max_turns: int
    ) -> list[datetime] | None:
        """Admit a turn if the user had fewer than ``max_turns`` since ``since``.

        Insert first, then count, so concurrent turns on any instance can never all slip
        through; at the boundary both may be refused, the safe side. Returns None when
        admitted, else the start times in the window (to say how long to wait).
        """
        sql = self._sql
        ticket = {"p_team": team_id, "p_user": user_id, "p_at": utcnow()}
        window = {"p_team": team_id, "p_user": user_id, "p_since": since}
        async with self.engine.begin() as conn:
            ticket_id = (await conn.execute(sql.add_ticket, ticket)).scalar_one()
            if self._writers_serialised:
                # SQLite: our INSERT holds the write lock until we commit, so this read already
                # sees every earlier ticket: one transaction instead of two (three if refused).
                earlier = _earlier(await conn.execute(sql.ticket_window, window), ticket_id)
                if len(earlier) < max_turns:
                    return None
                await conn.execute(sql.drop_ticket, {"p_id": ticket_id})
                return earlier
        # PostgreSQL: a concurrent ticket is invisible until it commits; count after ours has.
        async with self.engine.connect() as conn:
            earlier = _earlier(await conn.execute(sql.ticket_window, window), ticket_id)
        if len(earlier) < max_turns:
            return None
        async with self.engine.begin() as conn:
            await conn.execute(sql.drop_ticket, {"p_id": ticket_id})
        return earlier

    async def prune_turn_tickets(self, older_than: timedelta) -> int:
        async with self.engine.begin() as conn:
            result: Any = await conn.execute(
                delete(TurnTicket).where(TurnTicket.at < utcnow() - older_than)
            )
            return int(result.rowcount or 0)

    async def count_streaming_replies(self, team_id: str) -> int:
        """Replies of a workspace still streaming on any instance: each needs a final edit."""
        async with self.engine.connect() as conn:
            count = await conn.scalar(
                select(func.count())
                .select_from(Reply)
                .where(Reply.status == "streaming", Reply.team_id == team_id)
            )
            return int(count or 0)

    async def replies_with_status(self, status: str) -> list[ReplyRecord]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(select(Reply.__table__).where(Reply.status == status))
            return [_reply(r) for r in rows]

    async def request_stop(
        self, turn_id: str, *, user_id: str, team_id: str, admin: bool = False
    ) -> StopRequest:
        """Ask whichever instance streams ``turn_id`` to stop it, if ``user_id`` may.

        Only the person who asked (or an admin) may: the check and the request are one
        conditional UPDATE, so every instance applies the same rule to the same row.
        """
        streaming = (
            Reply.turn_id == turn_id,
            Reply.team_id == team_id,
            Reply.status == "streaming",
        )
        async with self.engine.begin() as conn:
            result: Any = await conn.execute(
                update(Reply)
                .where(
                    *streaming,
                    Reply.stop_requested_by.is_(None),
                    true() if admin else Reply.user_id == user_id,
                )
                .values(stop_requested_by=user_id)
            )
            if result.rowcount:
                return "requested"
            other = await conn.scalar(
                select(Reply.id).where(*streaming, Reply.stop_requested_by.is_(None))
            )
            return "not_yours" if other is not None else "finished"

    async def stop_requests(self, turn_ids: Sequence[str]) -> dict[str, str]:
        """``turn_id → user`` for the given turns that someone asked to stop."""
        if not turn_ids:
            return {}
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(Reply.turn_id, Reply.stop_requested_by).where(
                    Reply.turn_id.in_(list(turn_ids)), Reply.stop_requested_by.is_not(None)
                )
            )
            return {turn: str(user) for turn, user in rows}

    async def mark_interrupted(self, reply_id: int) -> bool:
        """Claim a streaming reply for recovery; only one instance ever wins."""
        async with self.engine.begin() as conn:
            result: Any = await conn.execute(
                update(Reply)
                .where(Reply.id == reply_id, Reply.status == "streaming")
                .values(status="interrupted", finished_at=utcnow())
            )
            return bool(result.rowcount)

    # -- thread leases ------------------------------------------------------------------------
    async def try_lease(self, key: str, *, holder: str, ttl: timedelta) -> bool:
        """Take or renew the lease on a thread; False while another holder's lease is live."""
        now = utcnow()
        params = {"p_key": key[:160], "p_holder": holder, "p_expires": now + ttl, "p_now": now}
        async with self.engine.begin() as conn:
            result: Any = await conn.execute(self._sql.take_lease, params)
            return bool(result.rowcount)

    async def release_orphaned_leases(self, *, me: str, stale_before: datetime) -> int:
        """Leases held by instances that stopped heartbeating: their threads are free again."""
        alive = select(Instance.id).where(Instance.heartbeat_at >= stale_before)
        async with self.engine.begin() as conn:
            result: Any = await conn.execute(
                delete(ThreadLease).where(
                    ThreadLease.holder != me, ThreadLease.holder.not_in(alive)
                )
            )
            return int(result.rowcount or 0)

    async def release_lease(self, key: str, *, holder: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(self._sql.release_lease, {"p_key": key[:160], "p_holder": holder})

    # -- instances ---------------------------------------------------------------------------
    async def heartbeat(self, instance_id: str) -> None:
        now = utcnow()
        stmt = self._insert(Instance).values(id=instance_id, started_at=now, heartbeat_at=now)
        stmt = stmt.on_conflict_do_update(index_elements=["id"], set_={"heartbeat_at": now})
        async with self.engine.begin() as conn:
            await conn.execute(stmt)

    async def remove_instance(self, instance_id: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(delete(Instance).where(Instance.id == instance_id))

    async def orphaned_replies(self, *, me: str, stale_before: datetime) -> list[ReplyRecord]:
        """Replies still ``streaming`` whose instance is gone or has stopped heartbeating."""
        alive = select(Instance.id).where(Instance.heartbeat_at >= stale_before)
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(Reply.__table__).where(
                    Reply.status == "streaming",
                    or_(Reply.instance_id.is_(None), Reply.instance_id != me),
                    or_(Reply.instance_id.is_(None), Reply.instance_id.not_in(alive)),
                )
            )
            return [_reply(r) for r in rows]

    async def get_reply(self, reply_id: int) -> ReplyRecord | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(Reply.__table__).where(Reply.id == reply_id))).first()
            return _reply(row) if row else None


__all__ = ["ReplyRecord", "Repository", "ThreadFileRecord", "ThreadRecord"]
