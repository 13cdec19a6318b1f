"""Which Slack events become turns, decided from the payload alone (pure, no I/O).

Subscribing to ``app_mention`` and ``message.*`` delivers a mention twice (as two events); the
conversation layer answers once by claiming the message identity, so both routes may say yes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.files.model import SlackFile, parse_files

# Message subtypes that carry a person's text; everything else (edits, deletions, joins,
# bot posts, ...) is acknowledged and ignored.
USER_TEXT_SUBTYPES = frozenset({None, "thread_broadcast", "file_share"})
DIRECT_CHANNEL_TYPES = frozenset({"im"})


@dataclass(frozen=True, slots=True)
class Route:
    team_id: str
    channel_id: str
    channel_type: str
    user_id: str
    text: str
    ts: str
    thread_ts: str  # the root of the Slack thread the answer goes to
    mention: bool
    requires_known_thread: bool
    files: tuple[SlackFile, ...] = ()  # shared with this message, validated (bot/files/model)

    @property
    def joins_existing_thread(self) -> bool:
        """A mention inside a thread that people started without the bot."""
        return self.mention and self.thread_ts != self.ts


def channel_type_of(channel_id: str) -> str:
    """Slack's channel type from the id alone (D… is a DM), for turns not started by an event."""
    return "im" if channel_id.startswith("D") else "channel"


def _is_from_person(event: dict[str, Any], bot_user_id: str | None) -> bool:
    if event.get("bot_id") or event.get("subtype") == "bot_message" or event.get("bot_profile"):
        return False
    user = event.get("user")
    return isinstance(user, str) and bool(user) and user != bot_user_id


def _team(event: dict[str, Any], team_id: str | None) -> str:
    return str(team_id or event.get("team") or event.get("user_team") or "")


def route_mention(
    event: dict[str, Any], *, bot_user_id: str | None, team_id: str | None
) -> Route | None:
    if not _is_from_person(event, bot_user_id) or not event.get("channel") or not event.get("ts"):
        return None
    ts = str(event["ts"])
    return Route(
        team_id=_team(event, team_id),
        channel_id=str(event["channel"]),
        channel_type=str(event.get("channel_type") or "channel"),
        user_id=str(event["user"]),
        text=str(event.get("text") or ""),
        ts=ts,
        thread_ts=str(event.get("thread_ts") or ts),
        mention=True,
        requires_known_thread=False,
        files=parse_files(event.get("files")),
    )


def route_message(
    event: dict[str, Any], *, bot_user_id: str | None, team_id: str | None
) -> Route | None:
    if event.get("subtype") not in USER_TEXT_SUBTYPES or event.get("hidden"):
        return None
    if not _is_from_person(event, bot_user_id) or not event.get("channel") or not event.get("ts"):
        return None
    ts = str(event["ts"])
    thread_ts = event.get("thread_ts")
    channel_type = str(event.get("channel_type") or "")
    text = str(event.get("text") or "")
    if channel_type in DIRECT_CHANNEL_TYPES:
        return Route(
            team_id=_team(event, team_id),
            channel_id=str(event["channel"]),
            channel_type=channel_type,
            user_id=str(event["user"]),
            text=text,
            ts=ts,
            thread_ts=str(thread_ts or ts),
            mention=False,
            requires_known_thread=False,
            files=parse_files(event.get("files")),
        )
    if not thread_ts or thread_ts == ts:
        return None  # top-level channel chatter: only a mention (app_mention) starts a thread
    return Route(
        team_id=_team(event, team_id),
        channel_id=str(event["channel"]),
        channel_type=channel_type or "channel",
        user_id=str(event["user"]),
        text=text,
        ts=ts,
        thread_ts=str(thread_ts),
        mention=bot_user_id is not None and f"<@{bot_user_id}>" in text,
        requires_known_thread=True,
        files=parse_files(event.get("files")),
    )
