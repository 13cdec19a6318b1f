"""Tests for bot.slack.routing: which Slack events become turns."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from bot.slack.payloads import MessageEvent
from bot.slack.routing import route_mention, route_message
from bot.turn_input import Route

BOT = "UBOT"
TEAM = "T001"


def msg(**fields: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "message",
        "channel": "C001",
        "channel_type": "channel",
        "user": "U001",
        "text": "hello",
        "ts": "100.000200",
    }
    event.update(fields)
    return {k: v for k, v in event.items() if v is not None}


def message_route(event: dict[str, Any]) -> Route | None:
    return route_message(MessageEvent.model_validate(event), bot_user_id=BOT, team_id=TEAM)


def mention_route(event: dict[str, Any]) -> Route | None:
    return route_mention(MessageEvent.model_validate(event), bot_user_id=BOT, team_id=TEAM)


# --- route_message -------------------------------------------------------------------------------


def test_top_level_channel_message_is_ignored() -> None:
    assert message_route(msg()) is None
    assert message_route(msg(thread_ts="100.000200")) is None  # the thread root itself


def test_thread_reply_requires_known_thread() -> None:
    assert message_route(msg(ts="101.0", thread_ts="100.0")) == Route(
        team_id=TEAM,
        channel_id="C001",
        channel_type="channel",
        user_id="U001",
        text="hello",
        ts="101.0",
        thread_ts="100.0",
        mention=False,
        requires_known_thread=True,
    )


def test_thread_reply_with_bot_mention_is_flagged() -> None:
    route = message_route(msg(ts="101.0", thread_ts="100.0", text=f"<@{BOT}> again"))
    assert route is not None
    assert route.mention is True
    assert route.requires_known_thread is True


def test_dm_top_level() -> None:
    assert message_route(msg(channel="D001", channel_type="im", ts="5.0")) == Route(
        team_id=TEAM,
        channel_id="D001",
        channel_type="im",
        user_id="U001",
        text="hello",
        ts="5.0",
        thread_ts="5.0",
        mention=False,
        requires_known_thread=False,
    )


def test_dm_thread_reply() -> None:
    route = message_route(msg(channel="D001", channel_type="im", ts="6.0", thread_ts="5.0"))
    assert route is not None
    assert (route.thread_ts, route.requires_known_thread, route.mention) == ("5.0", False, False)


@pytest.mark.parametrize(
    "subtype",
    ["message_changed", "message_deleted", "channel_join", "bot_message", "message_replied"],
)
@pytest.mark.parametrize("channel_type", ["im", "channel"])
def test_non_text_subtypes_are_ignored(subtype: str, channel_type: str) -> None:
    event = msg(subtype=subtype, channel_type=channel_type, ts="101.0", thread_ts="100.0")
    assert message_route(event) is None


@pytest.mark.parametrize("subtype", ["thread_broadcast", "file_share"])
def test_person_subtypes_are_accepted(subtype: str) -> None:
    route = message_route(msg(subtype=subtype, ts="101.0", thread_ts="100.0"))
    assert route is not None
    assert route.requires_known_thread is True


def test_hidden_message_is_ignored() -> None:
    assert message_route(msg(channel_type="im", hidden=True)) is None


@pytest.mark.parametrize("extra", [{"bot_id": "B001"}, {"bot_profile": {"id": "B001"}}])
def test_bot_posts_are_ignored(extra: dict[str, Any]) -> None:
    assert message_route(msg(channel_type="im", **extra)) is None
    assert message_route(msg(ts="101.0", thread_ts="100.0", **extra)) is None
    assert mention_route(msg(**extra)) is None


def test_own_bot_user_is_ignored() -> None:
    assert message_route(msg(channel_type="im", user=BOT)) is None
    assert mention_route(msg(user=BOT)) is None


def test_missing_user_is_ignored() -> None:
    event = msg(channel_type="im")
    event.pop("user")
    assert message_route(event) is None
    assert mention_route(event) is None


@pytest.mark.parametrize("user", ["", 42, "not-an-id"])
def test_a_malformed_user_never_becomes_a_routable_event(user: Any) -> None:
    """The typed event is the only way into routing, and it refuses such a user outright."""
    with pytest.raises(ValidationError):
        MessageEvent.model_validate(msg(channel_type="im", user=user))


@pytest.mark.parametrize("missing", ["channel", "ts"])
def test_missing_channel_or_ts_is_ignored(missing: str) -> None:
    event = msg(channel_type="im")
    event.pop(missing)
    assert message_route(event) is None
    assert mention_route(event) is None


def test_team_falls_back_to_event_fields() -> None:
    event = msg(channel_type="im", team="T009")
    route = route_message(MessageEvent.model_validate(event), bot_user_id=BOT, team_id=None)
    assert route is not None and route.team_id == "T009"
    event = msg(channel_type="im", user_team="T008")
    route = route_message(MessageEvent.model_validate(event), bot_user_id=BOT, team_id=None)
    assert route is not None and route.team_id == "T008"


# --- route_mention -------------------------------------------------------------------------------


def test_top_level_mention_starts_a_thread() -> None:
    event = msg(type="app_mention", text=f"<@{BOT}> hi")
    del event["channel_type"]
    assert mention_route(event) == Route(
        team_id=TEAM,
        channel_id="C001",
        channel_type="channel",
        user_id="U001",
        text=f"<@{BOT}> hi",
        ts="100.000200",
        thread_ts="100.000200",
        mention=True,
        requires_known_thread=False,
    )
    route = mention_route(event)
    assert route is not None and route.joins_existing_thread is False


def test_mention_inside_a_thread_joins_existing_thread() -> None:
    route = mention_route(msg(type="app_mention", ts="101.0", thread_ts="100.0"))
    assert route is not None
    assert route.thread_ts == "100.0"
    assert route.requires_known_thread is False
    assert route.joins_existing_thread is True


def test_plain_thread_reply_does_not_join() -> None:
    route = message_route(msg(ts="101.0", thread_ts="100.0"))
    assert route is not None and route.joins_existing_thread is False
