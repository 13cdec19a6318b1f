"""Asyncio client for the GLM assistant API (``POST {base}/assistant``, SSE).

Neither official SDK has an asyncio client (wire notes §7), so this speaks HTTP directly with one
aiohttp session per process. Retries happen only before the first byte of a stream: once text has
reached the user, a retry would duplicate it.

Every wait is bounded. ``idle`` limits each wait for a byte from GLM: for the response headers
(the connection set-up included) as much as between chunks, since a GLM that accepted the
request and never answers must not hold a turn forever. ``total`` limits the whole request from
the first attempt on: retries and their back-off, headers, error body and stream. The limits are
``asyncio.timeout`` scopes around each await rather than aiohttp's ``sock_read``, so the error
says which limit ran out (:class:`GLMIdleTimeout` or :class:`GLMTotalTimeout`).
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from bot.glm.deadline import Deadline, StopBeforeDeadline
from bot.glm.errors import (
    GLMConnectionError,
    GLMConnectTimeout,
    GLMError,
    GLMProtocolError,
    GLMStreamInterrupted,
    GLMTimeout,
    GLMTransportError,
    error_for_finish_reason,
    error_from_payload,
)
from bot.glm.events import Completed, ConversationStarted, StreamEvent, parse_chunk, parse_usage
from bot.glm.sse import SSEDecoder

log = logging.getLogger(__name__)

USER_AGENT = "glm-slack-bot/0.1 (+aiohttp)"
MAX_ERROR_BODY = 64 * 1024


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds: ``connect`` to set up a connection, ``idle`` without a byte from GLM (headers
    included), ``total`` for a whole request (retries included)."""

    connect: float = 10.0
    idle: float = 90.0
    total: float = 600.0


def transport_error(exc: BaseException) -> GLMTransportError:
    """An aiohttp/OS failure to connect or send, as the GLM error it means."""
    if isinstance(exc, TimeoutError):  # aiohttp's ConnectionTimeoutError; before OSError, its base
        return GLMConnectTimeout("connect timeout")
    return GLMConnectionError(type(exc).__name__)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_retries: int = 3
    base_delay: float = 0.5
    max_delay: float = 8.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Exponential backoff with jitter; a server's Retry-After wins when it asks for longer."""
        backoff = min(self.base_delay * 2 ** (attempt - 1), self.max_delay)
        backoff *= 0.75 + random.random() * 0.25
        if retry_after is not None:
            return max(backoff, min(retry_after, max(self.max_delay, 60.0)))
        return backoff


@dataclass(slots=True)
class AssistantRequest:
    assistant_id: str
    text: str
    user_id: str
    request_id: str
    conversation_id: str | None = None
    attachments: list[dict[str, Any]] = field(default_factory=list)
    metadata: dict[str, Any] | None = None
    images: tuple[str, ...] = ()  # image URLs (``data:`` URLs) sent as multimodal parts

    def body(self, model: str) -> dict[str, Any]:
        content: list[dict[str, Any]] = [{"type": "text", "text": self.text}]
        content += [{"type": "image_url", "image_url": {"url": url}} for url in self.images]
        body: dict[str, Any] = {
            "assistant_id": self.assistant_id,
            "model": model,
            "messages": [{"role": "user", "content": content}],
            "stream": True,
            "request_id": self.request_id,
            "user_id": self.user_id,
        }
        if self.conversation_id:
            body["conversation_id"] = self.conversation_id
        if self.attachments:
            body["attachments"] = self.attachments
        if self.metadata:
            body["metadata"] = self.metadata
        return body


def _retry_after(headers: Any) -> float | None:
    value = headers.get("Retry-After") if headers is not None else None
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


class GLMClient:
    """One per process; ``stream()`` yields typed events and raises :class:`GLMError`."""

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str,
        model: str = "glm-4-assistant",
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self._api_key = api_key
        self._base_url = base_url.rstrip("/")
        self._model = model
        self._timeouts = timeouts or Timeouts()
        self._retry = retry or RetryPolicy()
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(
                    total=None, connect=self._timeouts.connect, sock_connect=self._timeouts.connect
                ),
                headers={"User-Agent": USER_AGENT},
                trust_env=False,
            )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def _headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self._api_key}",
            "Content-Type": "application/json; charset=UTF-8",
            "Accept": "text/event-stream",
        }

    async def stream(self, request: AssistantRequest) -> AsyncGenerator[StreamEvent, None]:
        """Stream one turn. Raises a :class:`GLMError` subclass on any failure."""
        await self.start()
        assert self._session is not None
        deadline = Deadline(idle=self._timeouts.idle, total=self._timeouts.total)
        response = await self._open(request, deadline)
        try:
            async for event in self._events(response, deadline):
                yield event
        finally:
            response.release()

    async def _open(self, request: AssistantRequest, deadline: Deadline) -> aiohttp.ClientResponse:
        """POST and return a 200 response, retrying transient failures before any byte
        (``retry_before_first_byte``) while the back-off still ends inside ``total``."""
        body = json.dumps(request.body(self._model), ensure_ascii=False).encode()
        url = f"{self._base_url}/assistant"

        def _wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            retry_after = exc.retry_after if isinstance(exc, GLMError) else None
            return self._retry.delay(state.attempt_number, retry_after)

        def _log(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            log.warning(
                "GLM request %s failed (%s), retry %d of %d",
                request.request_id,
                exc,
                state.attempt_number,
                self._retry.max_retries,
            )

        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._retry.max_retries + 1) | StopBeforeDeadline(deadline),
            retry=retry_if_exception(
                lambda e: isinstance(e, GLMError) and e.retry_before_first_byte
            ),
            wait=_wait,
            before_sleep=_log,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await self._post(url, body, deadline)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _post(self, url: str, body: bytes, deadline: Deadline) -> aiohttp.ClientResponse:
        assert self._session is not None
        try:
            response = await deadline.within(
                self._session.post(url, data=body, headers=self._headers), "the response headers"
            )
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:  # a GLMTimeout passes
            raise transport_error(exc) from exc
        if response.status == 200:
            return response
        retry_after = _retry_after(response.headers)
        try:
            raw = await deadline.within(response.content.read(MAX_ERROR_BODY), "the error body")
            payload: Any = json.loads(raw.decode("utf-8", errors="replace") or "{}")
        except (ValueError, aiohttp.ClientError, TimeoutError, GLMTimeout):
            payload = {}  # the status alone still says what went wrong
        finally:
            response.release()
        raise error_from_payload(payload, http_status=response.status, retry_after=retry_after)

    async def _events(
        self, response: aiohttp.ClientResponse, deadline: Deadline
    ) -> AsyncIterator[StreamEvent]:
        decoder = SSEDecoder()
        conversation_seen = False
        finished = False
        while not finished:
            try:
                data = await deadline.within(response.content.readany(), "the stream")
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                raise GLMStreamInterrupted(type(exc).__name__) from exc
            payloads = decoder.feed(data) if data else decoder.close()
            for payload in payloads:
                if payload.strip() == "[DONE]":
                    finished = True
                    break
                try:
                    chunk = json.loads(payload)
                except ValueError as exc:
                    raise GLMProtocolError("undecodable chunk") from exc
                if not isinstance(chunk, dict):
                    raise GLMProtocolError("chunk is not an object")
                if "error" in chunk or ("code" in chunk and "choices" not in chunk):
                    raise error_from_payload(chunk)
                if not conversation_seen and isinstance(chunk.get("conversation_id"), str):
                    conversation_seen = True
                    yield ConversationStarted(chunk["conversation_id"], chunk.get("id"))
                for event in parse_chunk(chunk):
                    yield event
                status = chunk.get("status")
                choice = (chunk.get("choices") or [{}])[0]
                finish_reason = choice.get("finish_reason") if isinstance(choice, dict) else None
                if status == "failed" or finish_reason in ("sensitive", "network_error"):
                    raise error_for_finish_reason(finish_reason, chunk.get("last_error"))
                if status == "completed":
                    yield Completed(parse_usage(chunk.get("usage")), finish_reason)
                    finished = True
                    break
            if not data and not finished:
                if not conversation_seen:
                    raise GLMStreamInterrupted("empty response")
                # EOF without a final chunk: accept it as the end (wire notes §0).
                yield Completed(None, None)
                finished = True

    async def upload_file(
        self, path: Path, *, filename: str, content_type: str, purpose: str
    ) -> str:
        """``POST /files`` (multipart ``file`` + ``purpose``, wire notes §4); the file id.

        The body streams from ``path`` in chunks, so a 20 MB upload never sits in memory.
        """
        await self.start()
        assert self._session is not None
        headers = {"Authorization": f"Bearer {self._api_key}"}
        try:
            with path.open("rb") as handle:
                form = aiohttp.FormData()
                form.add_field("purpose", purpose)
                form.add_field("file", handle, filename=filename, content_type=content_type)
                async with self._session.post(
                    f"{self._base_url}/files",
                    data=form,
                    headers=headers,
                    timeout=aiohttp.ClientTimeout(total=self._timeouts.connect + 120),
                ) as response:
                    try:
                        payload = await response.json(content_type=None)
                    except ValueError:
                        payload = {}
                    file_id = payload.get("id") if isinstance(payload, dict) else None
                    if response.status != 200 or not isinstance(file_id, str) or not file_id:
                        raise error_from_payload(
                            payload if isinstance(payload, dict) else {},
                            http_status=response.status,
                            retry_after=_retry_after(response.headers),
                        )
                    return file_id
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise GLMConnectionError(type(exc).__name__) from exc

    async def list_assistants(self, assistant_ids: Sequence[str] = ()) -> dict[str, Any]:
        """``POST /assistant/list`` (all, or the given ids): names and starter prompts, and a
        cheap authenticated call for ``python -m bot check``."""
        await self.start()
        assert self._session is not None
        try:
            async with self._session.post(
                f"{self._base_url}/assistant/list",
                json={"assistant_id_list": list(assistant_ids)},
                headers=self._headers,
                timeout=aiohttp.ClientTimeout(total=self._timeouts.connect + 20),
            ) as response:
                try:
                    payload = await response.json(content_type=None)
                except ValueError:
                    payload = {}
                if response.status != 200 or (
                    isinstance(payload, dict) and payload.get("success") is False
                ):
                    raise error_from_payload(payload, http_status=response.status)
                return payload if isinstance(payload, dict) else {}
        except (aiohttp.ClientConnectionError, OSError, TimeoutError) as exc:
            raise GLMConnectionError(type(exc).__name__) from exc
