"""One answer from GLM into a reply: the stream loop of a turn.

:class:`~bot.conversations.Conversations` decides whether, where and for whom to answer; this
asks GLM and feeds the reply: text and tool calls into the view, a new conversation's id into
the store beside the stream (never in front of its first text), GLM's usage into the outcome.
It makes the two recoveries a turn allows once, before any text is shown: ask again without
earlier files GLM no longer has, or start afresh when GLM no longer knows the conversation. A
GLM failure becomes the outcome's notice (and Retry button when it may help), never a raise.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from dataclasses import dataclass, field

from sqlalchemy.exc import SQLAlchemyError

from bot.files.intake import FileInput
from bot.files.service import FileService
from bot.glm.client import AssistantRequest, GLMClient
from bot.glm.errors import GLMAuthError, GLMBadRequest, GLMError
from bot.glm.events import Completed, ConversationStarted, TextDelta, ToolCall, Usage
from bot.metrics import Metrics
from bot.reply.calls import ReplyGone
from bot.reply.view import ReplyView
from bot.store.repository import Repository, ThreadRecord
from bot.texts import Lang, t
from bot.turn_input import Route

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Ask:
    """A question ready for GLM: its thread (and whether this turn created it) and files."""

    thread: ThreadRecord
    new_thread: bool
    prompt: str
    files: FileInput


@dataclass(slots=True)
class TurnOutcome:
    status: str = "done"
    error_code: str | None = None
    usage: Usage | None = None
    notices: list[str] = field(default_factory=list)
    offer_retry: bool = False
    first_chunk_at: float | None = None
    lang: Lang = "en"


def glm_user_id(team_id: str, user_id: str) -> str:
    """Stable per Slack team+user, 6–128 chars, without exposing Slack ids upstream."""
    digest = hashlib.sha256(f"{team_id}:{user_id}".encode()).hexdigest()[:40]
    return f"slack-{digest}"


@dataclass(slots=True)
class _Conversation:
    """The thread's conversation as this turn knows it, and the write of a new id in flight."""

    thread_id: int
    id: str | None
    saving: asyncio.Task[None] | None = None


class Upstream:
    def __init__(
        self,
        *,
        glm: GLMClient,
        repo: Repository,
        files: FileService | None,
        metrics: Metrics,
    ) -> None:
        self._glm = glm
        self._repo = repo
        self._files = files
        self._metrics = metrics
        self._auth_error_logged = False
        self._saving: set[asyncio.Task[None]] = set()  # conversation ids being written

    async def answer(
        self, ask: Ask, route: Route, turn_id: str, streamer: ReplyView, outcome: TurnOutcome
    ) -> None:
        conversation = _Conversation(ask.thread.id, ask.thread.conversation_id)
        files = ask.files
        try:
            for attempt in (1, 2):
                request = AssistantRequest(
                    assistant_id=ask.thread.assistant_id,
                    text=ask.prompt,
                    user_id=glm_user_id(route.team_id, route.user_id),
                    request_id=turn_id if attempt == 1 else f"{turn_id}-r",
                    conversation_id=conversation.id,
                    attachments=[{"file_id": file_id} for file_id in files.attachments],
                    images=files.images,
                )
                try:
                    await self._read(request, streamer, outcome, conversation)
                    return
                except GLMBadRequest as exc:
                    again = None
                    if attempt == 1 and not streamer.has_text:
                        again = await self._recover(
                            exc, route, turn_id, files, conversation, outcome
                        )
                    if again is None:
                        self._failed(turn_id, exc, outcome)
                        return
                    files = again
                except GLMError as exc:
                    self._failed(turn_id, exc, outcome)
                    return
        finally:
            if conversation.saving is not None:  # the thread's next turn must find it
                await asyncio.shield(conversation.saving)

    async def _read(
        self,
        request: AssistantRequest,
        streamer: ReplyView,
        outcome: TurnOutcome,
        conversation: _Conversation,
    ) -> None:
        """The stream into the reply (raises GLMError; ReplyGone when the reply is gone)."""
        # aclosing: a Stop or shutdown closes the upstream response at once, not at GC.
        async with contextlib.aclosing(self._glm.stream(request)) as events:
            async for event in events:
                if outcome.first_chunk_at is None:
                    outcome.first_chunk_at = time.monotonic()
                if isinstance(event, TextDelta):
                    streamer.append(event.text)
                elif isinstance(event, ToolCall):
                    streamer.tool(event)
                elif isinstance(event, ConversationStarted):
                    if event.conversation_id != conversation.id:
                        conversation.id = event.conversation_id
                        conversation.saving = self._save_conversation(
                            conversation.thread_id, event.conversation_id
                        )
                elif isinstance(event, Completed):
                    outcome.usage = event.usage
                if streamer.gone:
                    raise ReplyGone(streamer.gone)

    async def _recover(
        self,
        exc: GLMBadRequest,
        route: Route,
        turn_id: str,
        files: FileInput,
        conversation: _Conversation,
        outcome: TurnOutcome,
    ) -> FileInput | None:
        """Before any text: the files to ask again with, once, or None when nothing helps."""
        # Earlier files GLM no longer has: ask again without them, and say so.
        if self._files is not None:
            fewer = await self._files.drop_stale(route, files, exc)
            if fewer is not None:
                outcome.notices.append(t("files_not_reattached", outcome.lang))
                return fewer
        # An unknown or expired conversation: start afresh, and say so.
        if conversation.id and _rejects_conversation(exc):
            log.warning("turn %s: conversation %s rejected (%s)", turn_id, conversation.id, exc)
            conversation.id = None
            if conversation.saving is not None:
                await conversation.saving
            await self._repo.set_conversation_id(conversation.thread_id, None)
            outcome.notices.append(t("new_conversation", outcome.lang))
            return files
        return None

    def _save_conversation(self, thread_id: int, conversation_id: str) -> asyncio.Task[None]:
        """Record a new conversation id beside the stream rather than in front of its first
        text (under a burst that write queued behind every other turn's): it only has to be
        there for the thread's next turn, and the turn waits for it before it ends."""

        async def save() -> None:
            try:
                await self._repo.set_conversation_id(thread_id, conversation_id)
            except SQLAlchemyError as exc:  # the answer still lands; a follow-up starts afresh
                log.warning("could not record conversation %s: %s", conversation_id, exc)

        task = asyncio.create_task(save(), name="save-conversation")
        self._saving.add(task)  # held even if the turn is cancelled while it waits
        task.add_done_callback(self._saving.discard)
        return task

    def _failed(self, turn_id: str, exc: GLMError, outcome: TurnOutcome) -> None:
        self._metrics.upstream_errors.labels(exc.code or type(exc).__name__).inc()
        outcome.status = "failed"
        outcome.error_code = exc.code or (
            str(exc.http_status) if exc.http_status else type(exc).__name__
        )
        outcome.notices.append(f":warning: {exc.user_message_in(outcome.lang)}")
        outcome.offer_retry = exc.offer_retry
        if isinstance(exc, GLMAuthError):
            if not self._auth_error_logged:
                self._auth_error_logged = True
                log.error("GLM rejected the API key (%s); fix ZHIPUAI_API_KEY", exc)
            return
        log.warning("turn %s: upstream error %s", turn_id, exc)


def _rejects_conversation(exc: GLMBadRequest) -> bool:
    """Upstream behaviour for an unknown/expired id is undocumented: an invalid-parameter error
    (1214) or one that names the conversation is taken to mean "start a new one"."""
    return exc.code == "1214" or "conversation" in exc.message.lower()
