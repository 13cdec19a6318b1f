"""Tests for bot.glm.errors: payload shapes, class mapping, retryability and user messages."""

from __future__ import annotations

from typing import Any

import pytest

from bot.glm.errors import (
    GLMAuthError,
    GLMBadRequest,
    GLMConnectionError,
    GLMContentFiltered,
    GLMError,
    GLMPromptTooLong,
    GLMProtocolError,
    GLMQuotaError,
    GLMRateLimited,
    GLMServerError,
    GLMStreamInterrupted,
    GLMTimeout,
    error_for,
    error_for_finish_reason,
    error_from_payload,
)

RATE_MESSAGE = "GLM error 1302: too many requests right now, please try again in a moment"

# --- error_from_payload --------------------------------------------------------------------------


def test_nested_error_shape() -> None:
    err = error_from_payload(
        {"error": {"code": "1302", "message": "并发数过高"}}, http_status=429, retry_after=3.0
    )
    assert type(err) is GLMRateLimited
    assert (err.code, err.message, err.http_status, err.retry_after) == (
        "1302",
        "并发数过高",
        429,
        3.0,
    )
    assert err.user_message == RATE_MESSAGE


def test_top_level_shape_with_int_code() -> None:
    err = error_from_payload({"code": 1302, "message": "rate limit"})
    assert type(err) is GLMRateLimited
    assert err.code == "1302"
    assert err.message == "rate limit"
    assert err.user_message == RATE_MESSAGE


def test_msg_key_is_accepted() -> None:
    err = error_from_payload({"code": 1261, "msg": "prompt too long"})
    assert type(err) is GLMPromptTooLong
    assert err.message == "prompt too long"


@pytest.mark.parametrize("payload", ["oops", None, [1, 2], {"error": "string"}, {}])
def test_unusable_payload_falls_back_to_http_status(payload: Any) -> None:
    err = error_from_payload(payload, http_status=502)
    assert type(err) is GLMServerError
    assert err.code is None
    assert err.message == ""
    assert err.user_message == "GLM error: the GLM service had an internal error, please try again"


def test_empty_code_is_none() -> None:
    err = error_from_payload({"error": {"code": "", "message": "m"}}, http_status=400)
    assert err.code is None
    assert type(err) is GLMBadRequest


def test_message_is_capped_at_500_characters() -> None:
    err = error_from_payload({"error": {"code": "1214", "message": "x" * 10_000}})
    assert err.message == "x" * 500


def test_code_from_payload_is_sanitised_before_reaching_user_message() -> None:
    err = error_from_payload({"error": {"code": "<!channel> " + "x" * 1000, "message": "m"}})
    assert "<!channel>" not in err.user_message
    assert len(err.user_message) < 200


# --- error_for -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        *((c, GLMAuthError) for c in ("1000", "1001", "1002", "1003", "1004")),
        *((c, GLMRateLimited) for c in ("1302", "1303", "1305", "1312")),
        *(
            (c, GLMQuotaError)
            for c in ("1100", "1110", "1111", "1112", "1113", "1121", "1304", "1308", "1313")
        ),
        ("1301", GLMContentFiltered),
        ("1261", GLMPromptTooLong),
        ("500", GLMServerError),
        ("1234", GLMServerError),
        ("1210", GLMBadRequest),
        ("1214", GLMBadRequest),
        ("1299", GLMBadRequest),
        ("9999", GLMError),
    ],
)
def test_class_by_code(code: str, cls: type[GLMError]) -> None:
    err = error_for(code, "m")
    assert type(err) is cls
    assert err.code == code


def test_code_wins_over_http_status() -> None:
    assert type(error_for("1113", http_status=429)) is GLMQuotaError
    assert type(error_for("1301", http_status=500)) is GLMContentFiltered


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (401, GLMAuthError),
        (429, GLMRateLimited),
        (500, GLMServerError),
        (503, GLMServerError),
        (400, GLMBadRequest),
        (404, GLMBadRequest),
        (302, GLMError),
        (None, GLMError),
    ],
)
def test_class_by_http_status_when_code_unknown(status: int | None, cls: type[GLMError]) -> None:
    assert type(error_for(None, http_status=status)) is cls
    assert type(error_for("9999", http_status=status)) is cls


@pytest.mark.parametrize("code", ["1302", "1303", "1305", "500"])
def test_retryable_codes(code: str) -> None:
    assert error_for(code).retry_before_first_byte is True


@pytest.mark.parametrize("code", ["1113", "1301", "1261", "1214", "1001"])
def test_non_retryable_codes(code: str) -> None:
    assert error_for(code).retry_before_first_byte is False


def test_retryable_by_http_status() -> None:
    assert error_for(None, http_status=401).retry_before_first_byte is False
    assert error_for(None, http_status=400).retry_before_first_byte is False
    assert error_for(None, http_status=429).retry_before_first_byte is True
    assert error_for(None, http_status=503).retry_before_first_byte is True


def test_retryable_flags_of_transport_errors() -> None:
    assert GLMConnectionError().retry_before_first_byte is True
    assert GLMTimeout().retry_before_first_byte is False
    assert GLMStreamInterrupted().retry_before_first_byte is False
    assert GLMProtocolError().retry_before_first_byte is False


# --- messages ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cls",
    [
        GLMError,
        GLMAuthError,
        GLMRateLimited,
        GLMQuotaError,
        GLMContentFiltered,
        GLMPromptTooLong,
        GLMBadRequest,
        GLMServerError,
        GLMConnectionError,
        GLMTimeout,
        GLMStreamInterrupted,
        GLMProtocolError,
    ],
)
def test_user_message_is_only_code_and_summary(cls: type[GLMError]) -> None:
    detail = "upstream detail with key sk-abcdef123456 and <!channel>"
    with_code = cls(detail, code="1234", http_status=500)
    assert with_code.user_message == f"GLM error 1234: {cls.summary}"
    without_code = cls(detail, http_status=500)
    assert without_code.user_message == f"GLM error: {cls.summary}"
    assert "sk-abcdef" not in with_code.user_message + without_code.user_message


def test_user_message_exact_rate_limit_text() -> None:
    assert error_for("1302", "并发数过高").user_message == RATE_MESSAGE


def test_str_shows_code_or_status_and_message() -> None:
    assert str(error_for("1302", "busy")) == "[1302] busy"
    assert str(error_for(None, "gateway", http_status=502)) == "[502] gateway"
    assert str(GLMTimeout()) == "[-] the assistant stopped responding (timed out)"


def test_default_message_is_the_summary() -> None:
    err = GLMTimeout()
    assert err.message == ""
    assert err.args == (GLMTimeout.summary,)


# --- error_for_finish_reason ---------------------------------------------------------------------


def test_sensitive_without_last_error() -> None:
    err = error_for_finish_reason("sensitive", None)
    assert type(err) is GLMContentFiltered
    assert err.code == "1301"
    assert err.user_message == (
        "GLM error 1301: the request or answer was blocked by the content filter"
    )


def test_sensitive_with_last_error_keeps_its_message() -> None:
    err = error_for_finish_reason("sensitive", {"code": "1301", "message": "系统检测到…"})
    assert type(err) is GLMContentFiltered
    assert (err.code, err.message) == ("1301", "系统检测到…")


def test_code_1301_is_a_content_filter_whatever_the_finish_reason() -> None:
    err = error_for_finish_reason("stop", {"code": 1301, "message": "m"})
    assert type(err) is GLMContentFiltered
    assert err.code == "1301"


def test_network_error() -> None:
    err = error_for_finish_reason("network_error", None)
    assert type(err) is GLMStreamInterrupted
    assert err.code is None
    assert err.user_message == (
        "GLM error: the answer was cut off by a network error, please try again"
    )
    coded = error_for_finish_reason("network_error", {"code": "1234", "message": "net"})
    assert type(coded) is GLMStreamInterrupted
    assert (coded.code, coded.message) == ("1234", "net")


def test_other_finish_reason_uses_last_error() -> None:
    err = error_for_finish_reason(None, {"code": "1302", "message": "busy"})
    assert type(err) is GLMRateLimited
    assert err.message == "busy"


def test_no_information_at_all() -> None:
    err = error_for_finish_reason("stop", "not a dict")
    assert type(err) is GLMError
    assert err.message == "stream failed (finish_reason=stop)"
    assert err.code is None
