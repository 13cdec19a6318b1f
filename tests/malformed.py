"""Malformed Slack payloads: well-formed requests with one field a handler or Bolt reads broken.

Shared by the explicit regression tests and the Hypothesis properties. Every builder returns a
*fresh* valid payload; ``broken(payload, path, value)`` replaces one field (``path`` is a tuple
of keys and list indexes, ``DELETE`` removes the field).
"""

from __future__ import annotations

import copy
from typing import Any

from bot.reply.blocks import feedback_block
from tests.fakes import (
    block_actions_payload,
    button_action,
    event_envelope,
    mention_event,
    message_event,
)
from tests.fakes.slack_requests import (
    app_context_changed_event,
    app_home_opened_event,
    feedback_click,
    person_authorizations,
)

JSON = dict[str, Any]
DELETE = object()


def broken(payload: JSON, path: tuple[Any, ...], value: Any) -> JSON:
    out = copy.deepcopy(payload)
    target: Any = out
    for key in path[:-1]:
        target = target[key]
    if value is DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return out


def mention_envelope(text: str = "malformed?") -> JSON:
    return event_envelope(mention_event(text))


def dm_envelope(text: str = "malformed?") -> JSON:
    return event_envelope(message_event(text, channel="D0001", channel_type="im"))


def command_form(response_url: str, text: str = "help") -> JSON:
    """A /glm-agent slash command as its form fields (strings, as Slack sends them)."""
    return {
        "token": "verification-token",
        "team_id": "T0001",
        "team_domain": "fake",
        "channel_id": "C0001",
        "channel_name": "general",
        "user_id": "U0001",
        "user_name": "alice",
        "command": "/glm-agent",
        "text": text,
        "api_app_id": "A0001",
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": "1700000000.1.abcdef",
    }


def stop_click(turn_id: str = "0123456789abcdef") -> JSON:
    return block_actions_payload(
        [button_action("glm_stop", turn_id)], message_ts="1700000000.000100"
    )


# (null is how Slack says "absent" for optional fields: routing then ignores the event)
def home_opened_envelope() -> JSON:
    return event_envelope(app_home_opened_event(), authorizations=person_authorizations())


def context_changed_envelope() -> JSON:
    event = app_context_changed_event(channel_id="C0001", message_in=("C0002", "1700000000.1"))
    return event_envelope(event, authorizations=person_authorizations())


def feedback_payload() -> JSON:
    message = {
        "type": "message",
        "ts": "1700000000.000100",
        "thread_ts": "1700000000.000050",
        "text": "an answer",
        "blocks": [{**feedback_block("0" * 32), "block_id": "fb"}],
    }
    return feedback_click(message)


NOT_A_STRING = [5, 0, -1, 1.5, True, False, [], ["U0001"], {}, {"id": "U0001"}]
TOO_LONG = "x" * 40_001

# (what, path, bad values): fields of an event a handler uses, with values that are wrong in
# type or form. Each must be refused with nothing done.
EVENT_FIELDS: list[tuple[str, tuple[Any, ...], list[Any]]] = [
    ("user", ("event", "user"), [*NOT_A_STRING, "", "u0001", "X0001", "U", "U 1", TOO_LONG]),
    ("channel", ("event", "channel"), [*NOT_A_STRING, "", "general", "c0001", "C", "#C0001"]),
    ("ts", ("event", "ts"), [*NOT_A_STRING, "", "1e+308", "1.2.3", "abc", "-1.5", "١.٢"]),
    ("thread_ts", ("event", "thread_ts"), [5, True, [], {}, "", "1e308", "inf"]),
    ("text", ("event", "text"), [5, 1.5, True, [], ["hi"], {}, {"text": "hi"}, TOO_LONG]),
    ("team", ("event", "team"), [5, True, [], "", "team"]),
    ("channel_type", ("event", "channel_type"), [5, True, [], {}, ""]),
    ("team_id", ("team_id",), [*NOT_A_STRING, None, "", "x", DELETE]),
    ("authorizations", ("authorizations",), [5, "x", True, {}, [5], ["x"], [[]], [{"team_id": 3}]]),
    ("event_id", ("event_id",), [5, None, "", "x", DELETE]),
    ("event", ("event",), [5, "x", [], None, {}, {"type": 5}]),
    ("enterprise", ("enterprise",), [5, True, [], {"id": 5}]),
]

# Fields of a /glm-agent command (form values are strings; Socket Mode may carry any JSON).
COMMAND_FIELDS: list[tuple[str, str, list[Any]]] = [
    ("user_id", "user_id", [DELETE, "", "alice", "u0001", TOO_LONG]),
    ("team_id", "team_id", [DELETE, "", "fake", "t0001"]),
    ("channel_id", "channel_id", [DELETE, "", "general", "X0001"]),
    ("text", "text", [TOO_LONG]),
    ("response_url", "response_url", ["ftp://x", "javascript:alert(1)", "not a url"]),
]

# Fields of a Stop click (block_actions).
ACTION_FIELDS: list[tuple[str, tuple[Any, ...], list[Any]]] = [
    ("user", ("user",), [5, "U0001", True, [], None, {}, {"id": 5}, {"id": ""}, DELETE]),
    ("team", ("team",), [5, [1], True, {"id": 5}, {"id": "x"}]),
    ("actions", ("actions",), [5, "x", {}, [], [5], ["x"], [{}], [{"action_id": 5}], DELETE]),
    ("action value", ("actions", 0, "value"), [5, True, [], {}, "x" * 2001]),
    ("channel", ("channel",), [5, "C0001", {"id": 5}, {"id": ""}]),
    ("message", ("message",), [5, "x", {"blocks": [5]}, {"blocks": "x"}, {"ts": 1.5}]),
    ("container", ("container",), [5, "x", {"channel_id": 5}, {"message_ts": "1e+308"}]),
]


def event_cases() -> list[tuple[str, JSON]]:
    return [
        (f"event {what}={value!r:.30}", broken(mention_envelope(), path, value))
        for what, path, values in EVENT_FIELDS
        for value in values
    ]


def action_cases() -> list[tuple[str, JSON]]:
    return [
        (f"block_actions {what}={value!r:.30}", broken(stop_click(), path, value))
        for what, path, values in ACTION_FIELDS
        for value in values
    ]


def command_cases(response_url: str) -> list[tuple[str, JSON]]:
    return [
        (f"command {what}={value!r:.30}", broken(command_form(response_url), (key,), value))
        for what, key, values in COMMAND_FIELDS
        for value in values
    ]
