"""What the Messages tab's events say, as typed values (pure; payloads validated here).

``app_home_opened`` (``tab == "messages"``) is how an agent app learns its DM was opened;
``app_context_changed`` says what the person is looking at, as ``context.entities`` ordered by
relevance: ``slack#/types/channel_id`` / ``canvas_id`` / ``list_id`` / ``message_context``
(slack-platform-and-peers §2.5; docs.slack.dev/reference/events/app_context_changed). Slack's
own example carries neither ``user`` nor ``channel`` in the event, so the person also comes
from the envelope's non-bot authorization when the event lacks it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_USER = re.compile(r"[UW][A-Z0-9]{2,20}")
_TEAM = re.compile(r"[TE][A-Z0-9]{2,20}")
_DM = re.compile(r"D[A-Z0-9]{2,20}")
# Public (C) and private (G) channels; DMs and group DMs are never offered for summaries.
_READABLE_CHANNEL = re.compile(r"[CG][A-Z0-9]{2,20}")


@dataclass(frozen=True, slots=True)
class TabOpened:
    team_id: str
    user_id: str
    dm_channel_id: str


@dataclass(frozen=True, slots=True)
class ContextChanged:
    team_id: str
    user_id: str
    dm_channel_id: str | None  # present on some deliveries; otherwise the stored one is used
    channel_id: str | None  # a channel the person is looking at, if any


def _match(pattern: re.Pattern[str], value: Any) -> str | None:
    return value if isinstance(value, str) and pattern.fullmatch(value) else None


def _team(body: Mapping[str, Any], event: Mapping[str, Any]) -> str | None:
    return _match(_TEAM, body.get("team_id")) or _match(_TEAM, event.get("team"))


def parse_tab_opened(body: Mapping[str, Any]) -> TabOpened | None:
    """The DM's Messages tab was opened; ``None`` for the Home/About tabs or a bad payload."""
    event = body.get("event")
    if not isinstance(event, Mapping) or event.get("type") != "app_home_opened":
        return None
    if event.get("tab") != "messages":
        return None
    team = _team(body, event)
    user = _match(_USER, event.get("user"))
    dm = _match(_DM, event.get("channel"))
    if team is None or user is None or dm is None:
        return None
    return TabOpened(team, user, dm)


def parse_context_changed(body: Mapping[str, Any]) -> ContextChanged | None:
    event = body.get("event")
    if not isinstance(event, Mapping) or event.get("type") != "app_context_changed":
        return None
    team = _team(body, event)
    user = _match(_USER, event.get("user")) or _person_from_authorizations(body)
    if team is None or user is None:
        return None
    context = event.get("context")
    entities = context.get("entities") if isinstance(context, Mapping) else None
    return ContextChanged(
        team_id=team,
        user_id=user,
        dm_channel_id=_match(_DM, event.get("channel")),
        channel_id=_viewed_channel(entities),
    )


def _person_from_authorizations(body: Mapping[str, Any]) -> str | None:
    for auth in body.get("authorizations") or []:
        if isinstance(auth, Mapping) and auth.get("is_bot") is False:
            return _match(_USER, auth.get("user_id"))
    return None


def _viewed_channel(entities: Any) -> str | None:
    """The most relevant entity that names a channel (a channel, or a message in one)."""
    if not isinstance(entities, list):
        return None
    for entity in entities:
        if not isinstance(entity, Mapping):
            continue
        kind, value = entity.get("type"), entity.get("value")
        if kind == "slack#/types/channel_id":
            channel = _match(_READABLE_CHANNEL, value)
        elif kind == "slack#/types/message_context" and isinstance(value, Mapping):
            channel = _match(_READABLE_CHANNEL, value.get("channel_id"))
        else:
            continue
        if channel is not None:
            return channel
    return None
