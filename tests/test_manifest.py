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


def test_agent_surface() -> None:
    """The Messages tab as an agent app (slack-platform-and-peers §2.5): agent_view, not the
    deprecated assistant_view; the events that open it and say what the person views; the
    scopes for setSuggestedPrompts/setTitle/setStatus and for reading channel names."""
    features = MANIFEST["features"]
    assert "assistant_view" not in features
    view = features["agent_view"]
    assert 0 < len(view["agent_description"]) <= 300
    assert 1 <= len(view["suggested_prompts"]) <= 4
    events = set(MANIFEST["settings"]["event_subscriptions"]["bot_events"])
    assert {"app_home_opened", "app_context_changed"} <= events
    scopes = set(MANIFEST["oauth_config"]["scopes"]["bot"])
    assert {"assistant:write", "chat:write", "channels:read", "groups:read"} <= scopes
    assert features["app_home"]["messages_tab_enabled"] is True


def test_schema_limits_default_prompts_to_four() -> None:
    features = {**MANIFEST["features"]}
    features["agent_view"] = {
        **features["agent_view"],
        "suggested_prompts": [{"title": "t", "message": "m"}] * 5,
    }
    broken = {**MANIFEST, "features": features}
    assert list(jsonschema.Draft7Validator(SCHEMA).iter_errors(broken))


def test_home_tab() -> None:
    """The Home tab (usage and quotas) is enabled and its event and locale lookups allowed."""
    assert MANIFEST["features"]["app_home"]["home_tab_enabled"] is True
    assert "app_home_opened" in MANIFEST["settings"]["event_subscriptions"]["bot_events"]
    assert "users:read" in MANIFEST["oauth_config"]["scopes"]["bot"]


def test_distribution_by_oauth() -> None:
    """OAuth mode (issue 15): the redirect route, the two leaving events, and SLACK_SCOPES'
    default equal to the manifest's bot scopes (one source of truth)."""
    from bot.oauth.flow import REDIRECT_PATH
    from bot.oauth.scopes import DEFAULT_BOT_SCOPES, parse_scopes

    assert MANIFEST["oauth_config"]["redirect_urls"] == [
        f"https://YOUR-HOST.example.com{REDIRECT_PATH}"
    ]
    events = set(MANIFEST["settings"]["event_subscriptions"]["bot_events"])
    assert {"app_uninstalled", "tokens_revoked"} <= events
    assert list(DEFAULT_BOT_SCOPES) == MANIFEST["oauth_config"]["scopes"]["bot"]
    assert parse_scopes("") == MANIFEST["oauth_config"]["scopes"]["bot"]
    assert parse_scopes("chat:write, commands") == ["chat:write", "commands"]
