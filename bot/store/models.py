"""The database schema. Alembic revisions in ``migrations/`` are the source of truth for DDL;
these models must match them (a test compares the two)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class Thread(Base):
    """One Slack thread ↔ one GLM conversation (with the assistant it started with)."""

    __tablename__ = "threads"
    __table_args__ = (
        UniqueConstraint("team_id", "channel_id", "thread_ts", name="uq_threads_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[str] = mapped_column(String(32))
    thread_ts: Mapped[str] = mapped_column(String(32))
    assistant_id: Mapped[str] = mapped_column(String(64))
    conversation_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class ChannelSetting(Base):
    """The assistant new threads in a channel (or a user's DM) start with."""

    __tablename__ = "channel_settings"

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    channel_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    assistant_id: Mapped[str] = mapped_column(String(64))
    updated_by: Mapped[str | None] = mapped_column(String(32), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class ProcessedEvent(Base):
    """Keys of events already handled (``event_id`` and message identity), pruned after days."""

    __tablename__ = "processed_events"
    __table_args__ = (Index("ix_processed_events_received_at", "received_at"),)

    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Reply(Base):
    """One bot answer: its Slack messages, upstream request and outcome."""

    __tablename__ = "replies"
    __table_args__ = (Index("ix_replies_status", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    turn_id: Mapped[str] = mapped_column(String(64), unique=True)
    team_id: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[str] = mapped_column(String(32))
    thread_ts: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(32))
    assistant_id: Mapped[str] = mapped_column(String(64))
    question: Mapped[str] = mapped_column(Text)
    message_ts: Mapped[str | None] = mapped_column(Text, nullable=True)  # space-separated ts list
    status: Mapped[str] = mapped_column(String(16), default="streaming")
    error_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    prompt_tokens: Mapped[int | None] = mapped_column(Integer, nullable=True)
    completion_tokens: Mapped[int | None] = mapped_column(Integer, nullable=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    instance_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    stop_requested_by: Mapped[str | None] = mapped_column(String(32), nullable=True)
    lang: Mapped[str | None] = mapped_column(String(8), nullable=True)  # for crash recovery


class Instance(Base):
    """A running bot process; a stale heartbeat means its streaming replies were orphaned."""

    __tablename__ = "instances"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ThreadLease(Base):
    """Which instance is answering in a thread right now: one turn per thread across instances."""

    __tablename__ = "thread_leases"

    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class TurnTicket(Base):
    """One admitted turn of a user, for the per-user rate limit (pruned with old events)."""

    __tablename__ = "turn_tickets"
    __table_args__ = (Index("ix_turn_tickets_user_at", "team_id", "user_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ThreadFile(Base):
    """A file shared in a thread (keyed like ``threads``): what GLM knows it as, so later turns
    and other instances can attach it again."""

    __tablename__ = "thread_files"
    __table_args__ = (
        UniqueConstraint(
            "team_id", "channel_id", "thread_ts", "slack_file_id", name="uq_thread_files_key"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[str] = mapped_column(String(32))
    thread_ts: Mapped[str] = mapped_column(String(32))
    slack_file_id: Mapped[str] = mapped_column(String(64))
    glm_file_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    name: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16))
    mimetype: Mapped[str] = mapped_column(String(128))
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ViewContext(Base):
    """What a person last looked at in Slack while our Messages tab was visible, and their DM
    with the bot (``app_home_opened`` / ``app_context_changed``); stored so any instance that
    answers the DM knows it."""

    __tablename__ = "view_contexts"

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    dm_channel_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    channel_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    channel_name: Mapped[str | None] = mapped_column(String(100), nullable=True)  # if readable
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Feedback(Base):
    """A person's 👍/👎 on one reply; a second click by the same person replaces the first."""

    __tablename__ = "feedback"
    __table_args__ = (UniqueConstraint("reply_id", "user_id", name="uq_feedback_reply_user"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    reply_id: Mapped[int] = mapped_column(Integer, ForeignKey("replies.id", ondelete="CASCADE"))
    team_id: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(32))
    rating: Mapped[str] = mapped_column(String(8))  # "good" | "bad"
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SlackBudget(Base):
    """One Slack rate bucket (method/scope) shared by every instance: tokens left at ``stamp``
    (seconds since the epoch on the database's clock)."""

    __tablename__ = "slack_budgets"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    tokens: Mapped[float] = mapped_column(Float)
    stamp: Mapped[float] = mapped_column(Float)


class UsageMonth(Base):
    """Tokens GLM reported, summed per workspace, calendar month (UTC, ``YYYY-MM``), person,
    channel and assistant; ``*`` in the last three marks a rollup row (see 0012_usage)."""

    __tablename__ = "usage_monthly"
    __table_args__ = (Index("ix_usage_monthly_enterprise", "enterprise_id", "month"),)

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    channel_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    assistant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    enterprise_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    prompt_tokens: Mapped[int] = mapped_column(BigInteger)
    completion_tokens: Mapped[int] = mapped_column(BigInteger)
    turns: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# The OAuth tables (slack_sdk's store definitions) live on this metadata too, so Alembic manages
# them; imported last because they are built on ``Base``.
from bot.oauth import tables as _oauth_tables  # noqa: E402, F401
