"""Files the assistants make → Slack files in the reply's thread.

GLM's output links (``sfile.chatglm.cn``) expire, so drawn images, charts, mind maps and slides
are downloaded — only from allowed hosts, without following redirects elsewhere, size- and
type-checked — and uploaded with Slack's external upload flow: ``files.getUploadURLExternal`` →
POST the bytes to the upload URL → ``files.completeUploadExternal`` with ``channel_id`` and
``thread_ts``. slack_sdk's ``files_upload_v2`` does the same three steps but reads the whole
file into memory first; here step 2 streams from the temporary file instead, so relaying a
20 MB file holds no copy of it in memory. Any failure leaves the output as it is today (the
image block or link to GLM's URL): never a half-published file.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote, urlsplit

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.files.fetch import Fetched, FetchError, fetch
from bot.files.hosts import HostPolicy
from bot.files.policy import Mismatch, Refusal, TooBig, image_type, looks_like_html
from bot.reply.tools import PublishedFile, Source, ToolLedger

log = logging.getLogger(__name__)

_SAFE_NAME = re.compile(r"[^\w.\-]+")


def file_name(url: str, *, image: bool) -> str:
    """A tidy file name from an output URL (``…/f820b149.png`` → ``f820b149.png``)."""
    base = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    base = _SAFE_NAME.sub("_", base).strip("._")[:120]
    if not base:
        base = "image" if image else "file"
    if image and "." not in base:
        base += ".png"
    return base


def _check_output(image: bool) -> object:
    def check(content_type: str, head: bytes) -> None:
        if looks_like_html(content_type, head):
            raise Mismatch(Refusal.NOT_WHAT_IT_SAYS)  # an error page, a login page: not a file
        if image and image_type(head) is None:
            raise Mismatch(Refusal.NOT_WHAT_IT_SAYS)

    return check


class OutputPublisher:
    def __init__(
        self,
        *,
        slack: AsyncWebClient,
        session: aiohttp.ClientSession,
        output_hosts: HostPolicy,
        upload_hosts: HostPolicy,
        max_bytes: int,
    ) -> None:
        self._slack = slack
        self._session = session
        self._hosts = output_hosts
        self._upload_hosts = upload_hosts
        self._max = max_bytes

    async def publish(self, ledger: ToolLedger, *, channel_id: str, thread_ts: str) -> None:
        """Upload every not yet published output of ``ledger`` into the thread."""
        images = {i.url for i in ledger.images}
        for output in ledger.outputs():
            if output.url in ledger.published:
                continue
            if not self._hosts.allows(output.url):
                log.warning("tool output not on an allowed file host; not fetched")
                continue
            published = await self._one(
                output, image=output.url in images, channel_id=channel_id, thread_ts=thread_ts
            )
            if published is not None:
                ledger.published[output.url] = published

    async def _one(
        self, output: Source, *, image: bool, channel_id: str, thread_ts: str
    ) -> PublishedFile | None:
        try:
            fetched = await fetch(
                self._session,
                output.url,
                cap=self._max,
                allowed=self._hosts.allows,
                check_head=_check_output(image),  # type: ignore[arg-type]
            )
        except (TooBig, Mismatch, FetchError) as exc:
            log.warning("tool output could not be fetched: %s", exc)
            return None
        try:
            return await self._upload(
                fetched,
                name=file_name(output.url, image=image),
                title=output.title,
                source=output.url,
                channel_id=channel_id,
                thread_ts=thread_ts,
            )
        except (SlackApiError, aiohttp.ClientError, TimeoutError, OSError, ValueError) as exc:
            error = exc.response.get("error") if isinstance(exc, SlackApiError) else exc
            log.warning("upload of a tool output to Slack failed: %s", error)
            return None
        finally:
            fetched.discard()

    async def _upload(
        self,
        fetched: Fetched,
        *,
        name: str,
        title: str,
        source: str,
        channel_id: str,
        thread_ts: str,
    ) -> PublishedFile | None:
        assert fetched.path is not None
        ticket = await self._slack.files_getUploadURLExternal(filename=name, length=fetched.size)
        upload_url, file_id = ticket.get("upload_url"), ticket.get("file_id")
        if not isinstance(upload_url, str) or not isinstance(file_id, str):
            raise ValueError("files.getUploadURLExternal gave no upload_url/file_id")
        if not self._upload_hosts.allows(upload_url):
            raise ValueError("upload URL is not on a Slack host")
        with fetched.path.open("rb") as handle:
            async with self._session.post(
                upload_url,
                data=handle,
                headers={"Content-Type": "application/octet-stream"},
                timeout=aiohttp.ClientTimeout(total=120, sock_connect=10),
            ) as resp:
                if resp.status != 200:
                    raise ValueError(f"upload URL answered HTTP {resp.status}")
        done = await self._slack.files_completeUploadExternal(
            files=[{"id": file_id, "title": title}], channel_id=channel_id, thread_ts=thread_ts
        )
        files = done.get("files") or []
        permalink = files[0].get("permalink") if files and isinstance(files[0], dict) else None
        link = permalink if isinstance(permalink, str) else None
        return PublishedFile(source, file_id, title, link)
