"""Files on the fake Slack: private downloads, ``files.info`` and the external upload flow.

How real Slack behaves, and so this fake:

* ``url_private`` / ``url_private_download`` need ``Authorization: Bearer <token>`` of an app
  with ``files:read``. Without the token, or without the scope, Slack does **not** answer 401:
  it answers **200 with its HTML sign-in page** (issue 9; the bug every bot hits once; also
  slack-platform-and-peers.md, ChatGPT-in-Slack's image input needing ``files:read``).
* Uploads (https://docs.slack.dev/messaging/working-with-files#upload):
  ``files.getUploadURLExternal`` (``filename``, ``length``) returns ``upload_url`` and
  ``file_id``; the bytes are POSTed to ``upload_url`` (a raw body, as slack_sdk's
  ``files_upload_v2`` sends it; no token is needed there); ``files.completeUploadExternal``
  (``files`` JSON ``[{id, title}]``, ``channel_id``, ``thread_ts``) shares the file, which
  then appears as a message in the thread.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

JSON = dict[str, Any]

SIGN_IN_PAGE = (
    b'<!DOCTYPE html>\n<html lang="en-US"><head><title>Slack</title></head>'
    b'<body><h1>Sign in to Fake</h1><form action="/signin">...</form></body></html>'
)


@dataclass
class FakeFile:
    id: str
    name: str
    content: bytes
    mimetype: str
    filetype: str
    user: str
    title: str
    declared_size: int | None = None
    url_override: str | None = None


@dataclass
class Download:
    """One GET of a private file URL (what the token-leak tests look at)."""

    path: str
    headers: dict[str, str]
    served: str  # "file" or "sign_in_page" or "missing"


@dataclass
class UploadTicket:
    file_id: str
    filename: str
    length: int
    content: bytes | None = None
    posts: list[dict[str, str]] = field(default_factory=list)


_FILETYPES = {
    "text/csv": "csv",
    "text/plain": "text",
    "image/png": "png",
    "image/jpeg": "jpg",
    "application/pdf": "pdf",
}


class SlackFilesMixin:
    """Mixed into ``FakeSlack`` (which provides token, base_url, team_id, _channel, …)."""

    token: str
    team_id: str
    bot_user_id: str
    bot_id: str

    def _init_files(self) -> None:
        self.files: dict[str, FakeFile] = {}
        self.downloads: list[Download] = []
        self.upload_tickets: dict[str, UploadTicket] = {}
        self.files_read_scope = True  # False: the app was installed without files:read
        self.upload_url_status = 200  # e.g. 500: the upload URL refuses the bytes

    def _add_file_routes(self, app: web.Application) -> None:
        app.router.add_get("/files-pri/{key}/{rest:.*}", self._handle_download)
        app.router.add_post("/upload/v1/{ticket}", self._handle_upload)

    # ------------------------------------------------------------------ seeding

    def add_file(
        self,
        name: str,
        content: bytes,
        *,
        mimetype: str | None = None,
        filetype: str | None = None,
        user: str = "U0001",
        declared_size: int | None = None,
        url: str | None = None,
    ) -> JSON:
        """Store a file as if a person uploaded it; returns the file object events carry."""
        mimetype = mimetype or "application/octet-stream"
        ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        f = FakeFile(
            id="F" + secrets.token_hex(5).upper(),
            name=name,
            content=content,
            mimetype=mimetype,
            filetype=filetype or _FILETYPES.get(mimetype, ext or "binary"),
            user=user,
            title=name,
            declared_size=declared_size,
            url_override=url,
        )
        self.files[f.id] = f
        return self.file_object(f)

    def file_object(self, f: FakeFile) -> JSON:
        base = self.base_url  # type: ignore[attr-defined]
        private = f"{base}/files-pri/{self.team_id}-{f.id}/{f.name}"
        download = f"{base}/files-pri/{self.team_id}-{f.id}/download/{f.name}"
        if f.url_override:
            private = download = f.url_override
        now = int(time.time())
        return {
            "id": f.id,
            "created": now,
            "timestamp": now,
            "name": f.name,
            "title": f.title,
            "mimetype": f.mimetype,
            "filetype": f.filetype,
            "pretty_type": f.filetype.upper(),
            "user": f.user,
            "user_team": self.team_id,
            "editable": False,
            "size": f.declared_size if f.declared_size is not None else len(f.content),
            "mode": "hosted",
            "is_external": False,
            "external_type": "",
            "is_public": True,
            "public_url_shared": False,
            "display_as_bot": False,
            "username": "",
            "url_private": private,
            "url_private_download": download,
            "permalink": f"https://fake.slack.com/files/{f.user}/{f.id}/{f.name}",
            "permalink_public": f"https://slack-files.com/{self.team_id}-{f.id}-x",
            "has_rich_preview": False,
            "file_access": "visible",
        }

    # ------------------------------------------------------------------ HTTP

    async def _handle_download(self, request: web.Request) -> web.StreamResponse:
        key = request.match_info["key"]
        file_id = key.split("-", 1)[-1]
        f = self.files.get(file_id)
        auth = request.headers.get("Authorization", "")
        record = Download(request.path, dict(request.headers), "file")
        self.downloads.append(record)
        try:
            if f is None:
                record.served = "missing"
                return web.Response(status=404, text="file not found")
            if auth != f"Bearer {self.token}" or not self.files_read_scope:
                record.served = "sign_in_page"
                return web.Response(
                    body=SIGN_IN_PAGE, content_type="text/html", charset="utf-8", status=200
                )
            resp = web.StreamResponse(
                status=200,
                headers={
                    "Content-Type": f.mimetype,
                    "Content-Disposition": f'attachment; filename="{f.name}"',
                    "Content-Length": str(len(f.content)),
                },
            )
            await resp.prepare(request)
            view = memoryview(f.content)
            for i in range(0, len(view), 256 * 1024):
                await resp.write(view[i : i + 256 * 1024])
            await resp.write_eof()
            return resp
        finally:
            await self._notify()  # type: ignore[attr-defined]

    async def _handle_upload(self, request: web.Request) -> web.Response:
        ticket = self.upload_tickets.get(request.match_info["ticket"])
        if ticket is None:
            return web.Response(status=404, text="unknown upload")
        ticket.posts.append(dict(request.headers))
        body = bytearray()
        async for chunk in request.content.iter_chunked(256 * 1024):
            body += chunk
        if self.upload_url_status != 200:
            await self._notify()  # type: ignore[attr-defined]
            return web.Response(status=self.upload_url_status, text="upload failed")
        ticket.content = bytes(body)
        await self._notify()  # type: ignore[attr-defined]
        return web.Response(text=f"OK - {len(body)}")

    # ------------------------------------------------------------------ Web API methods

    def _m_files_info(self, args: JSON) -> JSON:
        f = self.files.get(str(args.get("file") or ""))
        if f is None:
            return {"ok": False, "error": "file_not_found"}
        return {"ok": True, "file": self.file_object(f)}

    def _m_get_upload_url(self, args: JSON) -> JSON:
        filename, length = args.get("filename"), args.get("length")
        if not filename or length in (None, ""):
            return {"ok": False, "error": "invalid_arguments"}
        try:
            size = int(length)
        except (TypeError, ValueError):
            return {"ok": False, "error": "invalid_arguments"}
        file_id = "F" + secrets.token_hex(5).upper()
        name = secrets.token_hex(8)
        self.upload_tickets[name] = UploadTicket(file_id, str(filename), size)
        base = self.base_url  # type: ignore[attr-defined]
        return {"ok": True, "upload_url": f"{base}/upload/v1/{name}", "file_id": file_id}

    def _m_complete_upload(self, args: JSON) -> JSON:
        raw = args.get("files")
        try:
            items = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError:
            return {"ok": False, "error": "invalid_arguments"}
        if not isinstance(items, list) or not items:
            return {"ok": False, "error": "invalid_arguments"}
        by_id = {t.file_id: t for t in self.upload_tickets.values()}
        shared: list[JSON] = []
        for item in items:
            ticket = by_id.get(str(item.get("id"))) if isinstance(item, dict) else None
            if ticket is None or ticket.content is None:
                return {"ok": False, "error": "file_not_found"}
            if len(ticket.content) != ticket.length:
                return {"ok": False, "error": "file_upload_size_mismatch"}
            f = FakeFile(
                id=ticket.file_id,
                name=ticket.filename,
                content=ticket.content,
                mimetype="application/octet-stream",
                filetype=ticket.filename.rsplit(".", 1)[-1],
                user=self.bot_user_id,
                title=str(item.get("title") or ticket.filename),
            )
            self.files[f.id] = f
            shared.append(self.file_object(f))
        channel = args.get("channel_id")
        if channel:
            from .slack import Message  # local: slack.py imports this module

            msg = Message(
                channel=str(channel),
                ts=self.ts_clock.next(),  # type: ignore[attr-defined]
                text="",
                user=self.bot_user_id,
                thread_ts=args.get("thread_ts") or None,
                bot_id=self.bot_id,
                extra={"files": shared, "upload": True},
            )
            self._channel(str(channel))[msg.ts] = msg  # type: ignore[attr-defined]
        return {
            "ok": True,
            "files": [
                {"id": s["id"], "title": s["title"], "permalink": s["permalink"]} for s in shared
            ],
        }

    def shared_files(self, channel: str, thread_ts: str) -> list[FakeFile]:
        """Files shared into a thread by completed uploads, oldest first."""
        out: list[FakeFile] = []
        for msg in self.messages(channel, thread_ts):  # type: ignore[attr-defined]
            for obj in msg.extra.get("files") or []:
                out.append(self.files[obj["id"]])
        return out


FILE_HANDLERS = {
    "files.info": SlackFilesMixin._m_files_info,
    "files.getUploadURLExternal": SlackFilesMixin._m_get_upload_url,
    "files.completeUploadExternal": SlackFilesMixin._m_complete_upload,
}
