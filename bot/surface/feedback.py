"""👍/👎 on finished answers (pure): the parsing of a click (the buttons are drawn by
:func:`bot.reply.blocks.feedback_block`).

Slack's ``feedback_buttons`` element lives only inside a ``context_actions`` block
(docs.slack.dev/reference/block-kit/blocks/context-actions-block; slack-platform-and-peers
§2.7). Each button's ``value`` carries the rating and the reply's turn id, so a click needs no
lookup by message ts; the id is validated before it reaches the database.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from bot.action_ids import FEEDBACK_ACTION_ID

Rating = Literal["good", "bad"]
_VALUE = re.compile(r"(good|bad):([0-9a-f]{32})")
_ID = re.compile(r"[A-Z0-9]{2,20}")
_TS = re.compile(r"\d{1,12}\.\d{1,8}")


@dataclass(frozen=True, slots=True)
class FeedbackClick:
    team_id: str
    user_id: str
    channel_id: str
    thread_ts: str | None
    turn_id: str
    rating: Rating


def parse_feedback_click(body: Mapping[str, Any]) -> FeedbackClick | None:
    """A ``block_actions`` payload from a feedback button, or None when it is not a valid one."""
    actions = body.get("actions")
    action = actions[0] if isinstance(actions, list) and actions else None
    if not isinstance(action, Mapping) or action.get("action_id") != FEEDBACK_ACTION_ID:
        return None
    value = action.get("value")
    match = _VALUE.fullmatch(value) if isinstance(value, str) else None
    user = _id(_get(body, "user", "id"))
    team = _id(_get(body, "team", "id")) or _id(_get(body, "user", "team_id"))
    channel = _id(_get(body, "channel", "id")) or _id(_get(body, "container", "channel_id"))
    if match is None or user is None or team is None or channel is None:
        return None
    thread_ts = _get(body, "container", "thread_ts") or _get(body, "message", "thread_ts")
    rating: Rating = "good" if match.group(1) == "good" else "bad"
    return FeedbackClick(
        team_id=team,
        user_id=user,
        channel_id=channel,
        thread_ts=thread_ts if isinstance(thread_ts, str) and _TS.fullmatch(thread_ts) else None,
        turn_id=match.group(2),
        rating=rating,
    )


def _get(body: Mapping[str, Any], outer: str, inner: str) -> Any:
    part = body.get(outer)
    return part.get(inner) if isinstance(part, Mapping) else None


def _id(value: Any) -> str | None:
    return value if isinstance(value, str) and _ID.fullmatch(value) else None
