"""Tests for bot.slack.guard.payload_problem: every branch of the shape check."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

from bot.slack.guard import payload_problem

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


@pytest.mark.parametrize(
    "body",
    [
        {"type": "event_callback", "event": {"type": "app_mention", "text": "hi"}},
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
    body = urlencode({"command": "/glm", "text": "", "user_id": "U1"})
    assert payload_problem(FORM, body) is None


def test_form_interaction_payload() -> None:
    body = urlencode({"payload": json.dumps({"type": "block_actions", "actions": []})})
    assert payload_problem(FORM, body) is None


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
