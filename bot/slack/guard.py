"""A gate in front of Bolt for ``/slack/events``: signature first, then payload shape.

Bolt answers a correctly signed but malformed body with HTTP 500 (and a traceback in the log),
which Slack would retry. Here such requests get a 4xx before they reach Bolt, and nothing else
changes for well-formed ones. The shape check is pure (:func:`payload_problem`).
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import parse_qs

from aiohttp import web
from slack_sdk.signature import SignatureVerifier

log = logging.getLogger(__name__)


def payload_problem(content_type: str, body: str) -> str | None:
    """Why this body cannot be a Slack request, or None if it looks like one."""
    if content_type == "application/json":
        try:
            data: Any = json.loads(body)
        except ValueError:
            return "body is not JSON"
        if not isinstance(data, dict):
            return "JSON body is not an object"
        kind = data.get("type")
        if kind == "event_callback":
            event = data.get("event")
            if not isinstance(event, dict) or not isinstance(event.get("type"), str):
                return "event_callback without an event object"
        elif kind is not None and not isinstance(kind, str):
            return "type is not a string"
        return None
    if content_type == "application/x-www-form-urlencoded":
        form = parse_qs(body, keep_blank_values=True)
        if "payload" in form:
            try:
                payload = json.loads(form["payload"][0])
            except ValueError:
                return "payload is not JSON"
            if not isinstance(payload, dict) or not isinstance(payload.get("type"), str):
                return "payload is not an interaction object"
            return None
        if "command" in form:
            return None
        return "form body is neither a command nor an interaction"
    return f"unsupported content type {content_type or '(none)'}"


def slack_guard(*, signing_secret: str, path: str = "/slack/events") -> Any:
    verifier = SignatureVerifier(signing_secret)

    @web.middleware
    async def guard(request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path != path or request.method != "POST":
            return await handler(request)
        raw = await request.read()  # bounded by client_max_size: larger bodies get 413
        try:
            body = raw.decode("utf-8")
        except UnicodeDecodeError:
            return web.json_response({"error": "body is not UTF-8"}, status=400)
        if not _signed(verifier, request, body):
            return web.json_response({"error": "invalid request"}, status=401)
        problem = payload_problem(request.content_type, body)
        if problem is not None:
            log.warning("rejected a signed but malformed Slack request: %s", problem)
            return web.json_response({"error": problem}, status=400)
        return await handler(request)

    return guard


def _signed(verifier: SignatureVerifier, request: web.Request, body: str) -> bool:
    timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
    signature = request.headers.get("X-Slack-Signature", "")
    if not timestamp.isdigit() or not signature:
        return False
    return verifier.is_valid(body=body, timestamp=timestamp, signature=signature)
