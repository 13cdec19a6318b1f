"""Tests for bot.logs: secret redaction and JSON lines, through real handlers and loggers."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from bot.logs import REDACTED, TURN_ID, JsonFormatter, RedactSecrets, TurnContext

SECRET = "xoxb-super-secret-token"
KEY = "glm-key.abcdef123"


@pytest.fixture
def stream() -> io.StringIO:
    return io.StringIO()


@contextmanager
def make_logger(
    stream: io.StringIO, secrets: list[str], formatter: logging.Formatter | None = None
) -> Iterator[logging.Logger]:
    handler = logging.StreamHandler(stream)
    handler.addFilter(TurnContext())
    handler.addFilter(RedactSecrets(secrets))
    handler.setFormatter(
        formatter or logging.Formatter("%(levelname)s %(name)s%(turn)s: %(message)s")
    )
    logger = logging.getLogger(f"test_logs.{id(stream)}")
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    try:
        yield logger
    finally:
        logger.handlers = []


@pytest.fixture
def text_logger(stream: io.StringIO) -> Iterator[logging.Logger]:
    with make_logger(stream, [SECRET, KEY, "short"]) as logger:
        yield logger


@pytest.fixture
def json_logger(stream: io.StringIO) -> Iterator[logging.Logger]:
    with make_logger(stream, [SECRET], JsonFormatter()) as logger:
        yield logger


def test_secret_in_message_is_redacted(text_logger: logging.Logger, stream: io.StringIO) -> None:
    text_logger.info(f"calling with {SECRET} now")
    assert stream.getvalue() == f"INFO {text_logger.name}: calling with {REDACTED} now\n"


def test_secret_in_args_is_redacted(text_logger: logging.Logger, stream: io.StringIO) -> None:
    text_logger.warning("auth %s / %r", KEY, {"token": SECRET})
    out = stream.getvalue()
    assert SECRET not in out and KEY not in out
    assert out == f"WARNING {text_logger.name}: auth {REDACTED} / {{'token': '{REDACTED}'}}\n"


def test_secret_in_exception_is_redacted(text_logger: logging.Logger, stream: io.StringIO) -> None:
    try:
        raise RuntimeError("request to https://api/?key=" + KEY + " failed")
    except RuntimeError:
        text_logger.exception("upstream failed")
    out = stream.getvalue()
    assert KEY not in out
    assert f"RuntimeError: request to https://api/?key={REDACTED} failed" in out
    assert "Traceback (most recent call last)" in out


def test_secret_in_chained_exception_is_redacted(
    text_logger: logging.Logger, stream: io.StringIO
) -> None:
    try:
        try:
            raise ValueError(SECRET)
        except ValueError as inner:
            raise RuntimeError("wrapped") from inner
    except RuntimeError:
        text_logger.error("boom", exc_info=True)
    out = stream.getvalue()
    assert SECRET not in out
    assert f"ValueError: {REDACTED}" in out


def test_secret_in_stack_info_is_redacted(text_logger: logging.Logger, stream: io.StringIO) -> None:
    text_logger.info("here %s", SECRET, stack_info=True)  # this source line holds SECRET too
    out = stream.getvalue()
    assert "Stack (most recent call last)" in out
    assert SECRET not in out


def test_longest_secret_wins(stream: io.StringIO) -> None:
    with make_logger(stream, ["abcdef", "abcdefgh"]) as logger:
        logger.info("xxabcdefghxx abcdefyy")
    assert stream.getvalue().endswith(f": xx{REDACTED}xx {REDACTED}yy\n")


def test_short_secrets_are_not_used(stream: io.StringIO) -> None:
    with make_logger(stream, ["short", "12345", ""]) as logger:
        logger.info("short 12345 %s", "kept")
    assert stream.getvalue().endswith(": short 12345 kept\n")


def test_turn_prefix_in_text_format(text_logger: logging.Logger, stream: io.StringIO) -> None:
    token = TURN_ID.set("0123456789abcdef")
    try:
        text_logger.info("in turn")
    finally:
        TURN_ID.reset(token)
    text_logger.info("outside")
    assert stream.getvalue().splitlines() == [
        f"INFO {text_logger.name} [turn 01234567]: in turn",
        f"INFO {text_logger.name}: outside",
    ]


def test_json_one_object_per_line(json_logger: logging.Logger, stream: io.StringIO) -> None:
    json_logger.info("first\nline two with %s", SECRET)
    json_logger.warning("second", extra={"request_id": "req-1", "event_id": "Ev1"})
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert set(first) == {"ts", "level", "logger", "message"}
    assert first["level"] == "info"
    assert first["logger"] == json_logger.name
    assert first["message"] == f"first\nline two with {REDACTED}"
    assert first["ts"].endswith("+00:00")
    assert second["level"] == "warning"
    assert (second["request_id"], second["event_id"]) == ("req-1", "Ev1")


def test_json_turn_id_from_context(json_logger: logging.Logger, stream: io.StringIO) -> None:
    token = TURN_ID.set("turn-42")
    try:
        json_logger.info("inside")
    finally:
        TURN_ID.reset(token)
    json_logger.info("outside")
    inside, outside = (json.loads(line) for line in stream.getvalue().splitlines())
    assert inside["turn_id"] == "turn-42"
    assert "turn_id" not in outside


def test_json_exception_is_redacted(json_logger: logging.Logger, stream: io.StringIO) -> None:
    try:
        raise PermissionError("bad token " + SECRET)
    except PermissionError:
        json_logger.exception("denied")
    (line,) = stream.getvalue().splitlines()
    data = json.loads(line)
    assert data["level"] == "error"
    assert data["message"] == "denied"
    assert f"PermissionError: bad token {REDACTED}" in data["exc"]
    assert SECRET not in line


def test_secrets_no_setting_names_are_redacted_by_their_form(
    text_logger: logging.Logger, stream: io.StringIO
) -> None:
    code, state = "4724469134.4644010092847.232b4e2d5b1b2b2d", "d24bb78d-93ac-4bef-b5bd"
    lines = [
        f"GET /slack/oauth_redirect?code={code}&state={state} HTTP/1.1",
        f"data: {{'code': '{code}', 'state': '{state}'}}",
        f'{{"code": "{code}", "state": "{state}"}}',
        f"oauth_v2_access(code='{code}')",
        f"Failed to fetch oauth.v2.access result with code: {code} - error: invalid_code",
        "tokens: xoxb-1-abc xoxp-2-def xoxe.xoxb-1-ghi xoxe-1-jkl xapp-1-A1-mno",
    ]
    for line in lines:
        text_logger.info(line)
    out = stream.getvalue()
    for secret in (code, state, "abc", "def", "ghi", "jkl", "mno"):
        assert secret not in out
    first, *_, bolt, _tokens = out.splitlines()
    assert first.endswith(f"?code={REDACTED}&state={REDACTED} HTTP/1.1")  # which value it was
    assert bolt.endswith(f"with code: {REDACTED} - error: invalid_code")  # and why it failed


def test_what_only_looks_like_a_code_is_kept(
    text_logger: logging.Logger, stream: io.StringIO
) -> None:
    text = "status_code=500, HTTP status code: 502, error_code=invalid_code, xoxb without dash"
    text_logger.info(text)
    assert stream.getvalue().endswith(f": {text}\n")
