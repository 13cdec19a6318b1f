"""Files on the fake GLM: ``POST /files`` uploads and a file host serving tool outputs.

* ``/files`` (wire notes §4): ``multipart/form-data`` with ``file`` and ``purpose``; answers a
  ``FileObject`` ``{"bytes","created_at","filename","object":"file","purpose","id"}``. Which
  purposes the real service accepts for assistants is unverified (``assistant`` per the legacy
  doc, ``agent`` per the current one), so ``accepted_purposes`` is a knob; a refused purpose
  gets 400 with code 1214 (parameter invalid, inferred).
* ``attachments`` on ``/assistant`` must name uploaded files (else 400/1214, inferred).
* Tool outputs (``drawing_tool`` images, charts in ``code_interpreter`` logs, mind-map URLs)
  live on GLM's file host (``sfile.chatglm.cn``, §2.5); here they are served under ``/sfile/``
  on the fake's own origin (the host of ``ZHIPUAI_BASE_URL``), optionally as a redirect.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

JSON = dict[str, Any]


@dataclass
class GLMFile:
    id: str
    filename: str
    purpose: str
    content: bytes
    content_type: str


@dataclass
class HostedFile:
    content: bytes = b""
    content_type: str = "image/png"
    redirect_to: str | None = None
    fetches: list[dict[str, str]] = field(default_factory=list)


class GLMFilesMixin:
    """Mixed into ``FakeGLM`` (which provides auth checks, ``base_url`` and ``_notify``)."""

    def _init_files(self) -> None:
        self.files: dict[str, GLMFile] = {}
        self.file_uploads: list[tuple[int, JSON]] = []  # (status, response body) per POST
        self.accepted_purposes: set[str] = {"assistant", "agent", "file-extract"}
        self.hosted: dict[str, HostedFile] = {}

    def _add_file_routes(self, app: web.Application) -> None:
        app.router.add_post("/api/paas/v4/files", self._handle_files)
        app.router.add_get("/sfile/{path:.*}", self._handle_sfile)

    @property
    def file_host(self) -> str:
        """``http://127.0.0.1:PORT/sfile``: where this fake serves tool outputs."""
        base: str = self.base_url  # type: ignore[attr-defined]
        return base.removesuffix("/api/paas/v4") + "/sfile"

    def host_file(self, path: str, content: bytes, content_type: str = "image/png") -> str:
        """Serve ``content`` as a tool output; returns its URL."""
        self.hosted[path] = HostedFile(content, content_type)
        return f"{self.file_host}/{path}"

    def forget_file(self, file_id: str) -> None:
        """The upstream no longer has this file (expired, deleted by the account owner)."""
        self.files.pop(file_id, None)

    def host_redirect(self, path: str, location: str) -> str:
        """A tool output URL that answers 302 to ``location``."""
        self.hosted[path] = HostedFile(redirect_to=location)
        return f"{self.file_host}/{path}"

    async def _handle_sfile(self, request: web.Request) -> web.StreamResponse:
        hosted = self.hosted.get(request.match_info["path"])
        if hosted is None:
            return web.Response(status=404, text="not found")
        hosted.fetches.append(dict(request.headers))
        await self._notify()  # type: ignore[attr-defined]
        if hosted.redirect_to is not None:
            raise web.HTTPFound(hosted.redirect_to)
        resp = web.StreamResponse(
            status=200,
            headers={
                "Content-Type": hosted.content_type,
                "Content-Length": str(len(hosted.content)),
            },
        )
        await resp.prepare(request)
        view = memoryview(hosted.content)
        for i in range(0, len(view), 256 * 1024):
            await resp.write(view[i : i + 256 * 1024])
        await resp.write_eof()
        return resp

    async def _handle_files(self, request: web.Request) -> web.Response:
        auth = self._check_auth(request)  # type: ignore[attr-defined]
        if auth is not None:
            return self._file_reply(auth[0], _error(auth[1], "authorization failed"))
        if not request.content_type.startswith("multipart/form-data"):
            return self._file_reply(400, _error("1214", "Content-Type 必须是 multipart/form-data"))
        purpose = ""
        filename = ""
        content_type = ""
        content: bytearray | None = None
        reader = await request.multipart()
        async for part in reader:
            name = getattr(part, "name", None)
            if name == "purpose":
                purpose = (await part.text()).strip()  # type: ignore[union-attr]
            elif name == "file":
                filename = getattr(part, "filename", None) or ""
                content_type = part.headers.get("Content-Type", "")
                content = bytearray()
                while chunk := await part.read_chunk(256 * 1024):  # type: ignore[union-attr]
                    content += chunk
        if content is None or not filename:
            return self._file_reply(400, _error("1214", "file参数非法。请检查文档。"))
        if purpose not in self.accepted_purposes:
            return self._file_reply(400, _error("1214", "purpose参数非法。请检查文档。"))
        f = GLMFile(
            id=f"{secrets.token_hex(4)}-{secrets.token_hex(2)}-{secrets.token_hex(2)}-"
            f"{secrets.token_hex(2)}-{secrets.token_hex(6)}",
            filename=filename,
            purpose=purpose,
            content=bytes(content),
            content_type=content_type,
        )
        self.files[f.id] = f
        body = {
            "bytes": len(f.content),
            "created_at": int(time.time()),
            "filename": f.filename,
            "object": "file",
            "purpose": f.purpose,
            "id": f.id,
        }
        return self._file_reply(200, body)

    def _file_reply(self, status: int, body: JSON) -> web.Response:
        self.file_uploads.append((status, body))
        return web.json_response(body, status=status)

    def _invalid_attachments(self, body: JSON) -> bool:
        attachments = body.get("attachments")
        if attachments is None:
            return False
        if not isinstance(attachments, list):
            return True
        return any(
            not isinstance(a, dict) or a.get("file_id") not in self.files for a in attachments
        )


def _error(code: str, message: str) -> JSON:
    return {"error": {"code": code, "message": message}}
