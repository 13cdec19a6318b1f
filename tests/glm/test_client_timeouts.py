"""GLMClient's limits against loopback servers: every wait for GLM ends, and says which limit.

The fake GLM (tests/fakes/glm.py) plays an upstream that takes the request and never sends the
headers, one that sends the headers and then nothing, a busy stream and a rate limit that asks
for a long wait; a listening socket whose backlog is full plays a host that never completes the
TCP handshake. Limits are fractions of a second; each test bounds its own wall time too.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import AsyncIterator, Iterator

import pytest

from bot.glm.client import AssistantRequest, GLMClient, RetryPolicy, Timeouts
from bot.glm.errors import (
    GLMConnectionError,
    GLMConnectTimeout,
    GLMError,
    GLMIdleTimeout,
    GLMRateLimited,
    GLMTotalTimeout,
)
from bot.glm.events import Completed, StreamEvent, TextDelta
from tests.conftest import GLM_KEY
from tests.fakes import FakeGLM, Reply

ASSISTANT = "65940acff94777010aa6b796"
FAST_RETRY = RetryPolicy(max_retries=3, base_delay=0.01, max_delay=0.02)


def request() -> AssistantRequest:
    return AssistantRequest(
        assistant_id=ASSISTANT, text="hello", user_id="user-0001", request_id="request-0001"
    )


@contextlib.asynccontextmanager
async def client(base_url: str, **timeouts: float) -> AsyncIterator[GLMClient]:
    glm = GLMClient(
        api_key=GLM_KEY, base_url=base_url, timeouts=Timeouts(**timeouts), retry=FAST_RETRY
    )
    try:
        yield glm
    finally:
        await glm.close()


async def collect(glm: GLMClient) -> list[StreamEvent]:
    return [event async for event in glm.stream(request())]


async def fails_within(glm: GLMClient, seconds: float) -> GLMError:
    """Run one stream; it must raise a GLMError, and within ``seconds``."""
    started = time.monotonic()
    with pytest.raises(GLMError) as caught:
        await collect(glm)
    elapsed = time.monotonic() - started
    assert elapsed < seconds, f"took {elapsed:.2f}s"
    return caught.value


async def test_idle_timeout_covers_the_wait_for_headers(fake_glm: FakeGLM) -> None:
    fake_glm.enqueue(Reply(silent="before_headers"))
    async with client(fake_glm.base_url, idle=0.3, total=30) as glm:
        err = await fails_within(glm, 3)
    assert type(err) is GLMIdleTimeout
    assert (err.kind, err.retry_before_first_byte, err.offer_retry) == ("idle", False, True)
    assert "headers" in str(err)
    await fake_glm.wait_for(lambda f: f.requests[0].hung_up, what="the client to hang up")
    assert len(fake_glm.requests) == 1, "not sent again: GLM may be working on it"


async def test_idle_timeout_covers_the_wait_for_the_first_byte(fake_glm: FakeGLM) -> None:
    fake_glm.enqueue(Reply(silent="after_headers"))
    async with client(fake_glm.base_url, idle=0.3, total=30) as glm:
        err = await fails_within(glm, 3)
    assert type(err) is GLMIdleTimeout
    assert "stream" in str(err)
    stream = await fake_glm.wait_for_stream_state("client_closed")
    assert stream.events == []


async def test_total_timeout_bounds_the_wait_for_headers(fake_glm: FakeGLM) -> None:
    fake_glm.enqueue(Reply(silent="before_headers"))
    async with client(fake_glm.base_url, idle=30, total=0.3) as glm:
        err = await fails_within(glm, 3)
    assert type(err) is GLMTotalTimeout
    assert (err.kind, err.retry_before_first_byte, err.offer_retry) == ("total", False, True)


async def test_total_timeout_bounds_a_busy_stream(fake_glm: FakeGLM) -> None:
    fake_glm.enqueue(Reply(chunks=[f"w{i} " for i in range(200)], chunk_delay=0.02))
    async with client(fake_glm.base_url, idle=30, total=0.5) as glm:
        err = await fails_within(glm, 3)
    assert type(err) is GLMTotalTimeout
    stream = await fake_glm.wait_for_stream_state("client_closed")
    assert 0 < len(stream.events) < 200


async def test_total_timeout_stops_retries_whose_back_off_would_end_past_it(
    fake_glm: FakeGLM,
) -> None:
    fake_glm.enqueue(*[Reply.error(429, "1302", retry_after=30)] * 4)
    async with client(fake_glm.base_url, idle=30, total=1) as glm:
        err = await fails_within(glm, 3)
    assert type(err) is GLMRateLimited, "what GLM said, rather than a timeout"
    assert err.retry_after == 30
    assert len(fake_glm.requests) == 1


async def test_retries_that_fit_inside_the_total_still_happen(fake_glm: FakeGLM) -> None:
    fake_glm.enqueue(Reply.error(429, "1302", retry_after=0), Reply(chunks=["fine"]))
    async with client(fake_glm.base_url, idle=5, total=5) as glm:
        events = await collect(glm)
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["fine"]
    assert isinstance(events[-1], Completed)
    assert len(fake_glm.requests) == 2


async def test_a_refused_connection_is_retried_then_reported() -> None:
    from tests.bot_process import free_port

    async with client(f"http://127.0.0.1:{free_port()}/api/paas/v4", idle=5, total=5) as glm:
        err = await fails_within(glm, 3)
    assert type(err) is GLMConnectionError
    assert (err.retry_before_first_byte, err.offer_retry) == (True, True)


@pytest.fixture
def unanswered_port() -> Iterator[int]:
    """A port whose accept queue is full: the next TCP handshake is never completed (Linux
    drops the SYN while the queue of a ``listen(0)`` socket holds one connection)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    filler = socket.create_connection(("127.0.0.1", port), timeout=1)
    probe = socket.socket()
    probe.settimeout(0.2)
    try:
        try:
            probe.connect(("127.0.0.1", port))
        except TimeoutError:
            pass
        else:
            pytest.skip("this kernel completes handshakes beyond the listen backlog")
        yield port
    finally:
        for s in (probe, filler, server):
            s.close()


async def test_a_connect_timeout_is_retried_then_reported(unanswered_port: int) -> None:
    base = f"http://127.0.0.1:{unanswered_port}/api/paas/v4"
    async with client(base, connect=0.2, idle=5, total=5) as glm:
        err = await fails_within(glm, 4)
    assert type(err) is GLMConnectTimeout
    assert (err.kind, err.retry_before_first_byte, err.offer_retry) == ("connect", True, True)
    assert err.user_message == "GLM error: could not reach the GLM service, please try again"


async def test_the_total_timeout_also_bounds_connecting(unanswered_port: int) -> None:
    base = f"http://127.0.0.1:{unanswered_port}/api/paas/v4"
    async with client(base, connect=30, idle=30, total=0.3) as glm:
        err = await fails_within(glm, 3)
    assert type(err) is GLMTotalTimeout
