"""GLM failures as a small exception hierarchy, each with a short message a Slack user can read.

Codes come from the BigModel error table (wire notes §5); anything unknown falls back by HTTP
status. ``retryable`` says whether retrying *before the first byte* may help.
"""

from __future__ import annotations

import re
from typing import Any

from bot.texts import TEXTS, Lang, t

RETRYABLE_CODES = frozenset({"500", "1234", "1302", "1303", "1305", "1312"})
AUTH_CODES = frozenset({"1000", "1001", "1002", "1003", "1004"})
QUOTA_CODES = frozenset(
    {"1100", "1110", "1111", "1112", "1113", "1121", "1304", "1308", "1309", "1310", "1311", "1313"}
)
RATE_CODES = frozenset({"1302", "1303", "1305", "1312"})
_CODE = re.compile(r"[0-9A-Za-z_.-]{1,32}")


class GLMError(Exception):
    """Base class: ``code`` is the platform code as a string (may be None), never a secret."""

    retryable = False
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


class GLMAuthError(GLMError):
    summary = "the bot's BigModel API key was rejected; a workspace admin must fix ZHIPUAI_API_KEY"


class GLMRateLimited(GLMError):
    retryable = True
    summary = "too many requests right now, please try again in a moment"


class GLMQuotaError(GLMError):
    summary = (
        "the BigModel account has no balance or has hit its usage limit; an admin must top it up"
    )


class GLMContentFiltered(GLMError):
    summary = "the request or answer was blocked by the content filter"


class GLMPromptTooLong(GLMError):
    summary = (
        "this conversation is too long for the model; shorten the message or start a new thread"
    )


class GLMBadRequest(GLMError):
    summary = "the request was rejected as invalid"


class GLMServerError(GLMError):
    retryable = True
    summary = "the GLM service had an internal error, please try again"


class GLMConnectionError(GLMError):
    retryable = True
    summary = "could not reach the GLM service, please try again"


class GLMTimeout(GLMError):
    summary = "the assistant stopped responding (timed out)"


class GLMStreamInterrupted(GLMError):
    summary = "the answer was cut off by a network error, please try again"


class GLMProtocolError(GLMError):
    summary = "the GLM service sent a response the bot could not read"


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
