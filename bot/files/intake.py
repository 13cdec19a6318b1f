"""Files people share in a turn → what the GLM request carries, plus one line per refusal.

Images go inline as multimodal ``image_url`` parts (``data:`` URLs): that is the documented
way the assistant API takes images (seed: ``messages[].content`` parts), it works with every
assistant, needs no extra round trip and no file-id lifetime. Documents are uploaded to GLM
``/files`` and attached by id. The thread remembers both (``thread_files``); on every later turn
all of the thread's documents are attached again, so "the spreadsheet" stays reachable after a
restart, on another instance, and even when GLM forgot the conversation. Images are not
re-sent (they would cost up to 5 MB per turn); the conversation upstream already has them.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.files.fetch import FetchError, fetch
from bot.files.hosts import HostPolicy
from bot.files.model import FileKind, SlackFile, parse_file
from bot.files.policy import (
    MB,
    Decision,
    FileLimits,
    Mismatch,
    Refusal,
    TooBig,
    check_head,
    decide,
    image_type,
)
from bot.glm.client import GLMClient
from bot.glm.errors import GLMBadRequest, GLMError
from bot.store.repository import Repository, ThreadFileRecord
from bot.texts import Lang, t

log = logging.getLogger(__name__)
PARALLEL_FILES = 3  # files of one message read at once (inline images are held in memory)


@dataclass(frozen=True, slots=True)
class FileInput:
    """What one turn sends upstream because of files, and what it tells the user."""

    images: tuple[str, ...] = ()
    attachments: tuple[str, ...] = ()
    notices: tuple[str, ...] = ()
    read: int = 0  # files of this message that reached GLM
    fresh: tuple[str, ...] = ()  # GLM file ids uploaded for this message (the rest are earlier)

    @property
    def earlier(self) -> tuple[str, ...]:
        return tuple(a for a in self.attachments if a not in self.fresh)


@dataclass(frozen=True, slots=True)
class _Outcome:
    record: ThreadFileRecord | None = None
    image: str | None = None
    notice: str | None = None


def data_url(mime: str, data: bytes) -> str:
    """An inline image as the assistant API takes it (``data:<mime>;base64,…``)."""
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _mb(n: int) -> str:
    return f"{n / MB:g}"


class FileIntake:
    def __init__(
        self,
        *,
        repo: Repository,
        glm: GLMClient,
        slack: AsyncWebClient,
        session: aiohttp.ClientSession,
        token: str | Callable[[], Awaitable[str]],
        token_hosts: HostPolicy,
        limits: FileLimits,
        purpose: str,
    ) -> None:
        self._repo = repo
        self._glm = glm
        self._slack = slack
        self._session = session
        self._token = token
        self._token_hosts = token_hosts
        self._limits = limits
        self._purpose = purpose
        self._scope_warned = False

    async def prepare(
        self,
        *,
        team_id: str,
        channel_id: str,
        thread_ts: str,
        files: tuple[SlackFile, ...],
        lang: Lang,
    ) -> FileInput:
        files = await self._resolve(files)
        stored = await self._repo.thread_files(
            team_id=team_id, channel_id=channel_id, thread_ts=thread_ts
        )
        by_id = {r.slack_file_id: r for r in stored}
        decisions = decide(
            files, limits=self._limits, known_ids=frozenset(by_id), stored=len(stored)
        )
        gate = asyncio.Semaphore(PARALLEL_FILES)

        async def one(d: Decision) -> _Outcome:
            async with gate:
                return await self._one(d, by_id.get(d.file.id), lang)

        outcomes = await asyncio.gather(*(one(d) for d in decisions))
        images: list[str] = []
        notices: list[str] = []
        fresh: list[str] = []
        read = 0
        for decision, outcome in zip(decisions, outcomes, strict=True):
            if outcome.notice:
                notices.append(outcome.notice)
                continue
            read += 1
            if outcome.image:
                images.append(outcome.image)
            if outcome.record is not None and not decision.known:
                await self._repo.add_thread_file(
                    team_id=team_id,
                    channel_id=channel_id,
                    thread_ts=thread_ts,
                    record=outcome.record,
                )
                stored.append(outcome.record)
                if outcome.record.glm_file_id:
                    fresh.append(outcome.record.glm_file_id)
        attachments = tuple(dict.fromkeys(r.glm_file_id for r in stored if r.glm_file_id))
        return FileInput(tuple(images), attachments, tuple(notices), read, tuple(fresh))

    async def _one(
        self, decision: Decision, known: ThreadFileRecord | None, lang: Lang
    ) -> _Outcome:
        f = decision.file
        if decision.refusal is not None:
            return _Outcome(notice=self._line(decision.refusal, f, lang))
        if known is not None and known.glm_file_id:
            return _Outcome(record=known)  # the same document again: GLM has it already
        try:
            return await self._read(f, lang)
        except Exception:  # one bad file must not cost the question its answer
            log.exception("file %s could not be read", f.id)
            return _Outcome(notice=self._line(Refusal.DOWNLOAD_FAILED, f, lang))

    async def _bearer(self) -> str:
        """The bot token for downloads: fixed, or the workspace's own in OAuth mode."""
        return self._token if isinstance(self._token, str) else await self._token()

    async def _read(self, f: SlackFile, lang: Lang) -> _Outcome:
        url = f.url
        if url is None or not self._token_hosts.allows(url):
            log.warning("file %s is not on a Slack host; not fetched with the token", f.id)
            return _Outcome(notice=self._line(Refusal.NOT_ON_SLACK, f, lang))
        kind = f.kind
        cap = self._limits.cap(kind)
        ext = f.extension
        try:
            fetched = await fetch(
                self._session,
                url,
                cap=cap,
                allowed=self._token_hosts.allows,
                check_head=lambda ctype, head: check_head(ext, ctype, head),
                headers={"Authorization": f"Bearer {await self._bearer()}"},
                to_memory=kind is FileKind.IMAGE,
            )
        except TooBig:
            refusal = Refusal.IMAGE_TOO_BIG if kind is FileKind.IMAGE else Refusal.TOO_BIG
            return _Outcome(notice=self._line(refusal, f, lang))
        except Mismatch as exc:
            if exc.refusal is Refusal.NEEDS_SCOPE and not self._scope_warned:
                self._scope_warned = True
                log.error("Slack sent its sign-in page for a file: the app needs files:read")
            return _Outcome(notice=self._line(exc.refusal, f, lang))
        except FetchError as exc:
            log.warning("download of file %s failed: %s", f.id, exc)
            return _Outcome(notice=self._line(Refusal.DOWNLOAD_FAILED, f, lang))
        try:
            if kind is FileKind.IMAGE:
                mime = image_type(fetched.head) or f.content_type
                # Up to 5 MB → ~7 MB of base64: done in a worker thread, off the event loop.
                image = await asyncio.to_thread(data_url, mime, fetched.read_all())
                record = ThreadFileRecord(f.id, None, f.name, kind.value, mime, fetched.size)
                return _Outcome(record=record, image=image)
            assert fetched.path is not None
            try:
                file_id = await self._glm.upload_file(
                    fetched.path,
                    filename=f.name,
                    content_type=f.content_type,
                    purpose=self._purpose,
                )
            except GLMBadRequest as exc:
                log.warning("GLM refused file %s: %s", f.id, exc)
                if "purpose" in exc.message.lower():
                    return _Outcome(notice=self._line(Refusal.PURPOSE_REFUSED, f, lang))
                return _Outcome(notice=self._line(Refusal.UPLOAD_FAILED, f, lang, exc))
            except GLMError as exc:
                log.warning("upload of file %s to GLM failed: %s", f.id, exc)
                return _Outcome(notice=self._line(Refusal.UPLOAD_FAILED, f, lang, exc))
            record = ThreadFileRecord(
                f.id, file_id, f.name, kind.value, f.content_type, fetched.size
            )
            return _Outcome(record=record)
        finally:
            fetched.discard()

    async def _resolve(self, files: tuple[SlackFile, ...]) -> tuple[SlackFile, ...]:
        """Events may carry stubs (``file_access: check_file_info``, no URL): ``files.info``
        has the whole object."""
        out: list[SlackFile] = []
        for f in files:
            if f.url is None:
                try:
                    resp = await self._slack.files_info(file=f.id)
                    f = parse_file(resp.get("file")) or f
                except SlackApiError as exc:
                    log.warning("files.info %s refused: %s", f.id, exc.response.get("error"))
                except (aiohttp.ClientError, TimeoutError) as exc:
                    log.warning("files.info %s failed: %s", f.id, type(exc).__name__)
            out.append(f)
        return tuple(out)

    def _line(self, refusal: Refusal, f: SlackFile, lang: Lang, exc: GLMError | None = None) -> str:
        kind = f.kind
        limit = {
            Refusal.TOO_BIG: _mb(self._limits.max_file_bytes),
            Refusal.IMAGE_TOO_BIG: _mb(self._limits.cap(FileKind.IMAGE)),
            Refusal.TOO_MANY: str(self._limits.max_files_per_conversation),
        }.get(refusal, "")
        reason = exc.user_message_in(lang) if exc is not None else ""
        return t(
            refusal.value,
            lang,
            name=f.name,
            limit=limit,
            kind=f.extension or kind.value,
            reason=reason or "error",
            purpose=self._purpose,
        )
