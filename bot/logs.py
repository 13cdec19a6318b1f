"""Logging setup: text or JSON lines, with every configured secret redacted.

Redaction is a filter on the handler, so a secret that reaches a log record by any path (an
exception message, a URL, a library's debug line) is replaced before it is written. Besides the
configured secrets it replaces the ones no setting names, by their form: every workspace's Slack
tokens, and the single-use ``code`` and ``state`` of an OAuth redirect.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable
from contextvars import ContextVar
from datetime import UTC, datetime

REDACTED = "[redacted]"
TURN_ID: ContextVar[str | None] = ContextVar("turn_id", default=None)

_KEPT = rf"\g<1>{REDACTED}"
_BY_FORM: tuple[tuple[re.Pattern[str], str], ...] = (
    # Slack tokens: bot xoxb-, user xoxp-, rotating xoxe.xoxb-, refresh xoxe-, app-level xapp-
    (re.compile(r"\b(?:xox[a-z]|xapp)(?:\.xox[a-z])?-[\w-]+"), REDACTED),
    # an OAuth code or state in a URL's query, a form or keyword arguments: code=…, state='…'
    (re.compile(r"""(\b(?:code|state)=['"]?)[^\s&'"]+"""), _KEPT),
    # the same as a dict's repr or JSON: {'code': '…'}, "state": "…" (slack_sdk's DEBUG lines)
    (re.compile(r"""((['"])(?:code|state)\2:\s*['"])[^'"]+"""), _KEPT),
    # Bolt's (Async)OAuthFlow.run_installation: "… result with code: <code> - error: …"
    (re.compile(r"(\bwith code: )\S+"), _KEPT),
)


def redact_by_form(text: str) -> str:
    """``text`` without the secrets recognisable by their form (see ``_BY_FORM``)."""
    for pattern, replacement in _BY_FORM:
        text = pattern.sub(replacement, text)
    return text


class TurnContext(logging.Filter):
    """Stamp every record with the turn it belongs to (ties Slack event, GLM request, reply)."""

    def filter(self, record: logging.LogRecord) -> bool:
        turn = TURN_ID.get()
        record.turn_id = turn or ""
        record.turn = f" [turn {turn[:8]}]" if turn else ""
        return True


class RedactSecrets(logging.Filter):
    """Replace the given secrets, and those recognisable by their form, in a record.

    On a handler it cleans everything written; on a logger, what that logger logs, before any
    handler (also one this module did not set up) sees it."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets = sorted({s for s in secrets if len(s) >= 6}, key=len, reverse=True)

    def _clean(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return redact_by_form(text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg, record.args = self._clean(message), None
        if record.exc_text:
            record.exc_text = self._clean(record.exc_text)
        if record.stack_info:
            record.stack_info = self._clean(record.stack_info)
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("turn_id", "event_id", "request_id"):
            value = getattr(record, key, None)
            if value:
                data[key] = value
        if record.exc_info or record.exc_text:
            data["exc"] = record.exc_text or self.formatException(record.exc_info)  # type: ignore[arg-type]
        return json.dumps(data, ensure_ascii=False)


def configure_logging(*, level: str, fmt: str, secrets: Iterable[str]) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(TurnContext())
    handler.addFilter(RedactSecrets(secrets))
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s%(turn)s: %(message)s")
        )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    # Its DEBUG lines print every SQL statement with its parameters (install states among them)
    logging.getLogger("aiosqlite").setLevel(logging.INFO)
