"""The GLM error tree: where every code and kind of failure sits, and what it allows.

The table is the BigModel error table (docs/glm-assistant-api.md §5, "Retry?" column) plus the
transport failures the client raises itself. ``retry_before_first_byte``: the client sends the
request again by itself; ``offer_retry``: the reply shows the person a Retry button.
"""

from __future__ import annotations

import aiohttp
import pytest

from bot.glm.client import transport_error
from bot.glm.errors import (
    GLMAPIError,
    GLMAuthError,
    GLMBadRequest,
    GLMConnectionError,
    GLMConnectTimeout,
    GLMContentFiltered,
    GLMError,
    GLMIdleTimeout,
    GLMPromptTooLong,
    GLMProtocolError,
    GLMQuotaError,
    GLMRateLimited,
    GLMServerError,
    GLMStreamInterrupted,
    GLMTimeout,
    GLMTotalTimeout,
    GLMTransportError,
    error_for,
    error_for_finish_reason,
)
from bot.texts import TEXTS

AUTH, QUOTA, RATE, FILTER = GLMAuthError, GLMQuotaError, GLMRateLimited, GLMContentFiltered
BAD, SERVER, LONG = GLMBadRequest, GLMServerError, GLMPromptTooLong

# code → (class, retry_before_first_byte, offer_retry); the codes of §5, in its order.
CODES: dict[str, tuple[type[GLMError], bool, bool]] = {
    "500": (SERVER, True, True),
    **dict.fromkeys(("1000", "1001", "1002", "1003", "1004"), (AUTH, False, False)),
    **dict.fromkeys(("1100", "1110", "1111", "1112", "1113", "1121"), (QUOTA, False, False)),
    "1120": (GLMError, False, False),  # "cannot access account, try later": unknown, told as is
    **dict.fromkeys(("1200", "1210", "1211", "1212", "1213", "1214", "1215"), (BAD, False, False)),
    **dict.fromkeys(("1220", "1221", "1222", "1230", "1231"), (BAD, False, False)),
    "1234": (SERVER, True, True),
    "1261": (LONG, False, False),
    "1300": (GLMError, False, False),
    "1301": (FILTER, False, False),
    **dict.fromkeys(("1302", "1303", "1305", "1312"), (RATE, True, True)),
    **dict.fromkeys(("1304", "1308", "1309", "1310", "1311", "1313"), (QUOTA, False, False)),
}

# HTTP status without a usable code → the same three facts.
STATUSES: dict[int | None, tuple[type[GLMError], bool, bool]] = {
    400: (BAD, False, False),
    401: (AUTH, False, False),
    404: (BAD, False, False),
    429: (RATE, True, True),
    434: (BAD, False, False),
    500: (SERVER, True, True),
    503: (SERVER, True, True),
    None: (GLMError, False, False),
}

# Failures of the exchange itself: class → (family, kind, retry_before_first_byte, offer_retry).
TRANSPORT: dict[type[GLMError], tuple[str | None, bool, bool]] = {
    GLMConnectionError: (None, True, True),
    GLMConnectTimeout: ("connect", True, True),
    GLMIdleTimeout: ("idle", False, True),
    GLMTotalTimeout: ("total", False, True),
    GLMTimeout: (None, False, True),
    GLMStreamInterrupted: (None, False, True),
    GLMProtocolError: (None, False, False),
}


def every_error_class() -> list[type[GLMError]]:
    seen: list[type[GLMError]] = []
    todo: list[type[GLMError]] = [GLMError]
    while todo:
        cls = todo.pop()
        seen.append(cls)
        todo.extend(cls.__subclasses__())
    return seen


@pytest.mark.parametrize(("code", "expected"), CODES.items(), ids=list(CODES))
def test_every_documented_code(code: str, expected: tuple[type[GLMError], bool, bool]) -> None:
    cls, before_first_byte, offer = expected
    # A code the bot knows decides whatever the status; an unknown one leaves it to the status.
    for status in (None, 400, 429, 500) if cls is not GLMError else (None,):
        err = error_for(code, http_status=status)
        assert type(err) is cls, status
        assert (err.retry_before_first_byte, err.offer_retry) == (before_first_byte, offer)
        if cls is not GLMError:
            assert isinstance(err, GLMAPIError)


@pytest.mark.parametrize(("status", "expected"), STATUSES.items(), ids=str)
def test_every_status_without_a_code(
    status: int | None, expected: tuple[type[GLMError], bool, bool]
) -> None:
    cls, before_first_byte, offer = expected
    err = error_for(None, http_status=status)
    assert type(err) is cls
    assert (err.retry_before_first_byte, err.offer_retry) == (before_first_byte, offer)


@pytest.mark.parametrize(("cls", "expected"), TRANSPORT.items(), ids=lambda v: str(v))
def test_every_transport_kind(cls: type[GLMError], expected: tuple[str | None, bool, bool]) -> None:
    kind, before_first_byte, offer = expected
    err = cls("detail")
    assert isinstance(err, GLMTransportError)
    assert not isinstance(err, GLMAPIError)
    assert getattr(err, "kind", None) == kind
    assert (err.retry_before_first_byte, err.offer_retry) == (before_first_byte, offer)


@pytest.mark.parametrize(
    ("finish_reason", "last_error", "cls", "offer"),
    [
        ("network_error", None, GLMStreamInterrupted, True),
        ("network_error", {"code": "1234", "message": "net"}, GLMStreamInterrupted, True),
        ("sensitive", None, GLMContentFiltered, False),
        (None, {"code": "1302", "message": "busy"}, GLMRateLimited, True),
        ("stop", None, GLMError, False),
    ],
)
def test_failures_inside_the_stream(
    finish_reason: str | None, last_error: dict | None, cls: type[GLMError], offer: bool
) -> None:
    err = error_for_finish_reason(finish_reason, last_error)
    assert type(err) is cls
    assert err.offer_retry is offer


def test_the_tree_has_two_families_and_every_class_sits_in_one() -> None:
    for cls in every_error_class():
        if cls is GLMError:
            continue
        assert issubclass(cls, GLMTransportError) != issubclass(cls, GLMAPIError), cls


def test_what_is_retried_silently_is_also_offered_to_the_person() -> None:
    for cls in every_error_class():
        if cls.retry_before_first_byte:
            assert cls.offer_retry, cls


def test_timeouts_are_one_group_with_three_kinds() -> None:
    kinds = {cls.kind for cls in every_error_class() if issubclass(cls, GLMTimeout)}
    assert kinds == {None, "connect", "idle", "total"}


@pytest.mark.parametrize("cls", every_error_class(), ids=lambda c: c.__name__)
def test_every_class_is_told_in_english_and_chinese(cls: type[GLMError]) -> None:
    key = next(f"glm.{k.__name__}" for k in cls.__mro__ if f"glm.{k.__name__}" in TEXTS)
    assert TEXTS[key]["en"] == cls.summary, "the English text is the class's summary"
    assert cls("x").user_message_in("zh") == f"GLM 错误：{TEXTS[key]['zh']}"
    assert cls("x", code="1302").user_message_in("zh") == f"GLM 错误 1302：{TEXTS[key]['zh']}"


# -- the client's mapping of low-level failures -----------------------------------------------


@pytest.mark.parametrize(
    ("exc", "cls"),
    [
        (aiohttp.ConnectionTimeoutError(), GLMConnectTimeout),
        (TimeoutError(), GLMConnectTimeout),
        (aiohttp.ServerDisconnectedError(), GLMConnectionError),
        (ConnectionRefusedError(), GLMConnectionError),
        (aiohttp.ClientOSError(), GLMConnectionError),
        (aiohttp.ClientPayloadError(), GLMConnectionError),
    ],
    ids=lambda v: type(v).__name__,
)
def test_transport_error_mapping(exc: BaseException, cls: type[GLMError]) -> None:
    err = transport_error(exc)
    assert type(err) is cls
    assert err.retry_before_first_byte
