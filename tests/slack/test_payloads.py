"""bot.slack.payloads: real Slack payload shapes pass, malformed ones say why (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from bot.slack.payloads import inbound_problem, nesting_problem

ENVELOPE = {
    "token": "verification-token",
    "team_id": "T111",
    "api_app_id": "A111",
    "type": "event_callback",
    "event_id": "Ev08BN3Z1Q5D",
    "event_time": 1610241741,
    "authorizations": [
        {
            "enterprise_id": None,
            "team_id": "T111",
            "user_id": "U222",
            "is_bot": True,
            "is_enterprise_install": False,
        }
    ],
    "is_ext_shared_channel": False,
    "event_context": "1-app_mention-T111-C111",
}


def envelope(event: dict[str, Any]) -> dict[str, Any]:
    return {**ENVELOPE, "event": event}


# Shapes from bolt-python and python-slack-sdk tests (see bolt-async-notes §5).
REAL_EVENTS = {
    "app_mention": {
        "client_msg_id": "f0582a78-72db-4feb-b2f3-1e47d66365c8",
        "type": "app_mention",
        "text": "<@U111>",
        "user": "U222",
        "ts": "1610241741.000200",
        "team": "T111",
        "blocks": [{"type": "rich_text", "block_id": "Sesm", "elements": []}],
        "channel": "C111",
        "event_ts": "1610241741.000200",
    },
    "message.im thread reply": {
        "user": "W222",
        "type": "message",
        "ts": "1726133700.887259",
        "text": "When Slack was released?",
        "team": "T111",
        "user_team": "T111",
        "source_team": "T222",
        "user_profile": {},
        "thread_ts": "1726133698.626339",
        "parent_user_id": "W222",
        "channel": "D111",
        "event_ts": "1726133700.887259",
        "channel_type": "im",
    },
    "classic bot message": {
        "type": "message",
        "subtype": "bot_message",
        "text": "Hi",
        "ts": "1610262363.001600",
        "username": "classic-bot",
        "bot_id": "B888",
        "channel": "C111",
        "event_ts": "1610262363.001600",
        "channel_type": "channel",
    },
    "message_changed": {
        "type": "message",
        "subtype": "message_changed",
        "message": {
            "type": "message",
            "text": "updated message",
            "user": "U111",
            "team": "T111",
            "edited": {"user": "U111", "ts": "1665102362.000000"},
        },
        "previous_message": {"type": "message", "text": "original", "user": "U222", "ts": "1.2"},
        "channel": "C111",
        "hidden": True,
        "ts": "1665102362.013600",
        "event_ts": "1665102362.013600",
        "channel_type": "channel",
    },
    "file share": {
        "type": "message",
        "subtype": "file_share",
        "text": "",
        "user": "U111",
        "files": [{"id": "F111", "name": "a.png"}],
        "ts": "1.000001",
        "channel": "G111",
        "channel_type": "group",
    },
    "app_home_opened": {
        "type": "app_home_opened",
        "user": "U111",
        "channel": "D111",
        "tab": "messages",
        "event_ts": "1700000000.000100",
    },
    "unknown type": {"type": "user_change", "user": {"id": "U111", "team_id": "T111"}},
    "reaction": {
        "type": "reaction_added",
        "user": "U111",
        "item": {"type": "message", "channel": "C111", "ts": "1.2"},
        "reaction": "+1",
    },
}

BLOCK_ACTIONS = {
    "type": "block_actions",
    "user": {"id": "U12345678", "username": "x", "name": "x", "team_id": "T12345678"},
    "api_app_id": "A1234567890",
    "token": "123456789012345678901234",
    "container": {"type": "view", "view_id": "V1234567890"},
    "trigger_id": "3701415066658.3485157640.72f11de3d52bb9593d6931af772a323e",
    "team": {"id": "T12345678", "domain": "testxyz"},
    "enterprise": None,
    "is_enterprise_install": False,
    "actions": [
        {
            "type": "static_select",
            "action_id": "a",
            "block_id": "block",
            "selected_option": {"text": {"type": "plain_text", "text": "b"}, "value": "a"},
            "action_ts": "1655863389.628431",
        }
    ],
}

COMMAND = {
    "token": "verification_token",
    "team_id": "T111",
    "team_domain": "test-domain",
    "channel_id": "C111",
    "channel_name": "random",
    "user_id": "W111",
    "user_name": "primary-owner",
    "command": "/hello-world",
    "text": "Hi",
    "enterprise_id": "E111",
    "enterprise_name": "Org Name",
    "response_url": "https://hooks.slack.com/commands/T111/111/xxxxx",
    "trigger_id": "111.111.xxx",
}


@pytest.mark.parametrize("name", list(REAL_EVENTS))
def test_real_events_pass(name: str) -> None:
    assert inbound_problem(envelope(REAL_EVENTS[name])) is None


def test_real_block_actions_and_command_pass() -> None:
    assert inbound_problem(BLOCK_ACTIONS) is None
    assert inbound_problem(COMMAND) is None
    assert inbound_problem({"type": "url_verification", "challenge": "x"}) is None
    assert inbound_problem({"type": "view_submission", "user": {"id": "U1A"}}) is None


@pytest.mark.parametrize(
    ("event", "problem"),
    [
        ({**REAL_EVENTS["app_mention"], "user": 5}, "event.user: Input has the wrong type"),
        ({**REAL_EVENTS["app_mention"], "ts": "1e+308"}, "event.ts: String should match"),
        ({**REAL_EVENTS["app_mention"], "channel": ""}, "event.channel: String should match"),
        ({**REAL_EVENTS["app_mention"], "text": "x" * 40_001}, "event.text: String should have"),
        ({"type": "app_home_opened", "channel": "D111"}, "event.user: Field required"),
        ({"type": "user_change", "user": 5}, "event.user: Input has the wrong type"),
        ({"type": "reaction_added", "item": "C111"}, "event.item: Input should be a valid"),
        ({"user": "U111"}, "event.type: Field required"),
        (
            {**REAL_EVENTS["app_mention"], "text": None},
            "event: Value error, null where Slack leaves the field out: text",
        ),
        (
            {**REAL_EVENTS["message_changed"], "message": {"type": "message", "user": None}},
            "event.message: Value error, null where Slack leaves the field out: user",
        ),
    ],
)
def test_malformed_events_say_why(event: dict[str, Any], problem: str) -> None:
    assert (inbound_problem(envelope(event)) or "").startswith(problem)


def test_a_field_slack_leaves_out_may_be_missing_but_not_null() -> None:
    mention = {k: v for k, v in REAL_EVENTS["app_mention"].items() if k != "text"}
    assert inbound_problem(envelope(mention)) is None
    assert inbound_problem(envelope({**mention, "text": None})) is not None
    # Where Slack really sends null (Bolt-readable layer only), null still passes.
    assert BLOCK_ACTIONS["enterprise"] is None and inbound_problem(BLOCK_ACTIONS) is None
    null_value = {**BLOCK_ACTIONS, "actions": [{"action_id": "a", "value": None}]}
    assert inbound_problem(null_value) == (
        "actions.0: Value error, null where Slack leaves the field out: value"
    )


def test_an_authorization_must_name_a_user_and_a_workspace() -> None:
    event = REAL_EVENTS["app_mention"]
    for auth in ({}, {"user_id": "U222"}, {"team_id": "T111"}):
        assert inbound_problem({**envelope(event), "authorizations": [auth]}) is not None
    org_wide = {"enterprise_id": "E111", "team_id": None, "user_id": "U222"}
    assert inbound_problem({**envelope(event), "authorizations": [org_wide]}) is None


def test_problems_never_echo_the_offending_value() -> None:
    secretish = "xoxb-not-a-user-id"
    problem = inbound_problem(envelope({**REAL_EVENTS["app_mention"], "user": secretish}))
    assert problem is not None and secretish not in problem


def test_nesting_limits() -> None:
    deep: Any = "x"
    for _ in range(70):
        deep = [deep]
    assert nesting_problem(deep) == "payload nests deeper than 64 levels"
    assert nesting_problem({"a": [1] * 200_000}) == "payload has more than 100000 values"
    assert nesting_problem({"a": [[1, 2], {"b": 3}]}) is None
    assert inbound_problem({**envelope(REAL_EVENTS["app_mention"]), "x": deep}) is not None


def test_ssl_check_forms_reach_bolt() -> None:
    from bot.slack.guard import payload_problem

    body = "ssl_check=1&token=verification-token"
    assert payload_problem("application/x-www-form-urlencoded", body) is None
    sneaky = '{"ssl_check": "1", "type": "event_callback", "team_id": 5, "event": {"type": "x"}}'
    assert payload_problem("application/json", sneaky) is not None
