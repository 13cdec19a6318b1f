"""Block Kit payloads for a reply message, as pure functions (no Slack client here)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.action_ids import FEEDBACK_ACTION_ID, RETRY_ACTION_ID, STOP_ACTION_ID
from bot.reply.render import escape_mrkdwn
from bot.reply.tools import Image, Source, ToolLedger
from bot.texts import Lang, t

SECTION_LIMIT = 3000
CONTEXT_LIMIT = 2000
MAX_IMAGES = 10
MAX_SOURCES = 10
ACTIVITY_BLOCK_ID = "glm_activity"  # the live "what the tools are doing" line
CURSOR = " ▍"

Block = dict[str, Any]


def context_block(text: str) -> Block:
    return {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": text[:CONTEXT_LIMIT]}],
    }


def _sources_text(sources: Sequence[Source], lang: Lang = "en") -> str:
    """Numbered links, whole links only: a cut inside ``<url|title>`` would break the markup.

    The title is clipped *before* escaping, so a cut can never split ``&amp;`` into ``&am``.
    """
    text = f"*{t('sources', lang)}*"
    for i, source in enumerate(sources[:MAX_SOURCES], 1):
        title = escape_mrkdwn(source.title[:150])
        line = f"\n{i}. <{escape_mrkdwn(source.url)}|{title}>"
        if len(text) + len(line) > CONTEXT_LIMIT:
            break
        text += line
    return text


MAX_CODE_CHARS = 1500


def _published_text(ledger: ToolLedger, lang: Lang) -> str:
    """Outputs re-uploaded into the thread: the Slack file, and GLM's link as the source."""
    lines = []
    for p in list(ledger.published.values())[:MAX_IMAGES]:
        title = escape_mrkdwn(p.title[:100])
        shown = f"<{escape_mrkdwn(p.permalink)}|{title}>" if p.permalink else f"*{title}*"
        source = f"<{escape_mrkdwn(p.source)}|{t('file_source', lang)}>"
        lines.append(f":frame_with_picture: {shown} ({t('file_published', lang)}) · {source}")
    return "\n".join(lines)


def tool_appendix(ledger: ToolLedger, lang: Lang = "en") -> list[Block]:
    """What the tools did, shown under a finished answer: the code run and its text output,
    files the assistant produced, and the documents it consulted."""
    blocks: list[Block] = []
    if ledger.code:
        code = "\n\n".join(ledger.code)
        if len(code) > MAX_CODE_CHARS:
            code = code[: MAX_CODE_CHARS - 1] + "…"
        text = f"*{t('code_run', lang)}*\n```{escape_mrkdwn(code)}```"
        if ledger.code_logs:
            logs = "\n".join(ledger.code_logs)[:MAX_CODE_CHARS]
            text += f"\n*{t('code_output', lang)}*\n```{escape_mrkdwn(logs)}```"
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text[:SECTION_LIMIT]}})
    if ledger.published:
        blocks.append(context_block(_published_text(ledger, lang)))
    unpublished = [s for s in ledger.links if s.url not in ledger.published]
    if unpublished:
        links = " · ".join(
            f"<{escape_mrkdwn(s.url)}|{escape_mrkdwn(s.title[:100])}>" for s in unpublished[:10]
        )
        blocks.append(context_block(f":paperclip: {links}"))
    if ledger.documents:
        docs = ", ".join(escape_mrkdwn(d) for d in ledger.documents[:20])
        blocks.append(
            context_block(f":page_facing_up: {t('documents_consulted', lang, docs=docs)}")
        )
    return blocks


def feedback_block(turn_id: str, lang: Lang = "en") -> dict[str, Any]:
    """👍/👎 (Slack's ``feedback_buttons``, only valid inside ``context_actions``); each value
    carries the rating and the reply's turn id, so a click needs no lookup by message ts."""
    return {
        "type": "context_actions",
        "elements": [
            {
                "type": "feedback_buttons",
                "action_id": FEEDBACK_ACTION_ID,
                "positive_button": {
                    "text": {"type": "plain_text", "text": "👍"},
                    "value": f"good:{turn_id}",
                    "accessibility_label": t("feedback_good", lang),
                },
                "negative_button": {
                    "text": {"type": "plain_text", "text": "👎"},
                    "value": f"bad:{turn_id}",
                    "accessibility_label": t("feedback_bad", lang),
                },
            }
        ],
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
    appendix: Sequence[Block] = (),
    lang: Lang = "en",
    feedback_value: str | None = None,
) -> tuple[str, list[Block]]:
    """``(fallback text, blocks)`` for one reply message; ``body`` is already mrkdwn."""
    shown = body + CURSOR if streaming and body else body
    if not shown:
        shown = "_…_" if streaming else " "
    blocks: list[Block] = []
    if header:
        blocks.append(context_block(header))
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
        blocks.append(context_block(_sources_text(sources, lang)))
    blocks.extend(appendix)
    if activity and streaming:
        activity_line = context_block(f":hourglass_flowing_sand: {escape_mrkdwn(activity)}")
        blocks.append({**activity_line, "block_id": ACTIVITY_BLOCK_ID})
    if footer:
        blocks.append(context_block(footer))
    if stop_value and streaming:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": STOP_ACTION_ID,
                        "text": {"type": "plain_text", "text": t("button_stop", lang)},
                        "value": stop_value,
                    }
                ],
            }
        )
    if retry_value:
        blocks.append(retry_actions(retry_value, lang))
    elif feedback_value and not streaming:
        blocks.append(feedback_block(feedback_value, lang))
    text = shown
    if images and not body:
        text = " ".join(i.url for i in images[:MAX_IMAGES])
    return text[:SECTION_LIMIT], blocks


def retry_actions(value: str, lang: Lang = "en") -> Block:
    return {
        "type": "actions",
        "elements": [
            {
                "type": "button",
                "action_id": RETRY_ACTION_ID,
                "text": {"type": "plain_text", "text": t("button_retry", lang)},
                "value": value,
                "style": "primary",
            }
        ],
    }


def interrupted_message(
    text: str,
    blocks: Sequence[Block] | None,
    *,
    notice: str,
    retry_value: str,
    lang: Lang = "en",
) -> tuple[str, list[Block]]:
    """A half-written reply, finalised after a crash: keep the text, drop live parts, add Retry."""
    body = (text or "").removesuffix(CURSOR).rstrip()
    kept: list[Block] = []
    for block in blocks or []:
        if block.get("type") == "actions":
            continue
        if block.get("type") == "section":
            section_text = str(block.get("text", {}).get("text", "")).removesuffix(CURSOR)
            body = section_text.rstrip() if section_text.strip() not in ("", "_…_") else ""
            continue
        if block.get("type") == "context" and _is_activity(block):
            continue
        kept.append(block)
    full = f"{body}\n\n{notice}" if body else notice
    header = [b for b in kept if b.get("type") == "context"][:1]
    rest = [b for b in kept if b not in header]
    section = {"type": "section", "text": {"type": "mrkdwn", "text": full[:SECTION_LIMIT]}}
    return full[:SECTION_LIMIT], [*header, section, *rest, retry_actions(retry_value, lang)]


def _is_activity(block: Block) -> bool:
    """Known by its block id, not by how it looks: restyling the line cannot break recovery."""
    return block.get("block_id") == ACTIVITY_BLOCK_ID
