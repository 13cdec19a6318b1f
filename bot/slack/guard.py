"""Gates in front of Bolt, for HTTP (``/slack/events``) and Socket Mode: nothing malformed passes.

Bolt answers a correctly signed but malformed body with HTTP 500 (its request parsing raises on
wrong types), and several shapes used to reach listeners that crashed or started paid GLM turns
for a channel we cannot name. Here every request is parsed exactly as Bolt will parse it, with a
depth guard (a deeply nested body made ``json.loads`` raise ``RecursionError``), and checked
against :mod:`bot.slack.payloads`:

- HTTP: signature first, then shape; a malformed request gets 400 with ``X-Slack-No-Retry: 1``
  (the same request would fail again) and never reaches Bolt.
- Socket Mode: a malformed envelope is acknowledged (so Slack does not redeliver it) and
  dropped. Frames the SDK cannot even parse never get this far; it logs and skips them.

The checks themselves are pure (:func:`payload_problem`, :func:`parse_body`).
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from itertools import accumulate
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from bot.slack.payloads import MAX_DEPTH, inbound_problem

log = logging.getLogger(__name__)

JSON_TYPE = "application/json"


@dataclass(frozen=True, slots=True)
class Passed:
    """What the guard learnt of a request it let through (stored on it as ``PASSED``)."""

    type: str | None  # the payload's ``type`` (``event_callback``…); None: a command, ssl_check
    event_id: str | None = None


PASSED = web.RequestKey("slack_passed", Passed)
FORM_TYPE = "application/x-www-form-urlencoded"

_JSON_STRING = re.compile(r'"(?:[^"\\]++|\\.)*+"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]++")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


class Malformed(ValueError):
    """The body cannot be a Slack request; the message says why (safe to log)."""


def json_depth(text: str) -> int:
    """Deepest ``[``/``{`` nesting of a JSON text, without parsing it (no recursion)."""
    skeleton = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text))
    return max(accumulate(map(_STEP.__getitem__, skeleton)), default=0)


def loads_bounded(text: str, *, max_depth: int = MAX_DEPTH) -> Any:
    """``json.loads`` that refuses deep nesting before the decoder recurses into it."""
    # Nesting cannot exceed the number of openers: most bodies are settled by two counts.
    if text.count("{") + text.count("[") > max_depth and json_depth(text) > max_depth:
        raise Malformed(f"JSON nests deeper than {max_depth} levels")
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise Malformed("body is not JSON") from None


def parse_body(content_type: str, body: str) -> Any:
    """The payload exactly as ``slack_bolt.request.internals.parse_body`` will see it."""
    if content_type == JSON_TYPE or body.startswith("{"):
        if content_type not in (JSON_TYPE, FORM_TYPE):
            raise Malformed(f"unsupported content type {content_type or '(none)'}")
        return loads_bounded(body)
    if content_type != FORM_TYPE:
        raise Malformed(f"unsupported content type {content_type or '(none)'}")
    form = dict(parse_qsl(body, keep_blank_values=True))
    if "payload" in body:  # Bolt's test is a substring, not a key (then it sees {})
        if "payload" not in form:
            raise Malformed("form body is neither a command nor an interaction")
        try:
            return loads_bounded(form["payload"])
        except Malformed as exc:
            raise Malformed(str(exc).replace("body", "payload")) from None
    if "command" not in form and "ssl_check" not in form:  # Bolt answers Slack's ssl_check
        raise Malformed("form body is neither a command nor an interaction")
    return form


def payload_problem(content_type: str, body: str) -> str | None:
    """Why this body cannot be a Slack request we may act on, or None if it can."""
    return inspect_payload(content_type, body)[1]


def inspect_payload(content_type: str, body: str) -> tuple[Passed | None, str | None]:
    """``(what passed, None)`` for a body we may act on, else ``(None, why not)``."""
    try:
        data = parse_body(content_type, body)
    except Malformed as exc:
        return None, str(exc)
    if not isinstance(data, dict):
        if content_type == JSON_TYPE:
            return None, "JSON body is not an object"
        return None, "payload is not an interaction object"
    kind = data.get("type")
    kind = kind if isinstance(kind, str) else None
    if "ssl_check" in data and data.keys() <= {"ssl_check", "token"}:  # Slack's certificate check
        return Passed(None), None
    if content_type == FORM_TYPE and "command" not in data and kind is None:
        return None, "payload is not an interaction object"
    if kind == "event_callback":
        event = data.get("event")
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            return None, "event_callback without an event object"
    if (problem := inbound_problem(data)) is not None:
        return None, problem
    event_id = data.get("event_id") if kind == "event_callback" else None
    return Passed(kind, event_id if isinstance(event_id, str) else None), None


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
            return _refuse("body is not UTF-8")
        if not _signed(verifier, request, body):
            return web.json_response({"error": "invalid request"}, status=401)
        passed, problem = inspect_payload(request.content_type, body)
        if passed is None:
            log.warning("rejected a signed but malformed Slack request: %s", problem)
            return _refuse(problem or "malformed")
        request[PASSED] = passed
        return await handler(request)

    return guard


def _refuse(problem: str) -> web.Response:
    # Slack retries a failed event delivery; this one would fail the same way every time.
    return web.json_response({"error": problem}, status=400, headers={"X-Slack-No-Retry": "1"})


def _signed(verifier: SignatureVerifier, request: web.Request, body: str) -> bool:
    timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
    signature = request.headers.get("X-Slack-Signature", "")
    if not timestamp.isdigit() or not signature:
        return False
    return verifier.is_valid(body=body, timestamp=timestamp, signature=signature)


class GuardedSocketModeHandler(AsyncSocketModeHandler):
    """Bolt's Socket Mode handler with the same shape check as HTTP in front of the app."""

    async def handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        problem = inbound_problem(req.payload)
        if problem is None:
            await super().handle(client, req)
            return
        log.warning("dropped a malformed Socket Mode %s envelope: %s", req.type, problem)
        # Acknowledge it: an unacknowledged envelope is redelivered, and would fail again.
        await client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))
