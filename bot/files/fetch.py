"""Streaming HTTP downloads with a byte cap, a first-bytes check and guarded redirects.

Used both ways: Slack files in (with the bot token, only to Slack's hosts) and assistant outputs
out (no credentials, only from GLM's file hosts). Bytes go to a temporary file in batches of
:data:`WRITE_BATCH`, so relaying a 20 MB file holds one batch in memory, not the file; small
inline images may be kept in memory instead (``to_memory``), bounded by their cap.

Disk work (creating, writing, closing, removing the file) runs in a worker thread
(``asyncio.to_thread``): a slow disk must not stall every other turn on the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from urllib.parse import urljoin

import aiohttp

from bot.files.policy import SizeGuard, TooBig

CHUNK = 64 * 1024
WRITE_BATCH = 1024 * 1024  # bytes handed to the writer thread at once (16 network chunks)
HEAD_BYTES = 64
MAX_REDIRECTS = 3


class FetchError(Exception):
    """The download failed (status, network, redirect elsewhere); the message is loggable."""


@dataclass(slots=True)
class Fetched:
    """Downloaded bytes: on disk (``path``) or, for small inline files, in ``data``."""

    size: int
    content_type: str
    head: bytes
    path: Path | None = None
    data: bytes | None = None

    def discard(self) -> None:
        if self.path is not None:
            with contextlib.suppress(OSError):
                os.unlink(self.path)
            self.path = None
        self.data = None

    def read_all(self) -> bytes:
        """The bytes, for callers that need them whole (small files only)."""
        if self.data is not None:
            return self.data
        assert self.path is not None
        return self.path.read_bytes()


async def fetch(
    session: aiohttp.ClientSession,
    url: str,
    *,
    cap: int,
    allowed: Callable[[str], bool],
    check_head: Callable[[str, bytes], None],
    headers: dict[str, str] | None = None,
    to_memory: bool = False,
    timeout: float = 120.0,
) -> Fetched:
    """GET ``url`` (which the caller has checked with ``allowed``) into a :class:`Fetched`.

    Redirects are followed only to URLs ``allowed`` accepts, at most :data:`MAX_REDIRECTS`;
    anything else is never requested. Raises :class:`TooBig`, :class:`FetchError`, or whatever
    ``check_head(content_type, first_bytes)`` raises.
    """
    client_timeout = aiohttp.ClientTimeout(total=timeout, sock_connect=10, sock_read=30)
    for _ in range(MAX_REDIRECTS + 1):
        try:
            async with session.get(
                url, headers=headers, allow_redirects=False, timeout=client_timeout
            ) as resp:
                if resp.status in (301, 302, 303, 307, 308):
                    location = resp.headers.get("Location", "")
                    target = urljoin(url, location)
                    if not location or not allowed(target):
                        raise FetchError(f"redirect to a host that is not allowed ({resp.status})")
                    url = target
                    continue
                if resp.status != 200:
                    raise FetchError(f"HTTP {resp.status}")
                return await _read(resp, cap=cap, check_head=check_head, to_memory=to_memory)
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise FetchError(type(exc).__name__) from exc
    raise FetchError("too many redirects")


async def _read(
    resp: aiohttp.ClientResponse,
    *,
    cap: int,
    check_head: Callable[[str, bytes], None],
    to_memory: bool,
) -> Fetched:
    content_type = resp.headers.get("Content-Type", "")
    declared = resp.content_length
    if declared is not None and declared > cap:
        raise TooBig(f"Content-Length {declared}")
    guard = SizeGuard(cap)
    head = b""
    buffer = bytearray()
    sink = None if to_memory else await asyncio.to_thread(_new_temp_file)
    checked = False
    try:
        async for chunk in resp.content.iter_chunked(CHUNK):
            guard.add(len(chunk))
            if not checked:
                head += chunk[: HEAD_BYTES - len(head)]
                if len(head) >= HEAD_BYTES:
                    check_head(content_type, head)
                    checked = True
            buffer += chunk
            if sink is not None and len(buffer) >= WRITE_BATCH:
                await asyncio.to_thread(sink.write, bytes(buffer))
                buffer.clear()
        if not checked:
            check_head(content_type, head)
        if sink is not None:
            await asyncio.to_thread(_finish, sink, bytes(buffer))
    except BaseException:
        if sink is not None:
            # shielded: a cancelled download must still remove its partial file
            await asyncio.shield(asyncio.to_thread(_discard, sink))
        raise
    if sink is not None:
        return Fetched(guard.seen, content_type, head, path=Path(sink.name))
    return Fetched(guard.seen, content_type, head, data=bytes(buffer))


def _new_temp_file() -> IO[bytes]:
    return tempfile.NamedTemporaryFile(prefix="glm-file-", delete=False)


def _finish(sink: IO[bytes], rest: bytes) -> None:
    sink.write(rest)
    sink.close()


def _discard(sink: IO[bytes]) -> None:
    sink.close()
    with contextlib.suppress(OSError):
        os.unlink(sink.name)
