"""Tests for bot.slack.guard.payload_problem: every branch of the shape check."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

from bot.slack.guard import json_depth, loads_bounded, payload_problem
from tests.fakes.slack_requests import (
    block_actions_payload,
    button_action,
    event_envelope,
    mention_event,
)

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


@pytest.mark.parametrize(
    "body",
    [
        event_envelope(mention_event("hi")),
        event_envelope({"type": "reaction_added", "user": "U0001", "reaction": "+1"}),
        {"type": "url_verification", "challenge": "abc"},
        {"type": "app_rate_limited"},
        {"token": "x"},
    ],
)
def test_valid_json(body: dict[str, object]) -> None:
    assert payload_problem(JSON, json.dumps(body)) is None


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("not json", "body is not JSON"),
        ("", "body is not JSON"),
        ("[1, 2]", "JSON body is not an object"),
        ('"text"', "JSON body is not an object"),
        ("null", "JSON body is not an object"),
        ('{"type": "event_callback"}', "event_callback without an event object"),
        ('{"type": "event_callback", "event": []}', "event_callback without an event object"),
        ('{"type": "event_callback", "event": {}}', "event_callback without an event object"),
        (
            '{"type": "event_callback", "event": {"type": 1}}',
            "event_callback without an event object",
        ),
        ('{"type": 5}', "type is not a string"),
        ('{"type": ["event_callback"]}', "type is not a string"),
    ],
)
def test_bad_json(body: str, problem: str) -> None:
    assert payload_problem(JSON, body) == problem


def test_form_command() -> None:
    body = urlencode(
        {"command": "/glm", "text": "", "user_id": "U1A", "team_id": "T1A", "channel_id": "C1A"}
    )
    assert payload_problem(FORM, body) is None


def test_form_interaction_payload() -> None:
    payload = block_actions_payload([button_action("stop", "x")], message_ts="1700000000.000100")
    assert payload_problem(FORM, urlencode({"payload": json.dumps(payload)})) is None


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        ("{not json", "payload is not JSON"),
        ("[]", "payload is not an interaction object"),
        ("{}", "payload is not an interaction object"),
        ('{"type": 3}', "payload is not an interaction object"),
    ],
)
def test_form_bad_payload(payload: str, problem: str) -> None:
    assert payload_problem(FORM, urlencode({"payload": payload})) == problem


@pytest.mark.parametrize("body", ["", "foo=bar", "text=hi&user_id=U1"])
def test_form_neither_command_nor_payload(body: str) -> None:
    assert payload_problem(FORM, body) == "form body is neither a command nor an interaction"


@pytest.mark.parametrize(
    ("content_type", "problem"),
    [
        ("", "unsupported content type (none)"),
        ("text/plain", "unsupported content type text/plain"),
        ("multipart/form-data", "unsupported content type multipart/form-data"),
    ],
)
def test_unsupported_content_type(content_type: str, problem: str) -> None:
    assert payload_problem(content_type, '{"type": "url_verification"}') == problem


def test_json_depth_ignores_brackets_inside_strings() -> None:
    assert json_depth('{"a": "[[[[{{{{", "b": [1, {"c": "\\"]]]"}]}') == 3
    assert json_depth("[]" * 1000) == 1
    assert json_depth("") == 0


@pytest.mark.parametrize("body", ["[" * 100_000, '{"a":' * 5_000 + "1" + "}" * 5_000])
def test_deeply_nested_json_is_refused_without_recursion(body: str) -> None:
    assert payload_problem(JSON, body) == "JSON nests deeper than 64 levels"
    with pytest.raises(ValueError, match="deeper"):
        loads_bounded(body)


def test_deeply_nested_interaction_payload_is_refused() -> None:
    body = urlencode({"payload": '{"type": "block_actions", "x": ' + "[" * 50_000})
    assert payload_problem(FORM, body) == "JSON nests deeper than 64 levels"


def test_form_command_whose_text_says_payload_is_what_bolt_sees() -> None:
    # Bolt checks `"payload" in body` as a substring and then parses nothing at all.
    body = urlencode({"command": "/glm", "text": "payload", "user_id": "U1A"})
    assert payload_problem(FORM, body) == "form body is neither a command nor an interaction"
