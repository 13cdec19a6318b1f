"""A loopback fake of Zhipu BigModel's ``/assistant`` API, faithful to the observed wire format.

What "faithful" means here comes from docs/glm-assistant-api.md §2 and §8: one ``data: <json>``
line plus a blank line per event, incremental ``delta.content``, ``status: "in_process"`` until a
final ``completed`` chunk that carries ``usage``, millisecond ``created``, no ``[DONE]`` unless
asked for, and BigModel's ``{"error": {"code": "<str>", "message": …}}`` error bodies. Tests
script each answer with ``Reply`` (text, tool calls, failures, stalls) and synchronise on
recorded requests/streams through an ``asyncio.Condition`` rather than by sleeping.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Literal

from aiohttp import web

from .glm_files import GLMFilesMixin

__all__ = [
    "ERROR_MESSAGES",
    "OFFICIAL_ASSISTANTS",
    "FakeGLM",
    "GLMRequest",
    "GLMStream",
    "Reply",
    "error_body",
]

JSON = dict[str, Any]
CHINA_TZ = timezone(timedelta(hours=8))

# Error messages as documented (§3.2, §5, §8). 1214's template and 500's text are inferred.
ERROR_MESSAGES: dict[str, str] = {
    "500": "服务内部错误，请稍后重试。",
    "1001": "Header中未收到Authorization参数，无法进行身份验证。",
    "1002": "Authorization Token非法，请确认Authorization Token正确传递。",
    "1003": "Authorization Token已过期，请重新生成/获取。",
    "1113": "您的账户已欠费，请充值后重试。",
    "1210": "API 调用参数有误，请检查文档。",
    "1212": "当前模型不支持SYNC调用方式。",
    "1214": "参数非法。请检查文档。",
    "1261": "Prompt 超长",
    "1301": (
        "系统检测到输入或生成内容可能包含不安全或敏感内容，"
        "请您避免输入易产生敏感内容的提示语，感谢您的配合。"
    ),
    "1302": "您当前使用该API的并发数过高，请降低并发，或联系客服增加限额。",
    "1234": "网络错误，错误id：fake，请联系客服。",
}


def error_body(code: str, message: str | None = None, *, flat: bool = False) -> JSON:
    """BigModel error body: ``{"error":{"code":"1302","message":…}}``, or with ``flat`` the
    ``LlmApplicationError`` shape ``{"code":1302,"message":…}`` (int code) the OpenAPI declares."""
    msg = message if message is not None else ERROR_MESSAGES.get(code, "error")
    if flat:
        return {"code": int(code), "message": msg}
    return {"error": {"code": code, "message": msg}}


@dataclass
class Reply:
    """Script for one ``/assistant`` answer (what the next request in the queue receives).

    Counters ``fail_after`` / ``drop_after`` / ``stall_after`` / ``garbage_after`` /
    ``error_after`` count emitted ``data:`` events, text and tool-call chunks alike, before the
    final chunk.

    Endings (wire notes §0, §2.1, §2.7, §8): by default the completed chunk then EOF;
    ``done_marker`` adds ``data: [DONE]``; ``final_chunk=False`` leaves out the completed chunk
    (the stream ends at EOF, or at ``[DONE]``). ``garbage_after`` sends an event whose JSON is
    cut in half (as a broken proxy would) and goes on; ``error_after`` sends the generic
    ``data: {"error":{"code","message"}}`` event (code ``error_code``) and ends the stream.

    ``silent`` is an upstream that takes the request and then says nothing, until the client
    hangs up (or ``gate`` is set): ``"before_headers"`` reads the whole request and never sends
    a status line (a stuck gateway or a backend that accepted the request and lost it), the
    request's ``hung_up`` records the client giving up; ``"after_headers"`` sends
    ``200 text/event-stream`` and then no byte (the stream's state is ``"stalled"``). Real
    clients bound both waits: the zhipuai SDK's ``httpx.Timeout(300, connect=8)`` read timeout
    covers the wait for the headers as well as each read of the body (wire notes §3).
    """

    chunks: list[str] = field(default_factory=lambda: ["Hello", " from", " GLM."])
    tool_calls: list[tuple[int, JSON]] = field(default_factory=list)
    chunk_delay: float = 0.0
    usage: JSON | None = None
    done_marker: bool = False
    status_in_flight: str = "in_process"
    http_error: tuple[int, JSON] | None = None
    retry_after: int | None = None
    fail_after: int | None = None
    fail_finish_reason: Literal["sensitive", "network_error"] = "sensitive"
    fail_code: str | None = None
    drop_after: int | None = None
    stall_after: int | None = None
    gate: asyncio.Event | None = None
    conversation_id: str | None = None
    final_chunk: bool = True
    garbage_after: int | None = None
    error_after: int | None = None
    error_code: str = "1302"
    silent: Literal["before_headers", "after_headers"] | None = None

    def __post_init__(self) -> None:
        if self.silent == "after_headers":
            self.stall_after = 0
        if (self.stall_after is not None or self.silent) and self.gate is None:
            self.gate = asyncio.Event()  # tests call reply.gate.set() to resume

    @classmethod
    def error(
        cls,
        status: int,
        code: str,
        *,
        message: str | None = None,
        flat: bool = False,
        retry_after: int | None = None,
    ) -> Reply:
        """Fail before the stream: e.g. ``Reply.error(429, "1302")``, ``Reply.error(401, "1002")``,
        ``Reply.error(429, "1113")``, ``Reply.error(400, "1301")``, ``Reply.error(500, "500")``."""
        return cls(
            chunks=[],
            http_error=(status, error_body(code, message, flat=flat)),
            retry_after=retry_after,
        )

    @staticmethod
    def tool(type_: str, **payload: Any) -> JSON:
        """One ``tool_calls`` entry, e.g. ``Reply.tool("web_browser", input='search("x")')``."""
        return {"type": type_, type_: payload}


@dataclass
class GLMRequest:
    """One request received by the fake (any outcome)."""

    body: JSON
    headers: dict[str, str]
    path: str = "/assistant"
    at: float = 0.0
    status: int | None = None
    held: bool = False  # a ``silent="before_headers"`` reply: no status line was sent
    hung_up: bool = False  # the client closed the connection while the request was held

    @property
    def user_text(self) -> str:
        return _user_text(self.body)

    @property
    def image_urls(self) -> list[str]:
        """``image_url`` parts of the last user message (multimodal content)."""
        messages = self.body.get("messages") or [{}]
        content = messages[-1].get("content") if isinstance(messages[-1], dict) else None
        if not isinstance(content, list):
            return []
        return [
            str(p["image_url"].get("url"))
            for p in content
            if isinstance(p, dict)
            and p.get("type") == "image_url"
            and isinstance(p.get("image_url"), dict)
        ]

    @property
    def attachment_ids(self) -> list[str]:
        return [str(a.get("file_id")) for a in self.body.get("attachments") or []]


@dataclass
class GLMStream:
    """One SSE answer. ``state``: streaming, stalled, completed, failed, dropped, client_closed."""

    request: GLMRequest
    reply: Reply
    response_id: str
    conversation_id: str
    assistant_id: str
    events: list[JSON] = field(default_factory=list)
    state: str = "streaming"
    event_at: list[float] = field(default_factory=list)  # time.monotonic() of each event sent

    @property
    def text(self) -> str:
        return "".join(
            e["choices"][0]["delta"].get("content") or "" for e in self.events if e.get("choices")
        )


@dataclass
class _Conversation:
    assistant_id: str
    created: float
    updated: float
    usage: JSON = field(
        default_factory=lambda: {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    )


# (id, name, description, tools): the 12 official assistants from seed/assistant-api.md, §6.
OFFICIAL_ASSISTANTS: list[tuple[str, str, str, list[str]]] = [
    ("65940acff94777010aa6b796", "ChatGLM（官方）", "嗨~ 我是清言，通用对话", ["web_search"]),
    (
        "65a265419d72d299a9230616",
        "数据分析（官方）",
        "分析上传的文件或描述的数据，生成图表，也可以用简单代码处理文件",
        ["web_browser", "code_interpreter"],
    ),
    (
        "664dd7bd5bb3a13ba0f81668",
        "复杂流程图（官方）",
        "五秒钟生成流程图",
        ["web_browser", "code_interpreter"],
    ),
    (
        "664e0cade018d633146de0d2",
        "思维导图 MindMap（官方）",
        "把复杂概念变成思维导图",
        ["function"],
    ),
    ("6654898292788e88ce9e7f4c", "提示词工程师（官方）", "结构化提示词专家，一键改写提示词", []),
    ("66437ef3d920bdc5c60f338e", "AI画图（官方）", "你的绘画伙伴", ["drawing_tool"]),
    ("659e54b1b8006379b4b2abd6", "AI搜索（官方）", "全网搜索、分析并总结", ["web_browser"]),
    ("65d2f07bb2c10188f885bd89", "PPT助手（官方）", "手动编辑大纲，自动填充章节，生成PPT", []),
    ("663058948bb259b7e8a22730", "arXiv论文速读（官方）", "深度解读arXiv论文", []),
    ("65a393b3619c6f13586246cd", "程序员助手Sam（官方）", "编程知识搜索引擎", []),
    ("65b356af6924a59d52832e54", "网文写手（官方）", "网文写作模板", []),
    (
        "668fdd45405f2e3c9f71f832",
        "英语语法助手（官方）",
        "输入单词查词义，输入句子检查语法并解释",
        [],
    ),
]


class FakeGLM(GLMFilesMixin):
    """Fake ``{base}/assistant`` (+ ``/assistant/list``, ``/assistant/conversation/list``).

    ``unknown_conversation`` decides what an unknown ``conversation_id`` gets; the real behaviour
    is undocumented (§6, §9). ``"error"`` (default): 400 code 1214 "conversation_id 无效";
    ``"new"``: silently start a new conversation; ``"adopt"``: accept the id as-is.
    """

    def __init__(self, *, api_key: str = "test-glm-key.secret") -> None:
        self.api_key = api_key
        self.unknown_conversation: Literal["error", "new", "adopt"] = "error"
        self.default_reply: Callable[[GLMRequest], Reply] = _echo_reply
        self.requests: list[GLMRequest] = []
        self.other_requests: list[GLMRequest] = []
        # ``starter_prompts`` that /assistant/list reports per assistant id (default: none).
        self.starter_prompts: dict[str, list[str]] = {}
        # The account's own agents (id → name), made on BigModel's agent platform.
        self.custom_assistants: dict[str, str] = {}
        self.streams: list[GLMStream] = []
        self.conversations: dict[str, list[JSON]] = {}
        self._conv_meta: dict[str, _Conversation] = {}
        self._queue: deque[Reply] = deque()
        self._cond = asyncio.Condition()
        self._closing = asyncio.Event()
        self._last_created = 0
        self._runner: web.AppRunner | None = None
        self._base_url: str | None = None
        self._init_files()

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> FakeGLM:
        # Inline images make /assistant bodies large (a 5 MB image is ~7 MB of base64).
        app = web.Application(client_max_size=64 * 1024 * 1024)
        self._add_file_routes(app)
        app.router.add_post("/api/paas/v4/assistant", self._handle_assistant)
        app.router.add_post("/api/paas/v4/assistant/list", self._handle_list)
        app.router.add_post("/api/paas/v4/assistant/conversation/list", self._handle_conv_list)
        # handler_cancellation: a client hanging up cancels the stream, which we record.
        self._runner = web.AppRunner(
            app, shutdown_timeout=0.5, handler_cancellation=True, access_log=None
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._base_url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/api/paas/v4"
        return self

    async def stop(self) -> None:
        self._closing.set()  # un-stall any stream so shutdown does not wait on it
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeGLM:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """Value for ``ZHIPUAI_BASE_URL``: ``http://127.0.0.1:PORT/api/paas/v4``."""
        if self._base_url is None:
            raise RuntimeError("FakeGLM not started")
        return self._base_url

    # ------------------------------------------------------------------ scripting

    def enqueue(self, *replies: Reply) -> None:
        """Queue answers for the next valid requests, first in first out."""
        self._queue.extend(replies)

    def seed_conversation(
        self, conversation_id: str | None = None, assistant_id: str = OFFICIAL_ASSISTANTS[0][0]
    ) -> str:
        """Register a conversation as if created earlier (e.g. before a bot restart)."""
        cid = conversation_id or new_object_id()
        self._register(cid, assistant_id)
        return cid

    def forget_conversation(self, conversation_id: str) -> None:
        """Make the upstream forget a conversation (expired, deleted, another account's)."""
        self._conv_meta.pop(conversation_id, None)
        self.conversations.pop(conversation_id, None)

    def release_all(self) -> None:
        """Resume every stalled stream."""
        for s in self.streams:
            if s.reply.gate is not None:
                s.reply.gate.set()

    # ------------------------------------------------------------------ waiting

    async def wait_for(
        self,
        predicate: Callable[[FakeGLM], Any],
        timeout: float = 5.0,
        what: str = "condition",
    ) -> Any:
        """Wait until ``predicate(self)`` is truthy; re-checked on every request/stream event."""
        async with self._cond:
            try:
                async with asyncio.timeout(timeout):
                    return await self._cond.wait_for(lambda: predicate(self))
            except TimeoutError:
                raise AssertionError(
                    f"FakeGLM: timed out after {timeout}s waiting for {what}.\n{self.describe()}"
                ) from None

    async def wait_for_requests(self, n: int = 1, timeout: float = 5.0) -> list[GLMRequest]:
        """Wait until ``n`` ``/assistant`` requests have arrived; return them all."""
        await self.wait_for(lambda f: len(f.requests) >= n, timeout, f"{n} /assistant requests")
        return self.requests

    async def wait_for_stream_start(self, n: int = 1, timeout: float = 5.0) -> GLMStream:
        """Wait until the ``n``-th SSE answer has sent its headers; return that stream."""
        await self.wait_for(lambda f: len(f.streams) >= n, timeout, f"stream #{n} to start")
        return self.streams[n - 1]

    async def wait_for_stream_state(
        self,
        *states: str,
        n: int = 1,
        timeout: float = 5.0,
    ) -> GLMStream:
        """Wait until stream ``n`` reaches one of ``states`` (e.g. ``"client_closed"``)."""
        await self.wait_for(
            lambda f: len(f.streams) >= n and f.streams[n - 1].state in states,
            timeout,
            f"stream #{n} to reach {states}",
        )
        return self.streams[n - 1]

    def describe(self) -> str:
        lines = [f"  requests: {len(self.requests)}, queued replies: {len(self._queue)}"]
        for r in self.requests[-10:]:
            lines.append(f"  request -> {r.status}: {json.dumps(r.body, ensure_ascii=False)[:160]}")
        for i, s in enumerate(self.streams[-10:]):
            lines.append(f"  stream {i}: {s.state}, {len(s.events)} events, text={s.text[:60]!r}")
        return "\n".join(lines)

    async def _notify(self) -> None:
        async with self._cond:
            self._cond.notify_all()

    # ------------------------------------------------------------------ /assistant

    async def _handle_assistant(self, request: web.Request) -> web.StreamResponse:
        req = await self._record(request, self.requests)
        try:
            error = self._check_auth(request) or self._validate(req.body)
            if error is not None:
                return await self._finish(req, _json_error(*error))
            cid_or_error = self._resolve_conversation(req.body)
            if isinstance(cid_or_error, web.Response):
                return await self._finish(req, cid_or_error)
            reply = self._queue.popleft() if self._queue else self.default_reply(req)
            if reply.http_error is not None:
                status, body = reply.http_error
                headers = {"Retry-After": str(reply.retry_after)} if reply.retry_after else None
                return await self._finish(
                    req, web.json_response(body, status=status, headers=headers)
                )
            if reply.silent == "before_headers":
                return await self._hold(req, reply)
        except Exception as exc:  # surface fake bugs as a 500 the test will notice
            return await self._finish(req, _json_error(500, "500", f"fake error: {exc!r}"))

        assistant_id = str(req.body["assistant_id"])
        cid = reply.conversation_id or cid_or_error or new_object_id()
        self._register(cid, assistant_id)
        self.conversations[cid].extend(req.body["messages"])
        stream = GLMStream(req, reply, new_response_id(), cid, assistant_id)
        return await self._stream(request, req, stream)

    async def _hold(self, req: GLMRequest, reply: Reply) -> web.Response:
        """Keep the request without a status line until the client hangs up (the handler is
        cancelled: ``handler_cancellation``), the gate opens or the fake stops."""
        req.held = True
        await self._notify()
        try:
            await _wait_any(*(e for e in (reply.gate, self._closing) if e is not None))
        except asyncio.CancelledError:
            req.hung_up = True
            with contextlib.suppress(BaseException):
                await asyncio.shield(self._notify())
            raise
        return await self._finish(req, _json_error(500, "500"))

    async def _record(self, request: web.Request, into: list[GLMRequest]) -> GLMRequest:
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = {"_raw": raw.decode("utf-8", "replace")}
        if not isinstance(body, dict):
            body = {"_raw": body}
        path = request.path.removeprefix("/api/paas/v4")
        req = GLMRequest(body, dict(request.headers), path, time.monotonic())
        into.append(req)
        await self._notify()
        return req

    async def _finish(self, req: GLMRequest, resp: web.Response) -> web.Response:
        req.status = resp.status
        await self._notify()
        return resp

    def _check_auth(self, request: web.Request) -> tuple[int, str] | None:
        header = request.headers.get("Authorization")
        if not header:
            return 401, "1001"
        token = header.removeprefix("Bearer ").strip()
        if token == self.api_key:
            return None
        return _check_jwt(token, self.api_key)

    def _validate(self, body: JSON) -> tuple[int, str, str] | None:
        if "_raw" in body:
            return 400, "1210", ERROR_MESSAGES["1210"]
        if not isinstance(body.get("assistant_id"), str) or not body["assistant_id"]:
            return 400, "1214", "assistant_id参数非法。请检查文档。"
        messages = body.get("messages")
        if (
            not isinstance(messages, list)
            or not messages
            or any(not isinstance(m, dict) or m.get("role") != "user" for m in messages)
            or not all(_valid_content(m.get("content")) for m in messages)
        ):
            return 400, "1214", "messages参数非法。请检查文档。"
        if body.get("stream") is not True:
            return 400, "1212", ERROR_MESSAGES["1212"]
        if self._invalid_attachments(body):
            return 400, "1214", "attachments参数非法。请检查文档。"
        for key, lo, hi in (("request_id", 6, 64), ("user_id", 6, 128)):
            value = body.get(key)
            if value is not None and (not isinstance(value, str) or not lo <= len(value) <= hi):
                return 400, "1214", f"{key}参数非法。请检查文档。"
        return None

    def _resolve_conversation(self, body: JSON) -> str | web.Response | None:
        cid = body.get("conversation_id")
        if cid is None:
            return None
        if cid in self._conv_meta:
            return str(cid)
        if self.unknown_conversation == "new":
            return None
        if self.unknown_conversation == "adopt":
            return str(cid)
        return _json_error(400, "1214", "conversation_id 无效")

    def _register(self, cid: str, assistant_id: str) -> None:
        now = time.time()
        if cid not in self._conv_meta:
            self._conv_meta[cid] = _Conversation(assistant_id, now, now)
            self.conversations.setdefault(cid, [])
        self._conv_meta[cid].updated = now

    def _created_ms(self) -> int:
        self._last_created = max(self._last_created + 1, int(time.time() * 1000))
        return self._last_created

    async def _stream(
        self, request: web.Request, req: GLMRequest, stream: GLMStream
    ) -> web.StreamResponse:
        reply = stream.reply
        resp = web.StreamResponse(
            status=200, headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await resp.prepare(request)
        req.status = 200
        self.streams.append(stream)
        await self._notify()
        plan = _plan_deltas(reply)
        try:
            for pos in range(len(plan) + 1):
                if pos == reply.stall_after and reply.gate is not None:
                    stream.state = "stalled"
                    await self._notify()
                    await _wait_any(reply.gate, self._closing)
                    stream.state = "streaming"
                if pos == reply.drop_after:
                    stream.state = "dropped"
                    await self._notify()
                    if request.transport is not None:
                        request.transport.abort()  # no terminating chunk: the client sees a cut
                    return resp
                if pos == reply.garbage_after:
                    data = json.dumps(self._delta_chunk(stream, plan[0] if plan else {}))
                    await resp.write(f"data: {data[: len(data) // 2]}\n\n".encode())
                if pos == reply.error_after:
                    await self._send(resp, stream, error_body(reply.error_code))
                    stream.state = "failed"
                    break
                if pos == reply.fail_after:
                    await self._send(resp, stream, self._failed_chunk(stream))
                    stream.state = "failed"
                    break
                if pos == len(plan):
                    if reply.final_chunk:
                        await self._send(resp, stream, self._final_chunk(stream))
                    stream.state = "completed"
                    break
                if pos and reply.chunk_delay:
                    await asyncio.sleep(reply.chunk_delay)
                await self._send(resp, stream, self._delta_chunk(stream, plan[pos]))
            if reply.done_marker:
                await resp.write(b"data: [DONE]\n\n")
            await resp.write_eof()
        except asyncio.CancelledError:
            stream.state = "client_closed"
            with contextlib.suppress(BaseException):
                await asyncio.shield(self._notify())
            raise
        except ConnectionError:
            stream.state = "client_closed"
        await self._notify()
        return resp

    async def _send(self, resp: web.StreamResponse, stream: GLMStream, event: JSON) -> None:
        stream.events.append(event)
        stream.event_at.append(time.monotonic())
        data = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
        await resp.write(f"data: {data}\n\n".encode())
        await self._notify()

    def _head(self, stream: GLMStream) -> JSON:
        return {"id": stream.response_id, "created": self._created_ms()}

    def _tail(self, stream: GLMStream) -> JSON:
        return {"assistant_id": stream.assistant_id, "conversation_id": stream.conversation_id}

    def _delta_chunk(self, stream: GLMStream, delta: JSON) -> JSON:
        return {
            **self._head(stream),
            "choices": [{"index": 0, "delta": delta}],
            "status": stream.reply.status_in_flight,
            **self._tail(stream),
        }

    def _usage(self, stream: GLMStream) -> JSON:
        if stream.reply.usage is not None:
            usage = stream.reply.usage
        else:
            prompt = 10 + len(stream.request.user_text)
            completion = max(1, len(stream.text))
            usage = {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
            }
        total = self._conv_meta[stream.conversation_id].usage
        for k in total:
            total[k] += int(usage.get(k, 0))
        return usage

    def _final_chunk(self, stream: GLMStream) -> JSON:
        return {
            **self._head(stream),
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "delta": {"role": "assistant", "metadata": {}},
                }
            ],
            "usage": self._usage(stream),
            "status": "completed",
            **self._tail(stream),
        }

    def _failed_chunk(self, stream: GLMStream) -> JSON:
        reply = stream.reply
        code = reply.fail_code or ("1301" if reply.fail_finish_reason == "sensitive" else "1234")
        return {
            **self._head(stream),
            "choices": [
                {
                    "index": 0,
                    "finish_reason": reply.fail_finish_reason,
                    "delta": {"role": "assistant", "content": "", "metadata": {}},
                }
            ],
            "status": "failed",
            "last_error": {"code": code, "message": ERROR_MESSAGES.get(code, "error")},
            **self._tail(stream),
        }

    # ------------------------------------------------------------------ list endpoints

    async def _handle_list(self, request: web.Request) -> web.Response:
        req = await self._record(request, self.other_requests)
        auth = self._check_auth(request)
        if auth is not None:
            return await self._finish(req, _json_error(*auth))
        # The listing names each wanted id GLM knows (the 12 official ones and the account's
        # own) and leaves out the others; an empty list means all of them. How BigModel treats
        # an account's own agents here is undocumented (glm-assistant-api §9): this is the
        # reading under which a client that names the ids it wants is always right.
        wanted = req.body.get("assistant_id_list") or []
        known = [
            *OFFICIAL_ASSISTANTS,
            *((aid, name, "", []) for aid, name in self.custom_assistants.items()),
        ]
        data = [_assistant_info(*a) for a in known if not wanted or a[0] in wanted]
        for item in data:
            item["starter_prompts"] = list(self.starter_prompts.get(item["assistant_id"], []))
        body = {"success": True, "code": 200, "msg": "操作成功", "data": data}
        return await self._finish(req, web.json_response(body))

    async def _handle_conv_list(self, request: web.Request) -> web.Response:
        req = await self._record(request, self.other_requests)
        auth = self._check_auth(request)
        if auth is not None:
            return await self._finish(req, _json_error(*auth))
        assistant_id = req.body.get("assistant_id")
        if not isinstance(assistant_id, str) or not assistant_id:
            return await self._finish(req, _json_error(400, "1214", "assistant_id参数非法。"))
        page = max(1, int(req.body.get("page") or 1))
        size = min(100, max(1, int(req.body.get("page_size") or 10)))
        convs = sorted(
            ((cid, m) for cid, m in self._conv_meta.items() if m.assistant_id == assistant_id),
            key=lambda item: item[1].updated,
            reverse=True,
        )
        chunk = convs[(page - 1) * size : page * size]
        data = {
            "assistant_id": assistant_id,
            "has_more": page * size < len(convs),
            "conversation_list": [
                {
                    "id": cid,
                    "assistant_id": assistant_id,
                    "create_time": _china_time(m.created),
                    "update_time": _china_time(m.updated),
                    "usage": dict(m.usage),
                }
                for cid, m in chunk
            ],
        }
        body = {"success": True, "code": 200, "msg": "操作成功", "data": data}
        return await self._finish(req, web.json_response(body))


# ---------------------------------------------------------------------- helpers


def new_object_id(at: float | None = None) -> str:
    """MongoDB-ObjectId-style id: 8 hex of unix seconds + 16 random hex (24 in total)."""
    return f"{int(at if at is not None else time.time()):08x}{secrets.token_hex(8)}"


def new_response_id() -> str:
    """Request id as observed: ``yyyyMMddHHmmss`` in China time + 16 hex."""
    return datetime.now(CHINA_TZ).strftime("%Y%m%d%H%M%S") + secrets.token_hex(8)


def _china_time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, CHINA_TZ).strftime("%Y-%m-%d %H:%M:%S")


def _json_error(status: int, code: str, message: str | None = None) -> web.Response:
    return web.json_response(error_body(code, message), status=status)


def _valid_content(content: Any) -> bool:
    if isinstance(content, str):
        return bool(content)
    return (
        isinstance(content, list)
        and bool(content)
        and all(isinstance(p, dict) and p.get("type") in ("text", "image_url") for p in content)
    )


def _user_text(body: JSON) -> str:
    """Text of the last user message (string content or the text parts of an array)."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages or not isinstance(messages[-1], dict):
        return ""
    content = messages[-1].get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            str(p.get("text", ""))
            for p in content
            if isinstance(p, dict) and p.get("type") == "text"
        )
    return ""


def _echo_reply(req: GLMRequest) -> Reply:
    text = f"Echo: {req.user_text}"
    step = max(1, -(-len(text) // 3))
    return Reply(chunks=[text[i : i + step] for i in range(0, len(text), step)])


def _plan_deltas(reply: Reply) -> list[JSON]:
    """The in-flight deltas in order: tool calls placed before text chunk ``i``."""
    tools: dict[int, list[JSON]] = {}
    for i, call in reply.tool_calls:
        tools.setdefault(min(i, len(reply.chunks)), []).append(call)
    plan: list[JSON] = []
    for i in range(len(reply.chunks) + 1):
        for call in tools.get(i, []):
            entry = call if "index" in call else {"index": 0, **call}
            plan.append({"role": "tool", "tool_calls": [entry], "metadata": {}})
        if i < len(reply.chunks):
            plan.append({"role": "assistant", "content": reply.chunks[i], "metadata": {}})
    return plan


async def _wait_any(*events: asyncio.Event) -> None:
    tasks = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in tasks:
            t.cancel()


def _b64url_decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _check_jwt(token: str, api_key: str) -> tuple[int, str] | None:
    """Accept the SDK's optional HS256 JWT (``exp`` in ms, signed with the key's secret)."""
    key_id, _, secret = api_key.partition(".")
    parts = token.split(".")
    if len(parts) != 3:
        return 401, "1002"
    try:
        signing_input = f"{parts[0]}.{parts[1]}".encode()
        expected = hmac.new(secret.encode(), signing_input, hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _b64url_decode(parts[2])):
            return 401, "1002"
        payload = json.loads(_b64url_decode(parts[1]))
    except ValueError:
        return 401, "1002"
    if payload.get("api_key") != key_id:
        return 401, "1002"
    if int(payload.get("exp", 0)) < int(time.time() * 1000):
        return 401, "1003"
    return None


def _assistant_info(assistant_id: str, name: str, description: str, tools: list[str]) -> JSON:
    created = int(assistant_id[:8], 16)
    stamp = datetime.fromtimestamp(created, UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")
    return {
        "assistant_id": assistant_id,
        "tools": tools,
        "name": name,
        "avatar": f"https://sfile.chatglm.cn/fake/{assistant_id}.png",
        "description": description,
        "status": "publish",
        "starter_prompts": [],
        "created_at": stamp,
        "updated_at": stamp,
    }
