"""A loopback fake of the Slack Web API for end-to-end tests.

The bot under test is pointed at it only through ``SLACK_API_BASE_URL`` (``fake.api_url``), so it
must accept exactly what ``slack_sdk`` sends (query string, form or JSON bodies; bearer token in
the header) and answer with bodies ``slack_sdk`` accepts (see bolt-async-notes §1.3-1.7).

State is kept so tests assert on *outcomes* (what the thread looks like) rather than on call
sequences, and every recorded call wakes ``wait_for`` waiters: tests never sleep-poll.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import math
import socket
import struct
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from .slack_files import FILE_HANDLERS, SlackFilesMixin
from .slack_oauth import SlackOAuthMixin
from .ts import TsClock, default_clock, ts_to_micros

__all__ = ["Call", "Ephemeral", "FakeSlack", "Message", "ResponseUrlPost", "TokenBucket"]

JSON = dict[str, Any]
DROPPED = 0  # Call.status of a call whose connection was reset without an answer (fail(drop=))

# Budgets enforced by ``enforce_rate_limits`` (workspace-wide for updates, per channel for posts).
_RATE_LIMITED_UPDATE = "chat.update"
_RATE_LIMITED_POST = "chat.postMessage"
STREAM_TEXT_LIMIT = 12_000  # markdown_text per chat.*Stream call


@dataclass
class Call:
    """One Web API call as received. ``status``/``response`` stay ``None`` while in flight;
    a call answered by resetting the connection (``fail(..., drop=True)``) ends with
    ``status == DROPPED`` and no response."""

    method: str
    args: JSON
    headers: dict[str, str]
    at: float
    status: int | None = None
    response: JSON | None = None

    @property
    def done(self) -> bool:
        return self.status is not None

    @property
    def ok(self) -> bool:
        return self.status == 200 and bool(self.response and self.response.get("ok"))


@dataclass
class Message:
    """A message in a channel (posted by the bot through the API, or seeded by a test)."""

    channel: str
    ts: str
    text: str
    user: str | None
    thread_ts: str | None = None
    blocks: list[Any] | None = None
    bot_id: str | None = None
    edits: list[JSON] = field(default_factory=list)
    streaming: bool = False
    extra: JSON = field(default_factory=dict)

    @property
    def is_reply(self) -> bool:
        return self.thread_ts is not None and self.thread_ts != self.ts

    def to_api(self, reply_count: int = 0) -> JSON:
        """Render the way Slack returns a message in API responses."""
        out: JSON = {"type": "message", "ts": self.ts, "text": self.text}
        if self.user is not None:
            out["user"] = self.user
        if self.bot_id is not None:
            out["bot_id"] = self.bot_id
        if self.blocks is not None:
            out["blocks"] = self.blocks
        if self.is_reply:
            out["thread_ts"] = self.thread_ts
        elif reply_count:
            out["thread_ts"] = self.ts
            out["reply_count"] = reply_count
        if self.edits:
            out["edited"] = {"user": self.user, "ts": self.edits[-1]["edit_ts"]}
        out.update(self.extra)
        return out


@dataclass
class Ephemeral:
    channel: str
    user: str
    message_ts: str
    text: str
    blocks: list[Any] | None
    thread_ts: str | None


@dataclass
class ResponseUrlPost:
    """A POST to a minted ``response_url`` (what Bolt's ``respond()`` sends)."""

    id: str
    body: JSON
    headers: dict[str, str]
    at: float


@dataclass
class _Fault:
    method: str
    error: str
    status: int
    retry_after: int | None
    remaining: int
    when: Callable[[JSON], bool] | None
    drop: bool = False


class _Dropped(Exception):
    """Raised by ``_process`` for a ``drop`` fault: answer by resetting the connection."""


class TokenBucket:
    """Classic token bucket: ``capacity`` burst, refilled at ``rate`` tokens per second."""

    def __init__(self, capacity: float, rate: float, clock: Callable[[], float]) -> None:
        self.capacity = capacity
        self.rate = rate
        self._clock = clock
        self._tokens = capacity
        self._at = clock()

    def take(self) -> int | None:
        """Consume a token; return ``None`` if allowed, else the Retry-After in whole seconds."""
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens >= 1:
            self._tokens -= 1
            return None
        return max(1, math.ceil((1 - self._tokens) / self.rate))


class FakeSlack(SlackFilesMixin, SlackOAuthMixin):
    """Fake Slack Web API + response_url receiver on ``127.0.0.1:<random port>``."""

    def __init__(self, *, token: str = "xoxb-test-token", clock: TsClock | None = None) -> None:
        self.token = token
        self.team_id = "T0001"
        self.team = "Fake"
        self.bot_user_id = "UBOT"
        self.bot_id = "BBOT"
        self.bot_user_name = "glm"
        self.app_id = "A0001"
        self.max_text_len = 4000
        # Commercially distributed non-Marketplace apps get at most 15 objects per
        # conversations.replies/history call (docs/slack-platform-and-peers.md §3.1); None = off.
        self.history_page_cap: int | None = None
        self.ts_clock = clock or default_clock
        self.calls: list[Call] = []
        self.responses: list[ResponseUrlPost] = []
        self.ephemerals: list[Ephemeral] = []
        self.deleted: list[Message] = []
        self.statuses: dict[tuple[str, str], str] = {}
        self.status_history: list[tuple[str, str, str]] = []
        self.users: dict[str, JSON] = {}
        self.channels: dict[str, JSON] = {}
        self.rate_limited: Counter[str] = Counter()
        # Agent surface (Messages tab): prompts per DM channel, titles per (channel, thread).
        self.suggested_prompts: dict[str, JSON] = {}
        # App Home: the view each person's Home tab shows (views.publish), by user id.
        self.home_views: dict[str, JSON] = {}
        # Native streams: Slack closes them on its own after idle time or a lifetime (None: never).
        self.stream_idle_timeout: float | None = None
        self.stream_lifetime: float | None = None
        self._stream_clock: Callable[[], float] = time.monotonic
        self._stream_times: dict[tuple[str, str], tuple[float, float]] = {}
        self._stream_buckets: dict[str, TokenBucket] = {}
        self.titles: dict[tuple[str, str], str] = {}
        self._messages: dict[str, dict[str, Message]] = {}
        self._faults: list[_Fault] = []
        self._delays: dict[str, float] = {}
        self._update_bucket: TokenBucket | None = None
        self._post_buckets: dict[str, TokenBucket] = {}
        self._post_limits: tuple[float, float] | None = None
        self._post_clock: Callable[[], float] = time.monotonic
        self._cond = asyncio.Condition()
        self.app_token = "xapp-1-test-app-token"
        self.sockets: list[web.WebSocketResponse] = []
        self.socket_acks: list[JSON] = []
        self._runner: web.AppRunner | None = None
        self._base_url: str | None = None
        self._init_files()
        self._init_oauth()
        self.add_user("U0001", name="alice", real_name="Alice Example")
        self.add_user("U0002", name="bob", real_name="Bob Example", tz="Asia/Shanghai")
        self.add_channel("C0001", name="general")

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> FakeSlack:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_post("/response_url/{id}", self._handle_response_url)
        app.router.add_get("/socket-mode", self._handle_socket)
        self._add_file_routes(app)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self._base_url = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        for ws in list(self.sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeSlack:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash)."""
        if self._base_url is None:
            raise RuntimeError("FakeSlack not started")
        return self._base_url

    @property
    def api_url(self) -> str:
        """Value for ``SLACK_API_BASE_URL`` / ``AsyncWebClient(base_url=…)``, trailing slash."""
        return f"{self.base_url}/api/"

    # ------------------------------------------------------------------ seeding

    def add_user(
        self,
        user_id: str,
        *,
        name: str | None = None,
        real_name: str | None = None,
        display_name: str | None = None,
        tz: str = "America/Los_Angeles",
        locale: str = "en-US",
        is_bot: bool = False,
        is_admin: bool = False,
    ) -> JSON:
        name = name or user_id.lower()
        real_name = real_name or name.title()
        user = {
            "id": user_id,
            "team_id": self.team_id,
            "name": name,
            "deleted": False,
            "real_name": real_name,
            "tz": tz,
            "tz_label": tz,
            "tz_offset": 0,
            "is_bot": is_bot,
            "is_admin": is_admin,
            "is_owner": False,
            "locale": locale,
            "profile": {
                "real_name": real_name,
                "display_name": display_name if display_name is not None else name,
                "team": self.team_id,
            },
        }
        self.users[user_id] = user
        return user

    def add_channel(
        self, channel_id: str, *, name: str | None = None, is_private: bool = False
    ) -> JSON:
        is_im = channel_id.startswith("D")
        chan = {
            "id": channel_id,
            "name": name or channel_id.lower(),
            "is_channel": not is_im and not is_private,
            "is_group": False,
            "is_im": is_im,
            "is_mpim": False,
            "is_private": is_private or is_im,
            "is_member": True,
            "is_archived": False,
        }
        self.channels[channel_id] = chan
        self._messages.setdefault(channel_id, {})
        return chan

    def add_message(
        self,
        channel: str,
        text: str,
        user: str = "U0001",
        ts: str | None = None,
        thread_ts: str | None = None,
        **extra: Any,
    ) -> str:
        """Seed a (human) message, e.g. the thread root the bot will read with replies."""
        if ts is None:
            ts = self.ts_clock.next()
        else:
            self.ts_clock.observe(ts)
        self._channel(channel)[ts] = Message(
            channel=channel, ts=ts, text=text, user=user, thread_ts=thread_ts, extra=dict(extra)
        )
        return ts

    def new_response_url(self) -> str:
        return f"{self.base_url}/response_url/{uuid.uuid4().hex}"

    # ------------------------------------------------------------------ queries

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def messages(self, channel: str, thread_ts: str | None = None) -> list[Message]:
        """Messages in ``channel`` ordered by ts; with ``thread_ts``, that thread incl. its root."""
        msgs = self._messages.get(channel, {}).values()
        if thread_ts is not None:
            msgs = [m for m in msgs if m.ts == thread_ts or m.thread_ts == thread_ts]
        return sorted(msgs, key=lambda m: ts_to_micros(m.ts))

    def message(self, channel: str, ts: str) -> Message | None:
        return self._messages.get(channel, {}).get(ts)

    def thread_replies_by_bot(self, channel: str, thread_ts: str) -> list[Message]:
        """The bot's replies in a thread (root excluded), oldest first."""
        return [
            m
            for m in self.messages(channel, thread_ts)
            if m.ts != thread_ts and m.user == self.bot_user_id
        ]

    # ------------------------------------------------------------------ waiting

    async def wait_for(
        self,
        predicate: Callable[[FakeSlack], Any],
        timeout: float = 5.0,
        what: str = "condition",
    ) -> Any:
        """Wait until ``predicate(self)`` is truthy; re-checked after every recorded call."""
        async with self._cond:
            try:
                async with asyncio.timeout(timeout):
                    return await self._cond.wait_for(lambda: predicate(self))
            except TimeoutError:
                raise AssertionError(
                    f"FakeSlack: timed out after {timeout}s waiting for {what}.\n"
                    f"Recent calls:\n{self.describe_calls()}"
                ) from None

    async def wait_for_call(
        self,
        method: str,
        predicate: Callable[[Call], bool] | None = None,
        timeout: float = 5.0,
        *,
        since: float | None = None,
    ) -> Call:
        """First completed call to ``method`` matching ``predicate`` (after ``since`` if given)."""

        def find(_: FakeSlack) -> Call | None:
            for c in self.calls:
                if (
                    c.method == method
                    and c.done
                    and (since is None or c.at > since)
                    and (predicate is None or predicate(c))
                ):
                    return c
            return None

        return await self.wait_for(find, timeout, what=f"a call to {method}")

    def describe_calls(self, last: int = 25) -> str:
        lines = []
        for c in self.calls[-last:]:
            args = json.dumps(c.args, ensure_ascii=False, default=str)
            if len(args) > 160:
                args = args[:157] + "..."
            status = {None: "in flight", DROPPED: "dropped"}.get(c.status, c.status)
            err = (c.response or {}).get("error")
            lines.append(f"  {c.method} -> {status}{f' {err}' if err else ''} {args}")
        return "\n".join(lines) or "  (none)"

    async def _notify(self) -> None:
        async with self._cond:
            self._cond.notify_all()

    # ------------------------------------------------------------------ faults & limits

    def fail(
        self,
        method: str,
        error: str = "ratelimited",
        status: int | None = None,
        retry_after: int | None = 1,
        times: int = 1,
        when: Callable[[JSON], bool] | None = None,
        drop: bool = False,
    ) -> None:
        """Make the next ``times`` calls to ``method`` (matching ``when(args)``) fail.

        ``status`` defaults to 429 for ``ratelimited`` (with ``Retry-After``) and to 200 with
        ``{"ok": false, "error": error}`` otherwise, which is how Slack reports API errors.
        ``oauth.v2.access`` honours faults too: ``when=refreshing`` or ``when=exchanging_code``
        (``tests.fakes.slack_oauth``) picks the grant.

        ``drop=True``: no answer at all. The request is read, then the connection is reset
        (the client sees ``ECONNRESET``, aiohttp's ``ClientOSError``): what a network failure
        between the bot and Slack looks like. Nothing of the call is applied.
        """
        if status is None:
            status = 429 if error == "ratelimited" else 200
        self._faults.append(_Fault(method, error, status, retry_after, times, when, drop))

    def clear_faults(self) -> None:
        """Forget the faults not used up yet (the outage is over)."""
        self._faults.clear()

    def delay(self, method: str, seconds: float) -> None:
        """Answer ``method`` only after ``seconds`` (0 removes the delay)."""
        if seconds:
            self._delays[method] = seconds
        else:
            self._delays.pop(method, None)

    def enforce_rate_limits(
        self,
        update_per_minute: float = 50,
        update_burst: float = 20,
        post_per_second_per_channel: float = 1.0,
        post_burst: float = 5,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Apply Slack-like budgets: one workspace bucket for chat.update, one per channel for
        chat.postMessage. Over-budget calls get 429 + Retry-After and are not applied."""
        self._update_bucket = TokenBucket(update_burst, update_per_minute / 60.0, clock)
        self._post_limits = (post_burst, post_per_second_per_channel)
        self._post_clock = clock
        self._post_buckets.clear()

    def _take_fault(self, method: str, args: JSON) -> _Fault | None:
        for f in self._faults:
            if f.method == method and f.remaining > 0 and (f.when is None or f.when(args)):
                f.remaining -= 1
                if f.remaining == 0:
                    self._faults.remove(f)
                return f
        return None

    @staticmethod
    def _fault_answer(fault: _Fault) -> tuple[int, JSON, dict[str, str]]:
        if fault.drop:
            raise _Dropped(fault.method)
        headers = {}
        if fault.status == 429:
            headers["Retry-After"] = str(fault.retry_after or 1)
        elif fault.retry_after is not None and fault.status >= 500:
            headers["Retry-After"] = str(fault.retry_after)
        return fault.status, {"ok": False, "error": fault.error}, headers

    def _rate_limit(self, method: str, args: JSON) -> int | None:
        stream_bucket = self._stream_buckets.get(method)
        if stream_bucket is not None:
            return stream_bucket.take()
        if method == _RATE_LIMITED_UPDATE and self._update_bucket is not None:
            return self._update_bucket.take()
        if method == _RATE_LIMITED_POST and self._post_limits is not None:
            channel = str(args.get("channel", ""))
            bucket = self._post_buckets.get(channel)
            if bucket is None:
                burst, rate = self._post_limits
                bucket = self._post_buckets[channel] = TokenBucket(burst, rate, self._post_clock)
            return bucket.take()
        return None

    # ------------------------------------------------------------------ HTTP

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        args = await _read_args(request)
        call = Call(method, args, dict(request.headers), time.monotonic())
        self.calls.append(call)
        await self._notify()
        try:
            delay = self._delays.get(method)
            if delay:
                await asyncio.sleep(delay)
            status, body, headers = self._process(method, args, request.headers)
        except _Dropped:
            call.status = DROPPED
            await self._notify()
            _reset(request)
            return web.Response(status=500)  # never sent: the connection is gone
        except Exception as exc:  # a bug in the fake must show up in the test, not hang it
            status, body, headers = 500, {"ok": False, "error": f"fake_error: {exc!r}"}, {}
        call.status, call.response = status, body
        await self._notify()
        return web.json_response(body, status=status, headers=headers)

    def _process(
        self, method: str, args: JSON, req_headers: Any
    ) -> tuple[int, JSON, dict[str, str]]:
        if method == "oauth.v2.access":  # client credentials, no token (slack_oauth.py)
            fault = self._take_fault(method, args)  # e.g. fail(..., when=refreshing)
            if fault is not None:
                return self._fault_answer(fault)
            return 200, self._oauth_access(args, req_headers), {}
        token = _bearer(req_headers.get("Authorization")) or args.get("token")
        if not token:
            return 200, {"ok": False, "error": "not_authed"}, {}
        issued = self.issued.get(token)
        if issued is not None:  # an installed workspace's token: its own rules
            problem = self._issued_problem(method, issued, args)
            if problem is not None:
                return 200, {"ok": False, "error": problem}, {}
            if method in ("auth.test", "auth.revoke"):  # answered here: their faults too
                fault = self._take_fault(method, args)
                if fault is not None:
                    return self._fault_answer(fault)
            if method == "auth.test":
                return 200, self._issued_auth_test(issued), {}
            if method == "auth.revoke":
                issued.revoked = True
                return 200, {"ok": True, "revoked": True}, {}
        if method == "apps.connections.open":
            if token != self.app_token:
                return 200, {"ok": False, "error": "invalid_auth"}, {}
            ws = self.base_url.replace("http://", "ws://") + "/socket-mode"
            return 200, {"ok": True, "url": ws}, {}
        if issued is None and token != self.token:
            return 200, {"ok": False, "error": "invalid_auth"}, {}
        fault = self._take_fault(method, args)
        if fault is not None:
            return self._fault_answer(fault)
        retry_after = self._rate_limit(method, args)
        if retry_after is not None:
            self.rate_limited[method] += 1
            return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(retry_after)}
        handler = _HANDLERS.get(method)
        if handler is None:
            return 200, {"ok": True}, {}
        if issued is None:
            return 200, handler(self, args), {}
        # The installed workspace's own bot posts (handlers are synchronous: no interleaving).
        saved = self.bot_user_id, self.bot_id
        self.bot_user_id, self.bot_id = issued.target.bot_user_id, issued.target.bot_id
        try:
            return 200, handler(self, args), {}
        finally:
            self.bot_user_id, self.bot_id = saved

    async def _handle_socket(self, request: web.Request) -> web.WebSocketResponse:
        """Socket Mode: say hello, then relay envelopes from :meth:`socket_send`; record acks."""
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.sockets.append(ws)
        await ws.send_json(
            {
                "type": "hello",
                "num_connections": len(self.sockets),
                "debug_info": {"host": "fake", "approximate_connection_time": 18060},
                "connection_info": {"app_id": "A0001"},
            }
        )
        await self._notify()
        try:
            async for msg in ws:
                if msg.type.name == "TEXT":
                    self.socket_acks.append(json.loads(msg.data))
                    await self._notify()
        finally:
            if ws in self.sockets:
                self.sockets.remove(ws)
            with contextlib.suppress(BaseException):
                await asyncio.shield(self._notify())  # tests wait for the bot to hang up
        return ws

    async def socket_send(
        self, payload: JSON, *, kind: str = "events_api", retry_attempt: int = 0
    ) -> str:
        """Deliver one envelope over the newest Socket Mode connection; returns its id."""
        envelope_id = str(uuid.uuid4())
        await self.sockets[-1].send_json(
            {
                "envelope_id": envelope_id,
                "payload": payload,
                "type": kind,
                "accepts_response_payload": kind != "events_api",
                "retry_attempt": retry_attempt,
                "retry_reason": "" if retry_attempt == 0 else "timeout",
            }
        )
        return envelope_id

    async def _handle_response_url(self, request: web.Request) -> web.Response:
        raw = await request.text()
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = {"_raw": raw}
        self.responses.append(
            ResponseUrlPost(request.match_info["id"], body, dict(request.headers), time.monotonic())
        )
        await self._notify()
        return web.Response(text="ok")

    # ------------------------------------------------------------------ methods

    def _channel(self, channel: str) -> dict[str, Message]:
        if channel not in self._messages:
            self.add_channel(channel)
        return self._messages[channel]

    def _too_long(self, args: JSON) -> bool:
        return len(str(args.get("text") or "")) > self.max_text_len

    def _m_auth_test(self, args: JSON) -> JSON:
        return {
            "ok": True,
            "url": "https://fake.slack.com/",
            "team": self.team,
            "user": self.bot_user_name,
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _m_post_message(self, args: JSON) -> JSON:
        channel = args.get("channel")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        text = str(args.get("text") or "")
        blocks = args.get("blocks")
        if not text and not blocks and not args.get("attachments"):
            return {"ok": False, "error": "no_text"}
        if self._too_long(args):
            return {"ok": False, "error": "msg_too_long"}
        if _bad_context_actions(blocks):
            return {"ok": False, "error": "invalid_blocks"}
        msg = Message(
            channel=channel,
            ts=self.ts_clock.next(),
            text=text,
            user=self.bot_user_id,
            thread_ts=args.get("thread_ts") or None,
            blocks=blocks,
            bot_id=self.bot_id,
        )
        self._channel(channel)[msg.ts] = msg
        return {"ok": True, "channel": channel, "ts": msg.ts, "message": msg.to_api()}

    def _m_update(self, args: JSON) -> JSON:
        msg = self.message(str(args.get("channel")), str(args.get("ts")))
        if msg is None:
            return {"ok": False, "error": "message_not_found"}
        if msg.user != self.bot_user_id:
            return {"ok": False, "error": "cant_update_message"}
        if self._too_long(args):
            return {"ok": False, "error": "msg_too_long"}
        if _bad_context_actions(args.get("blocks")):
            return {"ok": False, "error": "invalid_blocks"}
        if "text" in args:
            msg.text = str(args["text"] or "")
        if "blocks" in args:
            msg.blocks = args["blocks"] or None
        msg.streaming = False  # chat.update finalises a native stream (python-slack-sdk #1880)
        msg.edits.append({"text": msg.text, "blocks": msg.blocks, "edit_ts": self.ts_clock.next()})
        return {
            "ok": True,
            "channel": msg.channel,
            "ts": msg.ts,
            "text": msg.text,
            "message": msg.to_api(),
        }

    def _m_delete(self, args: JSON) -> JSON:
        channel, ts = str(args.get("channel")), str(args.get("ts"))
        msg = self._messages.get(channel, {}).pop(ts, None)
        if msg is None:
            return {"ok": False, "error": "message_not_found"}
        self.deleted.append(msg)
        return {"ok": True, "channel": channel, "ts": ts}

    def _m_post_ephemeral(self, args: JSON) -> JSON:
        channel, user = args.get("channel"), args.get("user")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if not user:
            return {"ok": False, "error": "user_not_found"}
        ts = self.ts_clock.next()
        self.ephemerals.append(
            Ephemeral(
                channel,
                str(user),
                ts,
                str(args.get("text") or ""),
                args.get("blocks"),
                args.get("thread_ts"),
            )
        )
        return {"ok": True, "message_ts": ts}

    def _m_set_status(self, args: JSON) -> JSON:
        channel, thread_ts = args.get("channel_id"), args.get("thread_ts")
        if not channel or not thread_ts:
            return {"ok": False, "error": "invalid_arguments"}
        status = str(args.get("status") or "")
        self.statuses[(str(channel), str(thread_ts))] = status
        self.status_history.append((str(channel), str(thread_ts), status))
        return {"ok": True}

    def _m_users_info(self, args: JSON) -> JSON:
        user = self.users.get(str(args.get("user")))
        if user is None:
            return {"ok": False, "error": "user_not_found"}
        user = json.loads(json.dumps(user))
        if str(args.get("include_locale", "")).lower() not in ("true", "1"):
            user.pop("locale", None)  # real Slack returns locale only with include_locale=true
        return {"ok": True, "user": user}

    def _m_replies(self, args: JSON) -> JSON:
        channel, root = str(args.get("channel")), str(args.get("ts"))
        if channel not in self._messages:
            return {"ok": False, "error": "channel_not_found"}
        thread = self.messages(channel, root)
        if not thread:
            return {"ok": False, "error": "thread_not_found"}
        replies = sum(1 for m in thread if m.ts != root)
        inclusive = str(args.get("inclusive", "")).lower() in ("true", "1")
        oldest, latest = args.get("oldest"), args.get("latest")
        if oldest or latest:
            lo = ts_to_micros(str(oldest)) if oldest else -1
            hi = ts_to_micros(str(latest)) if latest else 1 << 62

            def inside(m: Message) -> bool:
                t = ts_to_micros(m.ts)
                return lo <= t <= hi if inclusive else lo < t < hi

            thread = [m for m in thread if inside(m)]
        limit = int(args.get("limit") or 1000)
        if self.history_page_cap is not None:
            limit = min(limit, self.history_page_cap)
        offset = _decode_cursor(args.get("cursor"))
        page = thread[offset : offset + limit]
        has_more = offset + limit < len(thread)
        next_cursor = _encode_cursor(offset + limit) if has_more else ""
        return {
            "ok": True,
            "messages": [m.to_api(replies if m.ts == root else 0) for m in page],
            "has_more": has_more,
            "response_metadata": {"next_cursor": next_cursor},
        }

    def _m_conversations_info(self, args: JSON) -> JSON:
        channel = str(args.get("channel") or "")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        self._channel(channel)
        return {"ok": True, "channel": self.channels[channel]}

    def _m_start_stream(self, args: JSON) -> JSON:
        """chat.startStream (slack-platform-and-peers §2.7): a reply in a thread; in channels
        Slack refuses it without ``recipient_user_id`` and ``recipient_team_id``."""
        channel = args.get("channel")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if not args.get("thread_ts"):
            return {"ok": False, "error": "invalid_arguments"}
        if not str(channel).startswith("D"):
            if not args.get("recipient_user_id"):
                return {"ok": False, "error": "missing_recipient_user_id"}
            if not args.get("recipient_team_id"):
                return {"ok": False, "error": "missing_recipient_team_id"}
        if len(str(args.get("markdown_text") or "")) > STREAM_TEXT_LIMIT:
            return {"ok": False, "error": "msg_too_long"}
        msg = Message(
            channel=channel,
            ts=self.ts_clock.next(),
            text=stream_text(args),
            user=self.bot_user_id,
            thread_ts=args.get("thread_ts") or None,
            bot_id=self.bot_id,
            streaming=True,
            blocks=_stream_blocks(args) or None,
        )
        self._channel(channel)[msg.ts] = msg
        self._stream_times[(msg.channel, msg.ts)] = (self._stream_clock(),) * 2
        return {"ok": True, "channel": channel, "ts": msg.ts}

    def _m_append_stream(self, args: JSON, *, stop: bool = False) -> JSON:
        msg = self.message(str(args.get("channel")), str(args.get("ts")))
        if msg is None:
            return {"ok": False, "error": "message_not_found"}
        if msg.streaming and self._stream_expired(msg):
            msg.streaming = False  # Slack closed it: the message stays as it was
        if not msg.streaming:
            return {"ok": False, "error": "message_not_in_streaming_state"}
        if len(str(args.get("markdown_text") or "")) > STREAM_TEXT_LIMIT:
            return {"ok": False, "error": "msg_too_long"}
        if stop and _bad_context_actions(args.get("blocks")):
            return {"ok": False, "error": "invalid_blocks"}
        msg.text += stream_text(args)
        extra = _stream_blocks(args)
        if stop and isinstance(args.get("blocks"), list):
            extra += args["blocks"]
        if extra:
            msg.blocks = [*(msg.blocks or []), *extra]
        now = self._stream_clock()
        started, _ = self._stream_times.get((msg.channel, msg.ts), (now, now))
        self._stream_times[(msg.channel, msg.ts)] = (started, now)
        if stop:
            msg.streaming = False
            return {"ok": True, "channel": msg.channel, "ts": msg.ts, "message": msg.to_api()}
        return {"ok": True, "channel": msg.channel, "ts": msg.ts}

    def _m_stop_stream(self, args: JSON) -> JSON:
        return self._m_append_stream(args, stop=True)

    def _stream_expired(self, msg: Message) -> bool:
        started, last = self._stream_times.get((msg.channel, msg.ts), (0.0, 0.0))
        now = self._stream_clock()
        idle, lifetime = self.stream_idle_timeout, self.stream_lifetime
        return (idle is not None and now - last > idle) or (
            lifetime is not None and now - started > lifetime
        )

    def expire_stream(self, channel: str, ts: str) -> None:
        """Close a native stream the way Slack does on its own (after minutes or idle time):
        later appends and the stop get ``message_not_in_streaming_state``."""
        msg = self.message(channel, ts)
        if msg is not None:
            msg.streaming = False

    def enforce_stream_limits(
        self,
        start_stop_per_minute: float = 20,
        start_stop_burst: float = 10,
        append_per_minute: float = 100,
        append_burst: float = 20,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Per-workspace buckets per method: startStream and stopStream Tier 2, appendStream
        Tier 4 (§2.7; the burst sizes are the benchmark's assumption)."""
        for method in ("chat.startStream", "chat.stopStream"):
            self._stream_buckets[method] = TokenBucket(
                start_stop_burst, start_stop_per_minute / 60.0, clock
            )
        self._stream_buckets["chat.appendStream"] = TokenBucket(
            append_burst, append_per_minute / 60.0, clock
        )

    # -- agent surface (slack-platform-and-peers §2.5/§2.6) ---------------------------------

    def _m_set_suggested_prompts(self, args: JSON) -> JSON:
        """1–4 prompts of ``{title, message}``; an agent app's call *with* ``thread_ts``
        answers ok but changes nothing (docs.slack.dev: it "will cause the call to silently
        fail"), which is exactly the unpleasant part a test must catch."""
        channel = args.get("channel_id")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        prompts = args.get("prompts")
        if isinstance(prompts, str):
            with contextlib.suppress(ValueError):
                prompts = json.loads(prompts)
        if (
            not isinstance(prompts, list)
            or not 1 <= len(prompts) <= 4
            or not all(
                isinstance(p, dict)
                and isinstance(p.get("title"), str)
                and p["title"].strip()
                and isinstance(p.get("message"), str)
                and p["message"].strip()
                for p in prompts
            )
        ):
            return {"ok": False, "error": "invalid_arguments"}
        if args.get("thread_ts"):
            return {"ok": True}
        self.suggested_prompts[str(channel)] = {"title": args.get("title"), "prompts": prompts}
        return {"ok": True}

    def _m_views_publish(self, args: JSON) -> JSON:
        """``views.publish`` (docs.slack.dev/reference/methods/views.publish): a ``home`` view
        for ``user_id``. The view is checked with slack_sdk's own Block Kit models (block count
        1–100, text lengths, …) as Slack checks it; a bad one gets Slack's
        ``invalid_arguments`` with the reason in ``response_metadata.messages``."""
        user, view = args.get("user_id"), args.get("view")
        if isinstance(view, str):
            with contextlib.suppress(ValueError):
                view = json.loads(view)
        if not user or not isinstance(view, dict):
            return {"ok": False, "error": "invalid_arguments"}
        if str(user) not in self.users:
            return {"ok": False, "error": "not_found"}
        problem = _view_problem(view)
        if problem is not None:
            return {
                "ok": False,
                "error": "invalid_arguments",
                "response_metadata": {"messages": [f"[ERROR] {problem}"]},
            }
        self.home_views[str(user)] = view
        return {
            "ok": True,
            "view": {"id": f"V{uuid.uuid4().hex[:10].upper()}", "team_id": self.team_id, **view},
        }

    def _m_set_title(self, args: JSON) -> JSON:
        channel, thread_ts, title = args.get("channel_id"), args.get("thread_ts"), args.get("title")
        if not channel or not thread_ts or not title:
            return {"ok": False, "error": "invalid_arguments"}
        self.titles[(str(channel), str(thread_ts))] = str(title)
        return {"ok": True}

    def _m_history(self, args: JSON) -> JSON:
        """Newest first, one page; a bot reads only channels it is a member of."""
        channel = str(args.get("channel") or "")
        info = self.channels.get(channel)
        if info is None:
            return {"ok": False, "error": "channel_not_found"}
        if not info.get("is_member", True):
            return {"ok": False, "error": "not_in_channel"}
        top = [m for m in self.messages(channel) if not m.is_reply]
        top.reverse()
        limit = int(args.get("limit") or 100)
        return {
            "ok": True,
            "messages": [m.to_api() for m in top[:limit]],
            "has_more": len(top) > limit,
            "response_metadata": {"next_cursor": ""},
        }


_HANDLERS: dict[str, Callable[[FakeSlack, JSON], JSON]] = {
    "auth.test": FakeSlack._m_auth_test,
    "chat.postMessage": FakeSlack._m_post_message,
    "chat.update": FakeSlack._m_update,
    "chat.delete": FakeSlack._m_delete,
    "chat.postEphemeral": FakeSlack._m_post_ephemeral,
    "assistant.threads.setStatus": FakeSlack._m_set_status,
    "users.info": FakeSlack._m_users_info,
    "conversations.replies": FakeSlack._m_replies,
    "conversations.info": FakeSlack._m_conversations_info,
    "chat.startStream": FakeSlack._m_start_stream,
    "chat.appendStream": FakeSlack._m_append_stream,
    "chat.stopStream": FakeSlack._m_stop_stream,
    **FILE_HANDLERS,
    "assistant.threads.setSuggestedPrompts": FakeSlack._m_set_suggested_prompts,
    "assistant.threads.setTitle": FakeSlack._m_set_title,
    "conversations.history": FakeSlack._m_history,
    "views.publish": FakeSlack._m_views_publish,
}


def _reset(request: web.Request) -> None:
    """Close the request's connection with a TCP reset (SO_LINGER 0), no response written:
    the peer reads ECONNRESET, as when a network path to Slack breaks mid-request."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


def _view_problem(view: JSON) -> str | None:
    """Why Slack would refuse this Home view, or None (slack_sdk's models do the checking)."""
    from slack_sdk.errors import SlackObjectFormationError
    from slack_sdk.models.views import View

    if view.get("type") != "home":
        return "views.publish takes only views of type home [json-pointer:/view/type]"
    blocks = view.get("blocks")
    if not isinstance(blocks, list) or not all(
        isinstance(b, dict) and isinstance(b.get("type"), str) for b in blocks
    ):
        return "blocks must be a list of blocks [json-pointer:/view/blocks]"
    try:
        View(**view).to_dict()
    except (SlackObjectFormationError, TypeError, ValueError) as exc:
        return f"{exc} [json-pointer:/view]"
    return None


def _bad_context_actions(blocks: Any) -> bool:
    """Slack's rules for ``context_actions`` (docs.slack.dev/reference/block-kit/blocks/
    context-actions-block, .../block-elements/feedback-buttons-element): 1–5 elements, each a
    ``feedback_buttons`` or ``icon_button``; feedback buttons need both buttons, each with a
    ``plain_text`` text of at most 75 characters and a value of at most 2,000."""
    if not isinstance(blocks, list):
        return False
    for block in blocks:
        if not isinstance(block, dict) or block.get("type") != "context_actions":
            continue
        elements = block.get("elements")
        if not isinstance(elements, list) or not 1 <= len(elements) <= 5:
            return True
        for element in elements:
            kind = element.get("type") if isinstance(element, dict) else None
            if kind == "icon_button":
                continue
            if kind != "feedback_buttons":
                return True
            for side in ("positive_button", "negative_button"):
                button = element.get(side)
                if not isinstance(button, dict):
                    return True
                text, value = button.get("text") or {}, button.get("value")
                if text.get("type") != "plain_text" or not 0 < len(str(text.get("text"))) <= 75:
                    return True
                if not isinstance(value, str) or not 0 < len(value) <= 2000:
                    return True
    return False


async def _read_args(request: web.Request) -> JSON:
    """Merge query string, form fields and JSON body, as Slack itself does."""
    args: JSON = dict(request.query)
    if request.can_read_body:
        if request.content_type == "application/json":
            with contextlib.suppress(ValueError):
                body = await request.json()
                if isinstance(body, dict):
                    args.update(body)
        else:
            form = await request.post()
            args.update({k: v for k, v in form.items() if isinstance(v, str)})
    for key in ("blocks", "attachments", "chunks"):  # form-encoded lists arrive as JSON strings
        if isinstance(args.get(key), str):
            with contextlib.suppress(ValueError):
                args[key] = json.loads(args[key])
    return args


def _bearer(header: str | None) -> str | None:
    if header and header.startswith("Bearer "):
        return header[len("Bearer ") :].strip()
    return None


def _stream_blocks(args: JSON) -> list[Any]:
    """Blocks sent inside a stream as ``{"type": "blocks", "blocks": [...]}`` chunks."""
    out: list[Any] = []
    for chunk in args.get("chunks") or []:
        if isinstance(chunk, dict) and chunk.get("type") == "blocks":
            out.extend(chunk.get("blocks") or [])
    return out


def stream_text(args: JSON) -> str:
    """Text carried by chat.*Stream: ``chunks=[{type: markdown_text, text}]`` or
    ``markdown_text``."""
    text = str(args.get("markdown_text") or "")
    for chunk in args.get("chunks") or []:
        if isinstance(chunk, dict) and chunk.get("type") == "markdown_text":
            text += str(chunk.get("text") or "")
    return text


def _encode_cursor(offset: int) -> str:
    return base64.b64encode(f"offset:{offset}".encode()).decode()


def _decode_cursor(cursor: Any) -> int:
    if not cursor:
        return 0
    try:
        return int(base64.b64decode(str(cursor)).decode().split(":", 1)[1])
    except (ValueError, IndexError):
        return 0
