"""Which Slack events become turns, decided from the validated payload alone (pure, no I/O).

Routing reads a :class:`~bot.slack.payloads.MessageEvent`, never a raw dict: the guard in front
of Bolt has already refused malformed shapes, and the listeners parse the event into that type.

Subscribing to ``app_mention`` and ``message.*`` delivers a mention twice (as two events); the
conversation layer answers once by claiming the message identity, so both routes may say yes.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.files.model import parse_files
from bot.slack.payloads import MessageEvent
from bot.turn_input import Route

# Message subtypes that carry a person's text; everything else (edits, deletions, joins,
# bot posts, ...) is acknowledged and ignored.
USER_TEXT_SUBTYPES = frozenset({None, "thread_broadcast", "file_share"})
DIRECT_CHANNEL_TYPES = frozenset({"im"})


@dataclass(frozen=True, slots=True)
class _Said:
    """A person's message: who said it, where and when (every field present)."""

    user: str
    channel: str
    ts: str


def _said_by_person(event: MessageEvent, bot_user_id: str | None) -> _Said | None:
    if event.bot_id or event.subtype == "bot_message" or event.bot_profile:
        return None
    if not event.user or event.user == bot_user_id or not event.channel or not event.ts:
        return None
    return _Said(event.user, event.channel, event.ts)


def _team(event: MessageEvent, team_id: str | None) -> str:
    return team_id or event.team or event.user_team or ""


def route_mention(
    event: MessageEvent, *, bot_user_id: str | None, team_id: str | None
) -> Route | None:
    said = _said_by_person(event, bot_user_id)
    if said is None:
        return None
    return Route(
        team_id=_team(event, team_id),
        channel_id=said.channel,
        channel_type=event.channel_type or "channel",
        user_id=said.user,
        text=event.text or "",
        ts=said.ts,
        thread_ts=event.thread_ts or said.ts,
        mention=True,
        requires_known_thread=False,
        files=parse_files(event.files),
    )


def route_message(
    event: MessageEvent, *, bot_user_id: str | None, team_id: str | None
) -> Route | None:
    if event.subtype not in USER_TEXT_SUBTYPES or event.hidden:
        return None
    said = _said_by_person(event, bot_user_id)
    if said is None:
        return None
    channel_type = event.channel_type or ""
    text = event.text or ""
    if channel_type in DIRECT_CHANNEL_TYPES:
        return Route(
            team_id=_team(event, team_id),
            channel_id=said.channel,
            channel_type=channel_type,
            user_id=said.user,
            text=text,
            ts=said.ts,
            thread_ts=event.thread_ts or said.ts,
            mention=False,
            requires_known_thread=False,
            files=parse_files(event.files),
        )
    if not event.thread_ts or event.thread_ts == said.ts:
        return None  # top-level channel chatter: only a mention (app_mention) starts a thread
    return Route(
        team_id=_team(event, team_id),
        channel_id=said.channel,
        channel_type=channel_type or "channel",
        user_id=said.user,
        text=text,
        ts=said.ts,
        thread_ts=event.thread_ts,
        mention=bot_user_id is not None and f"<@{bot_user_id}>" in text,
        requires_known_thread=True,
        files=parse_files(event.files),
    )
