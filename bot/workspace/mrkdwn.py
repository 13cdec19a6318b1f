"""Slack message text → plain text for the model (pure).

Slack encodes mentions, channels, links and specials as ``<…>`` and escapes ``& < >``
(https://docs.slack.dev/messaging/formatting-message-text). The model should read what a person
sees: ``@Alice``, ``#general``, ``label (url)``, ``@channel`` — and never the raw control syntax
that could ping people if echoed back.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

_TOKEN = re.compile(r"<([^<>]*)>")
# Invisible characters that confuse models or hide text; keep ZWJ (emoji sequences) and ordinary
# whitespace. RTL marks are kept: they are meaningful in Arabic/Hebrew text.
_DROP = {"\u200b", "\u2060", "\ufeff"}


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def slack_to_plain(
    text: str, *, bot_user_id: str | None = None, names: Mapping[str, str] | None = None
) -> str:
    """Readable text; the bot's own mention is removed, other users become ``@name``."""
    names = names or {}

    def token(m: re.Match[str]) -> str:
        inner = m.group(1)
        target, _, label = inner.partition("|")
        if target.startswith("@"):
            uid = target[1:]
            if uid == bot_user_id:
                return ""
            return "@" + (names.get(uid) or label or uid)
        if target.startswith("#"):
            return "#" + (label or target[1:])
        if target.startswith("!subteam^"):
            return "@" + (label.lstrip("@") or "group")
        if target.startswith("!"):
            special = target[1:].split("^", 1)[0]
            return "@" + special if special in ("channel", "here", "everyone") else label or ""
        if label:
            return f"{label} ({target})"
        return target

    out = _TOKEN.sub(token, text)
    out = _unescape(out)
    out = "".join(
        ch for ch in out if ch not in _DROP and (ch in "\n\t" or unicodedata.category(ch) != "Cc")
    )
    return re.sub(r"[ \t]{2,}", " ", out).strip()


def mentioned_user_ids(text: str) -> list[str]:
    return [m.group(1) for m in re.finditer(r"<@([A-Z0-9]+)(?:\|[^>]*)?>", text)]
