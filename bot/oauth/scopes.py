"""The bot scopes asked for at install: by default those of ``manifest.yml`` (a test keeps the
two lists equal, so the manifest stays the one source of truth)."""

from __future__ import annotations

DEFAULT_BOT_SCOPES: tuple[str, ...] = (
    "app_mentions:read",
    "channels:history",
    "groups:history",
    "im:history",
    "mpim:history",
    "chat:write",
    "assistant:write",
    "channels:read",
    "groups:read",
    "commands",
    "users:read",
    "files:read",
    "files:write",
)


def parse_scopes(value: str) -> list[str]:
    """``SLACK_SCOPES`` (comma or space separated), or the manifest's when empty."""
    given = [s for s in value.replace(",", " ").split() if s]
    return given or list(DEFAULT_BOT_SCOPES)
