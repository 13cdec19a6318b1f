"""GLM failures as a small tree, like httpx's, each with a short message a Slack user can read.

::

    GLMError
    ├── GLMTransportError            the exchange itself failed
    │   ├── GLMConnectionError       could not connect
    │   ├── GLMTimeout               (kind: connect / idle / total)
    │   │   ├── GLMConnectTimeout
    │   │   ├── GLMIdleTimeout       no byte for GLM_IDLE_TIMEOUT (headers included)
    │   │   └── GLMTotalTimeout      the whole request outlived GLM_TOTAL_TIMEOUT
    │   ├── GLMStreamInterrupted     the stream broke off
    │   └── GLMProtocolError         a response the bot could not read
    └── GLMAPIError                  GLM answered with an error
        ├── GLMAuthError, GLMQuotaError, GLMRateLimited, GLMContentFiltered,
        ├── GLMPromptTooLong, GLMBadRequest
        └── GLMServerError

Two named properties say what a failure allows, so no caller rebuilds groups by hand:
``retry_before_first_byte`` (the client may send the request again by itself: nothing was shown
yet and the failure is transient) and ``offer_retry`` (the reply offers the person a Retry
button). Codes come from the BigModel error table (wire notes §5); anything unknown falls back
by HTTP status.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from bot.texts import TEXTS, Lang, t

RETRYABLE_CODES = frozenset({"500", "1234", "1302", "1303", "1305", "1312"})
AUTH_CODES = frozenset({"1000", "1001", "1002", "1003", "1004"})
QUOTA_CODES = frozenset(
    {"1100", "1110", "1111", "1112", "1113", "1121", "1304", "1308", "1309", "1310", "1311", "1313"}
)
RATE_CODES = frozenset({"1302", "1303", "1305", "1312"})
_CODE = re.compile(r"[0-9A-Za-z_.-]{1,32}")

TimeoutKind = Literal["connect", "idle", "total"]


class GLMError(Exception):
    """Base class: ``code`` is the platform code as a string (may be None), never a secret.

    Also what an unknown code or an unexplained failure is raised as: neither retried nor
    offered again, since nothing says another try would go differently.
    """

    retry_before_first_byte = False
    offer_retry = False
    summary = "the assistant could not answer"

    def __init__(
        self,
        message: str = "",
        *,
        code: str | None = None,
        http_status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message or self.summary)
        self.message = message
        self.code = code
        self.http_status = http_status
        self.retry_after = retry_after

    @property
    def user_message(self) -> str:
        """What the Slack user sees, e.g. ``GLM error 1302: too many requests right now, …``."""
        return self.user_message_in("en")

    def user_message_in(self, lang: Lang) -> str:
        summary = self.summary if lang == "en" else _summary(type(self), lang)
        if self.code:
            return t("glm_error", lang, code=self.code, summary=summary)
        return t("glm_error_nocode", lang, summary=summary)

    def __str__(self) -> str:
        return f"[{self.code or self.http_status or '-'}] {self.message or self.summary}"


# -- transport: the exchange with GLM failed ------------------------------------------------------


class GLMTransportError(GLMError):
    """The request or its stream failed on the way; GLM's own verdict is unknown."""


class GLMConnectionError(GLMTransportError):
    """No connection: nothing reached GLM, so sending again is safe."""

    retry_before_first_byte = True
    offer_retry = True
    summary = "could not reach the GLM service, please try again"


class GLMTimeout(GLMTransportError):
    """A wait outlived its limit; ``kind`` says which (None for a timeout of no known kind)."""

    kind: TimeoutKind | None = None
    offer_retry = True
    summary = "the assistant stopped responding (timed out)"


class GLMConnectTimeout(GLMTimeout):
    """The connection was not set up in GLM_CONNECT_TIMEOUT: nothing was sent, so it is retried
    like a refused connection, and told as one."""

    kind = "connect"
    retry_before_first_byte = True
    summary = "could not reach the GLM service, please try again"


class GLMIdleTimeout(GLMTimeout):
    """No byte for GLM_IDLE_TIMEOUT, before the headers or between chunks. GLM may still be
    working on the request (same request_id), so the client does not send it again itself."""

    kind = "idle"


class GLMTotalTimeout(GLMTimeout):
    """The whole request (retries, headers and body) outlived GLM_TOTAL_TIMEOUT."""

    kind = "total"


class GLMStreamInterrupted(GLMTransportError):
    offer_retry = True
    summary = "the answer was cut off by a network error, please try again"


class GLMProtocolError(GLMTransportError):
    summary = "the GLM service sent a response the bot could not read"


# -- API: GLM answered with an error --------------------------------------------------------------


class GLMAPIError(GLMError):
    """GLM's own error response (HTTP status and/or platform code, wire notes §5)."""


class GLMAuthError(GLMAPIError):
    summary = "the bot's BigModel API key was rejected; a workspace admin must fix ZHIPUAI_API_KEY"


class GLMRateLimited(GLMAPIError):
    retry_before_first_byte = True
    offer_retry = True
    summary = "too many requests right now, please try again in a moment"


class GLMQuotaError(GLMAPIError):
    summary = (
        "the BigModel account has no balance or has hit its usage limit; an admin must top it up"
    )


class GLMContentFiltered(GLMAPIError):
    summary = "the request or answer was blocked by the content filter"


class GLMPromptTooLong(GLMAPIError):
    """Not a :class:`GLMBadRequest`: those make the turn retry without stale files or with a
    new conversation, which a too-long prompt does not need."""

    summary = (
        "this conversation is too long for the model; shorten the message or start a new thread"
    )


class GLMBadRequest(GLMAPIError):
    summary = "the request was rejected as invalid"


class GLMServerError(GLMAPIError):
    retry_before_first_byte = True
    offer_retry = True
    summary = "the GLM service had an internal error, please try again"


def _summary(cls: type[GLMError], lang: Lang) -> str:
    for klass in cls.__mro__:
        key = f"glm.{klass.__name__}"
        if key in TEXTS:
            return t(key, lang)
    return cls.summary


def error_from_payload(
    payload: Any, *, http_status: int | None = None, retry_after: float | None = None
) -> GLMError:
    """Map either error shape (``{"error":{code,message}}`` or top-level ``{code,message}``)."""
    body = payload.get("error") if isinstance(payload, dict) else None
    if not isinstance(body, dict):
        body = payload if isinstance(payload, dict) else {}
    raw_code = body.get("code")
    code = str(raw_code) if raw_code is not None else None
    if code is not None and not _CODE.fullmatch(code):
        code = None  # shown to users in Slack: only a plain platform code may pass through
    raw_message = body.get("message") or body.get("msg") or ""
    message = str(raw_message)[:500]
    return error_for(code, message, http_status=http_status, retry_after=retry_after)


def error_for(
    code: str | None,
    message: str = "",
    *,
    http_status: int | None = None,
    retry_after: float | None = None,
) -> GLMError:
    """Pick the exception class from the platform code first, then the HTTP status."""
    cls: type[GLMError]
    if code in AUTH_CODES:
        cls = GLMAuthError
    elif code in RATE_CODES:
        cls = GLMRateLimited
    elif code in QUOTA_CODES:
        cls = GLMQuotaError
    elif code == "1301":
        cls = GLMContentFiltered
    elif code == "1261":
        cls = GLMPromptTooLong
    elif code in RETRYABLE_CODES:
        cls = GLMServerError
    elif code is not None and code.startswith("12"):
        cls = GLMBadRequest
    elif http_status == 401:
        cls = GLMAuthError
    elif http_status == 429:
        cls = GLMRateLimited
    elif http_status is not None and http_status >= 500:
        cls = GLMServerError
    elif http_status is not None and 400 <= http_status < 500:
        cls = GLMBadRequest
    else:
        cls = GLMError
    return cls(message, code=code, http_status=http_status, retry_after=retry_after)


def error_for_finish_reason(finish_reason: str | None, last_error: Any) -> GLMError:
    """A ``status: failed`` chunk: ``sensitive`` is the filter, ``network_error`` a cut-off."""
    err = error_from_payload(last_error) if isinstance(last_error, dict) else None
    if finish_reason == "sensitive" or (err and err.code == "1301"):
        return GLMContentFiltered(
            err.message if err else "", code=(err.code if err and err.code else "1301")
        )
    if finish_reason == "network_error":
        return GLMStreamInterrupted(err.message if err else "", code=err.code if err else None)
    if err is not None:
        return err
    return GLMError(f"stream failed (finish_reason={finish_reason})")
