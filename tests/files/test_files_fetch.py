"""bot.files.fetch: downloads are written to disk off the event loop, whole, or not at all."""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import AsyncIterator
from typing import Any, ClassVar

import aiohttp
import pytest
from aiohttp import web

from bot.files.fetch import WRITE_BATCH, fetch
from bot.files.intake import data_url
from bot.files.policy import TooBig

_REAL_TEMP_FILE = tempfile.NamedTemporaryFile
BODY = os.urandom(3 * WRITE_BATCH + 12_345)  # several batches and a ragged tail


class _Recorded:
    """A real temporary file that notes which thread wrote to and closed it."""

    threads: ClassVar[list[int]] = []
    names: ClassVar[list[str]] = []

    def __init__(self, **kwargs: Any) -> None:
        self._file = _REAL_TEMP_FILE(**kwargs)
        self.name = self._file.name
        _Recorded.names.append(self.name)

    def write(self, data: bytes) -> int:
        _Recorded.threads.append(threading.get_ident())
        return self._file.write(data)

    def close(self) -> None:
        _Recorded.threads.append(threading.get_ident())
        self._file.close()


@pytest.fixture
async def server() -> AsyncIterator[str]:
    async def body(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        resp.enable_chunked_encoding()  # no Content-Length: the cap is found while reading
        await resp.prepare(request)
        for start in range(0, len(BODY), 100_000):
            await resp.write(BODY[start : start + 100_000])
        await resp.write_eof()
        return resp

    app = web.Application()
    app.router.add_get("/f", body)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}/f"
    await runner.cleanup()


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> type[_Recorded]:
    _Recorded.threads, _Recorded.names = [], []
    monkeypatch.setattr(tempfile, "NamedTemporaryFile", _Recorded)
    return _Recorded


async def test_a_download_is_written_off_the_event_loop(
    server: str, recorded: type[_Recorded]
) -> None:
    async with aiohttp.ClientSession(trust_env=False) as session:
        got = await fetch(
            session, server, cap=len(BODY), allowed=lambda _: True, check_head=lambda *_: None
        )
    try:
        assert got.path is not None and got.read_all() == BODY
        assert got.size == len(BODY) and got.head == BODY[:64]
        assert recorded.threads, "the file was written"
        loop_thread = threading.get_ident()
        assert loop_thread not in recorded.threads, "no disk write on the event loop's thread"
        assert len(recorded.threads) <= 5, "batched, not one write per 64 KB chunk"
    finally:
        got.discard()
    assert got.path is None


async def test_a_download_over_the_cap_leaves_no_file(
    server: str, recorded: type[_Recorded]
) -> None:
    async with aiohttp.ClientSession(trust_env=False) as session:
        with pytest.raises(TooBig):
            await fetch(
                session,
                server,
                cap=2 * WRITE_BATCH,
                allowed=lambda _: True,
                check_head=lambda *_: None,
            )
    (name,) = recorded.names
    assert not os.path.exists(name)  # noqa: ASYNC240 - a test's one stat


def test_data_url() -> None:
    assert data_url("image/png", b"\x89PNG") == "data:image/png;base64,iVBORw=="
