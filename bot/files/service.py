"""Files both ways, built from settings: one HTTP session for downloads and uploads."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from bot.files.hosts import SLACK_FILE_HOSTS, HostPolicy, parse_hosts
from bot.files.intake import FileInput, FileIntake
from bot.files.model import SlackFile
from bot.files.outbound import OutputPublisher
from bot.files.policy import MB, FileLimits, rejects_attachments
from bot.glm.client import GLMClient
from bot.glm.errors import GLMBadRequest
from bot.reply.tools import ToolLedger
from bot.store.repository import Repository
from bot.texts import Lang
from bot.turn_input import Route

log = logging.getLogger(__name__)
USER_AGENT = "glm-slack-bot/0.1 (+aiohttp; files)"


class FileService:
    def __init__(
        self,
        *,
        repo: Repository,
        glm: GLMClient,
        slack: AsyncWebClient,
        slack_token: str | Callable[[], Awaitable[str]],
        slack_api_base_url: str,
        glm_base_url: str,
        glm_file_hosts: str,
        limits: FileLimits,
        purpose: str = "assistant",
    ) -> None:
        self.limits = limits
        self._repo, self._glm, self._slack = repo, glm, slack
        self._token = slack_token
        self._purpose = purpose
        self.token_hosts = HostPolicy.build(SLACK_FILE_HOSTS, (slack_api_base_url,))
        self.output_hosts = HostPolicy.build(parse_hosts(glm_file_hosts), (glm_base_url,))
        self._session: aiohttp.ClientSession | None = None
        self._intake: FileIntake | None = None
        self._publisher: OutputPublisher | None = None

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        repo: Repository,
        glm: GLMClient,
        slack: AsyncWebClient,
        token: Callable[[], Awaitable[str]] | None = None,
    ) -> FileService:
        """``token``: where downloads get the bot token in OAuth mode (the workspace's own)."""
        return cls(
            repo=repo,
            glm=glm,
            slack=slack,
            slack_token=token or settings.slack_bot_token.get_secret_value(),
            slack_api_base_url=settings.slack_api_base_url,
            glm_base_url=settings.zhipuai_base_url,
            glm_file_hosts=settings.glm_file_hosts,
            limits=FileLimits(
                max_file_bytes=int(settings.max_file_mb * MB),
                max_image_bytes=int(settings.max_image_mb * MB),
                max_files_per_conversation=settings.max_files_per_conversation,
            ),
            purpose=settings.glm_file_purpose,
        )

    def _ensure(self) -> None:
        if self._session is None:
            # No cookies kept between hosts; no proxy settings from the environment.
            self._session = aiohttp.ClientSession(
                headers={"User-Agent": USER_AGENT},
                trust_env=False,
                cookie_jar=aiohttp.DummyCookieJar(),
            )
            self._intake = FileIntake(
                repo=self._repo,
                glm=self._glm,
                slack=self._slack,
                session=self._session,
                token=self._token,
                token_hosts=self.token_hosts,
                limits=self.limits,
                purpose=self._purpose,
            )
            self._publisher = OutputPublisher(
                slack=self._slack,
                session=self._session,
                output_hosts=self.output_hosts,
                upload_hosts=self.token_hosts,
                max_bytes=self.limits.max_file_bytes,
            )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def prepare(
        self,
        *,
        team_id: str,
        channel_id: str,
        thread_ts: str,
        files: tuple[SlackFile, ...],
        lang: Lang,
    ) -> FileInput:
        """The turn's images, attachments (this thread's documents) and refusal lines."""
        self._ensure()
        assert self._intake is not None
        return await self._intake.prepare(
            team_id=team_id, channel_id=channel_id, thread_ts=thread_ts, files=files, lang=lang
        )

    async def drop_stale(
        self, route: Route, files: FileInput, exc: GLMBadRequest
    ) -> FileInput | None:
        """When GLM rejects the attachments and earlier files were re-sent, forget those (they
        expired or were deleted upstream) and return the input without them; else None."""
        if not files.earlier or not rejects_attachments(exc):
            return None
        log.warning("GLM rejected earlier files of %s (%s); forgetting them", route.thread_ts, exc)
        await self._repo.forget_thread_files(
            team_id=route.team_id,
            channel_id=route.channel_id,
            thread_ts=route.thread_ts,
            glm_file_ids=files.earlier,
        )
        return replace(files, attachments=files.fresh)

    async def publish(self, ledger: ToolLedger, *, channel_id: str, thread_ts: str) -> None:
        """Upload the assistant's outputs into the thread (no-op when there are none)."""
        if not ledger.outputs():
            return
        self._ensure()
        assert self._publisher is not None
        await self._publisher.publish(ledger, channel_id=channel_id, thread_ts=thread_ts)
