"""manifest.yml is valid for Slack and consistent with what the code listens to."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import yaml

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = yaml.safe_load((ROOT / "manifest.yml").read_text(encoding="utf-8"))
SCHEMA = json.loads((ROOT / "tests/data/manifest.schema.1.0.0.json").read_text(encoding="utf-8"))

HISTORY_SCOPE = {
    "message.channels": "channels:history",
    "message.groups": "groups:history",
    "message.im": "im:history",
    "message.mpim": "mpim:history",
}


def test_manifest_validates_against_official_schema() -> None:
    errors = sorted(jsonschema.Draft7Validator(SCHEMA).iter_errors(MANIFEST), key=str)
    assert not errors, "\n".join(e.message for e in errors)


def test_schema_rejects_a_broken_manifest() -> None:
    broken = {**MANIFEST, "display_information": {"description": "no name"}}
    assert list(jsonschema.Draft7Validator(SCHEMA).iter_errors(broken))


def test_every_message_event_has_its_history_scope() -> None:
    events = MANIFEST["settings"]["event_subscriptions"]["bot_events"]
    scopes = set(MANIFEST["oauth_config"]["scopes"]["bot"])
    message_events = [e for e in events if e.startswith("message.")]
    assert message_events, "the bot must hear thread replies and DMs"
    for event in message_events:
        assert HISTORY_SCOPE[event] in scopes, f"{event} needs {HISTORY_SCOPE[event]}"


def test_listened_events_and_their_scopes() -> None:
    events = set(MANIFEST["settings"]["event_subscriptions"]["bot_events"])
    scopes = set(MANIFEST["oauth_config"]["scopes"]["bot"])
    assert {"app_mention", "message.channels", "message.im"} <= events
    assert "app_mentions:read" in scopes
    assert "chat:write" in scopes
    commands = [c["command"] for c in MANIFEST["features"]["slash_commands"]]
    assert commands == ["/glm-agent"]
    assert "commands" in scopes
    assert MANIFEST["settings"]["interactivity"]["is_enabled"] is True
    assert MANIFEST["features"]["app_home"]["messages_tab_enabled"] is True


def test_request_urls_point_at_the_single_events_route() -> None:
    urls = [
        MANIFEST["settings"]["event_subscriptions"]["request_url"],
        MANIFEST["settings"]["interactivity"]["request_url"],
        *(c["url"] for c in MANIFEST["features"]["slash_commands"]),
    ]
    assert all(u.endswith("/slack/events") for u in urls)


def test_files_both_ways_have_their_scopes() -> None:
    """Reading shared files needs files:read (else Slack serves its sign-in page); uploading
    the assistants' images into threads needs files:write."""
    scopes = set(MANIFEST["oauth_config"]["scopes"]["bot"])
    assert {"files:read", "files:write"} <= scopes
