"""What starts a turn, in the core's own terms: who asked what, where, with which files.

Built by the inbound adapter (``bot.slack.routing`` from a validated event) or by the core
itself (the Retry button re-asks a stored question); the turn never sees a Slack payload.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.files.model import SlackFile


@dataclass(frozen=True, slots=True)
class Route:
    team_id: str
    channel_id: str
    channel_type: str
    user_id: str
    text: str
    ts: str
    thread_ts: str  # the root of the Slack thread the answer goes to
    mention: bool
    requires_known_thread: bool
    files: tuple[SlackFile, ...] = ()  # shared with this message, validated (bot/files/model)

    @property
    def joins_existing_thread(self) -> bool:
        """A mention inside a thread that people started without the bot."""
        return self.mention and self.thread_ts != self.ts


def channel_type_of(channel_id: str) -> str:
    """Slack's channel type from the id alone (D… is a DM), for turns not started by an event."""
    return "im" if channel_id.startswith("D") else "channel"
