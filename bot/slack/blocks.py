"""Block Kit payloads for a reply message, as pure functions (no Slack client here)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.slack.render import escape_mrkdwn
from bot.streaming.tools import Image, Source

SECTION_LIMIT = 3000
CONTEXT_LIMIT = 2000
MAX_IMAGES = 10
MAX_SOURCES = 10
STOP_ACTION_ID = "glm_stop"
RETRY_ACTION_ID = "glm_retry"
CURSOR = " ▍"

Block = dict[str, Any]


def _context(text: str) -> Block:
    return {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": text[:CONTEXT_LIMIT]}],
    }


def reply_message(
    body: str,
    *,
    header: str | None = None,
    activity: str | None = None,
    streaming: bool = False,
    images: Sequence[Image] = (),
    sources: Sequence[Source] = (),
    footer: str | None = None,
    stop_value: str | None = None,
    retry_value: str | None = None,
) -> tuple[str, list[Block]]:
    """``(fallback text, blocks)`` for one reply message; ``body`` is already mrkdwn."""
    shown = body + CURSOR if streaming and body else body
    if not shown:
        shown = "_…_" if streaming else " "
    blocks: list[Block] = []
    if header:
        blocks.append(_context(header))
    blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": shown[:SECTION_LIMIT]}})
    for image in images[:MAX_IMAGES]:
        blocks.append(
            {
                "type": "image",
                "image_url": image.url,
                "alt_text": image.title[:2000] or "image",
                "title": {"type": "plain_text", "text": image.title[:2000] or "image"},
            }
        )
    if sources:
        links = [
            f"{i}. <{escape_mrkdwn(s.url)}|{escape_mrkdwn(s.title)[:150]}>"
            for i, s in enumerate(sources[:MAX_SOURCES], 1)
        ]
        blocks.append(_context("*Sources*\n" + "\n".join(links)))
    if activity and streaming:
        blocks.append(_context(f":hourglass_flowing_sand: {escape_mrkdwn(activity)}"))
    if footer:
        blocks.append(_context(footer))
    if stop_value and streaming:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": STOP_ACTION_ID,
                        "text": {"type": "plain_text", "text": "Stop"},
                        "value": stop_value,
                    }
                ],
            }
        )
    if retry_value:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": RETRY_ACTION_ID,
                        "text": {"type": "plain_text", "text": "Retry"},
                        "value": retry_value,
                        "style": "primary",
                    }
                ],
            }
        )
    text = shown
    if images and not body:
        text = " ".join(i.url for i in images[:MAX_IMAGES])
    return text[:SECTION_LIMIT], blocks
