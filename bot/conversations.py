"""One turn, end to end: the only place that knows the whole flow.

listener → :meth:`Conversations.submit` (synchronous enqueue, per-thread order) → dedupe →
admission → thread lease → thread ↔ conversation → files → reply view (:mod:`bot.reply`) →
GLM stream into it (:class:`~bot.upstream.Upstream`) → persisted outcome and usage.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from typing import Any, Literal

from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import Executable
from sqlalchemy.exc import SQLAlchemyError

from bot.admission import Admitted, Gatekeeper, Refusal
from bot.agents import OFFICIAL_CATALOGUE, Agent, Catalogue
from bot.concurrency import KeyedSerialExecutor
from bot.files.intake import FileInput
from bot.files.service import FileService
from bot.glm.client import GLMClient
from bot.leases import thread_lease
from bot.logs import TURN_ID
from bot.metrics import Metrics
from bot.oauth.workspace import SlackAccess, current_access
from bot.oauth.workspace import scope as workspace_scope
from bot.policy import TurnPolicy
from bot.reply.calls import ReplyGone
from bot.reply.choose import Replies
from bot.reply.notices import ThreadNotices
from bot.reply.ratelimit import Budgets, LocalStore
from bot.reply.state import ReplyTarget
from bot.reply.view import ReplyView
from bot.stops import RunningTurns, StopOutcome
from bot.store.repository import ReplyRecord, Repository, ThreadRecord
from bot.store.usage import TurnUsage
from bot.surface.turn_hooks import DMSurface
from bot.texts import Lang, t
from bot.turn_input import Route, channel_type_of
from bot.upstream import Ask, TurnOutcome, Upstream
from bot.usage.meter import UsageMeter
from bot.workspace.mrkdwn import slack_to_plain
from bot.workspace.people import UserDirectory
from bot.workspace.threads import with_thread_context

log = logging.getLogger(__name__)


# What a Retry press did: a turn started, someone else's press took it, or a refusal.
RetryOutcome = Literal["started", "taken"] | Refusal


class Conversations:
    def __init__(
        self,
        *,
        repo: Repository,
        glm: GLMClient,
        slack: AsyncWebClient,
        replies: Replies,
        policy: TurnPolicy,
        bot_user_id: Callable[[], str | None],
        instance_id: str = "",
        metrics: Metrics | None = None,
        files: FileService | None = None,
        executor: KeyedSerialExecutor | None = None,
        surface: DMSurface | None = None,
        budgets: Budgets | None = None,
        paced_slack: AsyncWebClient | None = None,
        meter: UsageMeter | None = None,
        catalogue: Catalogue = OFFICIAL_CATALOGUE,
    ) -> None:
        self._repo = repo
        self.catalogue = catalogue  # names the assistant in a new thread's header
        self._slack = slack  # handed to the workspace ports, not called here
        # The reply strategies' client: no 429 retry of its own, the budgets handle those
        # (bot.slack.clients).
        self._paced_slack = paced_slack or slack
        self._notices = ThreadNotices(slack)
        self._replies = replies
        self._policy = policy
        self._bot_user_id = bot_user_id
        self._files = files
        self.instance_id = instance_id
        self.executor = executor or KeyedSerialExecutor()
        self._people = UserDirectory(slack)
        self.meter = meter  # counts every answered turn's tokens (and checks quotas)
        self.gate = Gatekeeper(repo=repo, people=self._people, policy=policy, meter=meter)
        self.running = RunningTurns(repo=repo, admins=policy.admins)
        self._side_tasks: set[asyncio.Task[None]] = set()  # overload notices in flight
        self.metrics = metrics or Metrics()
        self._upstream = Upstream(glm=glm, repo=repo, files=files, metrics=self.metrics)
        # Every Slack budget of this instance (shared with the others when the store is).
        self.budgets = budgets or Budgets(LocalStore())
        self._slots = asyncio.Semaphore(policy.max_concurrent_streams)
        self.surface = surface  # the agent surface's additions to DM turns (titles, summaries)

    # -- entry -------------------------------------------------------------------------------
    def submit(self, route: Route, *, event_id: str | None) -> None:
        """Enqueue synchronously so turns of one thread keep their delivery order."""
        key = (route.team_id, route.channel_id, route.thread_ts)
        access = current_access()  # OAuth: the request's workspace, for every Slack call
        if not self.executor.submit(key, lambda: _scoped(access, self._guarded(route, event_id))):
            self._overloaded(route)

    def _overloaded(self, route: Route) -> None:
        """The executor's queues are full: say so (at most as often as the channel's post
        budget has a token to spare, so a flood is not answered by a flood)."""
        self.metrics.refusals.labels("overloaded").inc()

        async def tell() -> None:
            posts = self._replies.budgets.posts
            if posts is None or await posts.try_take(route.channel_id):
                await self._post(route, t("overloaded", await self.gate.language(route.user_id)))

        task = asyncio.get_running_loop().create_task(tell(), name="overloaded-notice")
        self._side_tasks.add(task)
        task.add_done_callback(self._side_tasks.discard)

    async def _guarded(self, route: Route, event_id: str | None) -> None:
        """A database outage must not swallow the user's message silently."""
        try:
            await self._handle(route, event_id)
        except SQLAlchemyError as exc:
            log.error("database error while handling a message: %s", type(exc).__name__)
            await self._post(route, t("database_down", await self.gate.language(route.user_id)))

    async def _handle(self, route: Route, event_id: str | None) -> None:
        if event_id:
            log.info("event %s: message %s in %s", event_id, route.ts, route.channel_id)
        # A message that starts its thread has no record yet (another delivery of it stops at
        # the claim below): no read for it.
        thread = None if route.ts == route.thread_ts else await self._thread_of(route)
        if thread is None and route.requires_known_thread:
            return  # a human thread the bot was never asked into
        # Exactly once, in one transaction: this delivery (Slack retries with the same event
        # id) and this message (it arrives as app_mention and as message).
        message = f"msg:{route.team_id}:{route.channel_id}:{route.ts}"
        keys = [f"event:{event_id}", message] if event_id else [message]
        claimed = await self._repo.claim_all(keys)
        if not claimed[0] and event_id:
            log.info("event %s already processed; skipping retry", event_id)
            return
        if not all(claimed):
            return  # the same message arrived as app_mention and message: answer once
        decision = await self.gate.admit(route)
        if isinstance(decision, Refusal):
            self._refused(decision)
            if decision.private and route.channel_type != "im":
                await self._notices.whisper(
                    channel_id=route.channel_id,
                    thread_ts=route.thread_ts,
                    user_id=route.user_id,
                    text=decision.text,
                )
            elif not decision.quiet:
                await self._post(route, decision.text)
            return
        await self._turn(decision, thread)

    def _refused(self, refusal: Refusal) -> None:
        self.metrics.refusals.labels(refusal.reason).inc()

    @property
    def accepting(self) -> bool:
        return self.gate.accepting

    @accepting.setter
    def accepting(self, value: bool) -> None:
        self.gate.accepting = value

    async def language_of(self, user_id: str) -> Lang:
        """The language to answer this user in (also used by /glm-agent)."""
        return await self.gate.language(user_id)

    # -- the turn ----------------------------------------------------------------------------
    async def stop(self, turn_id: str, *, user_id: str, team_id: str) -> StopOutcome:
        return await self.running.stop(turn_id, user_id=user_id, team_id=team_id)

    async def apply_remote_stops(self) -> int:
        return await self.running.apply_remote()

    async def retry(self, reply: ReplyRecord, *, user_id: str) -> RetryOutcome:
        """Re-ask a failed reply's question in its thread, for ``user_id``, through admission.

        Admission comes before the claim, so a refused press leaves the button for others.
        """
        route = Route(
            team_id=reply.team_id,
            channel_id=reply.channel_id,
            channel_type=channel_type_of(reply.channel_id),
            user_id=user_id,
            text=reply.question,
            ts=f"retry-{reply.id}",
            thread_ts=reply.thread_ts,
            mention=False,
            requires_known_thread=True,
        )
        decision = await self.gate.admit(route)
        if isinstance(decision, Refusal):
            self._refused(decision)
            return decision
        key = (route.team_id, route.channel_id, route.thread_ts)
        busy = Refusal("overloaded", t("overloaded", decision.lang))
        if not self.executor.has_room(key):  # before the claim: the button stays usable
            self.metrics.refusals.labels("overloaded").inc()
            return busy
        if not await self._repo.claim(f"retry:{reply.id}"):
            return "taken"  # somebody already pressed it
        access = current_access()

        async def job() -> None:
            thread = await self._thread_of(route)
            await self._turn(decision, thread, prompt=reply.question)

        if not self.executor.submit(key, lambda: _scoped(access, job())):
            self.metrics.refusals.labels("overloaded").inc()
            return busy
        return "started"

    async def _turn(
        self, admitted: Admitted, thread: ThreadRecord | None, *, prompt: str | None = None
    ) -> None:
        route, lang = admitted.route, admitted.lang
        key = f"{route.team_id}:{route.channel_id}:{route.thread_ts}"

        async def waiting() -> None:
            await self._notices.status(
                channel_id=route.channel_id,
                thread_ts=route.thread_ts,
                text=t("status_thread_busy", lang),
            )

        turn_id = uuid.uuid4().hex  # also the GLM request_id; every log line of the turn has it
        token = TURN_ID.set(turn_id)
        try:
            async with thread_lease(
                self._repo,
                key,
                self.instance_id or "local",
                max_wait=self._policy.lease_max_wait,
                on_wait=waiting,
            ):
                if thread is not None:  # another instance may have moved the conversation on
                    thread = await self._thread_of(route)
                await self._answer(route, thread, turn_id=turn_id, prompt=prompt, lang=lang)
        finally:
            TURN_ID.reset(token)

    async def _answer(
        self,
        route: Route,
        thread: ThreadRecord | None,
        *,
        turn_id: str,
        prompt: str | None,
        lang: Lang,
    ) -> None:
        """Prepare the question, open the reply, stream GLM into it, record how it ended."""
        ask = await self._prepare(route, thread, prompt, lang)
        if ask is None:
            return
        reply_id = await self._repo.start_reply(
            turn_id=turn_id,
            team_id=route.team_id,
            channel_id=route.channel_id,
            thread_ts=route.thread_ts,
            user_id=route.user_id,
            assistant_id=ask.thread.assistant_id,
            question=ask.prompt,
            instance_id=self.instance_id,
            lang=lang,
        )
        view = await self._open_view(route, ask, turn_id=turn_id, reply_id=reply_id, lang=lang)
        log.info(
            "turn %s (request_id %s): %s/%s assistant=%s conversation=%s",
            turn_id,
            turn_id,
            route.channel_id,
            route.thread_ts,
            ask.thread.assistant_id,
            ask.thread.conversation_id or "new",
        )
        outcome = TurnOutcome(lang=lang, notices=list(ask.files.notices))
        started = time.monotonic()
        try:
            async with self._upstream_slot(view, lang):
                stream = self._upstream.answer(ask, route, turn_id, view, outcome)
                stopped_by = await self.running.run(
                    turn_id, team_id=route.team_id, asker=route.user_id, stream=stream
                )
            if stopped_by is not None:
                outcome.status = "stopped"
                outcome.notices.append(t("stopped_by", lang, user=stopped_by))
        except ReplyGone as exc:
            outcome.status, outcome.error_code = "failed", exc.error
        except asyncio.CancelledError:  # shutdown past its grace period: say so, offer Retry
            outcome.status = "interrupted"
            outcome.notices.append(t("interrupted", lang))
            tally = self._tally(route, ask, outcome)
            await asyncio.shield(self._finish(view, reply_id, outcome, retry=True, tally=tally))
            raise
        except Exception:
            log.exception("turn %s failed", turn_id)
            outcome.status = "failed"
            outcome.notices.append(t("internal_error", lang, ref=turn_id[:8]))
        await self._publish_outputs(route, view)
        await self._finish(view, reply_id, outcome, tally=self._tally(route, ask, outcome))
        self._observe(view, outcome, started)

    def _tally(self, route: Route, ask: Ask, outcome: TurnOutcome) -> Sequence[Executable]:
        """The statements that add this turn's GLM-reported tokens to the month's usage; run
        in the transaction that records the outcome (no usage reported: nothing)."""
        if self.meter is None or outcome.usage is None:
            return ()
        return self.meter.tally(
            TurnUsage(
                team_id=route.team_id,
                enterprise_id=_enterprise_id(),
                user_id=route.user_id,
                channel_id=route.channel_id,
                assistant_id=ask.thread.assistant_id,
                prompt_tokens=outcome.usage.prompt_tokens,
                completion_tokens=outcome.usage.completion_tokens,
            )
        )

    async def _prepare(
        self, route: Route, thread: ThreadRecord | None, prompt: str | None, lang: Lang
    ) -> Ask | None:
        """The question as GLM will get it, the thread record and the files; None when there is
        nothing to ask (the person has been told why)."""
        if prompt is None:
            prompt = await self._question(route, lang)
            if prompt is None:
                return None
            if self.surface is not None:
                prompt = await self.surface.prepare(route, prompt, first=thread is None, lang=lang)
                if prompt is None:
                    return None
        new_thread = thread is None
        if thread is None:
            thread, new_thread = await self._repo.open_thread(
                team_id=route.team_id,
                channel_id=route.channel_id,
                thread_ts=route.thread_ts,
                default_assistant_id=self._policy.default_assistant_id,
            )
        if new_thread and route.joins_existing_thread and self._policy.thread_context_limit:
            context = await with_thread_context(
                self._slack,
                self._people,
                channel=route.channel_id,
                thread_ts=route.thread_ts,
                current_ts=route.ts,
                asker_id=route.user_id,
                question=prompt,
                limit=self._policy.thread_context_limit,
                bot_user_id=self._bot_user_id(),
            )
            prompt = context.prompt
            if context.files:  # shared earlier in the thread: "chart the spreadsheet above"
                route = dataclasses.replace(route, files=(*context.files, *route.files))
        files = await self._read_files(route, lang, new_thread=new_thread)
        if route.files and not files.read and prompt == t("files_default_question", lang):
            await self._post(route, "\n".join(files.notices))  # nothing left to ask about
            return None
        return Ask(thread=thread, new_thread=new_thread, prompt=prompt, files=files)

    async def _open_view(
        self, route: Route, ask: Ask, *, turn_id: str, reply_id: int, lang: Lang
    ) -> ReplyView:
        """The reply's strategy: edit, or native with edit as its fallback (STREAM_MODE)."""

        async def remember(ts: list[str]) -> None:
            await self._repo.set_reply_messages(reply_id, ts)

        agent = self.catalogue.by_id(ask.thread.assistant_id)
        target = ReplyTarget(
            team_id=route.team_id,
            channel_id=route.channel_id,
            thread_ts=route.thread_ts,
            user_id=route.user_id,
            lang=lang,
            header=_header(agent) if ask.new_thread else None,
            stop_value=turn_id,
            on_messages=remember,
        )
        return await self._replies.open(target, client=self._paced_slack)

    @contextlib.asynccontextmanager
    async def _upstream_slot(self, view: ReplyView, lang: Lang) -> AsyncIterator[None]:
        """Show life at once, then hold one of the instance's upstream slots (queued if none)."""
        if self._slots.locked():
            self.metrics.queued_turns.inc()
            try:
                await view.start(t("status_queued", lang))
                await self._slots.acquire()
            finally:
                self.metrics.queued_turns.dec()
            await view.set_status(t("status_thinking", lang))
        else:
            await view.start(t("status_thinking", lang))
            await self._slots.acquire()
        self.metrics.active_streams.inc()
        try:
            yield
        finally:
            self.metrics.active_streams.dec()
            self._slots.release()

    def _observe(self, view: ReplyView, outcome: TurnOutcome, started: float) -> None:
        self.metrics.turns.labels(outcome.status).inc()
        self.metrics.turn_seconds.observe(time.monotonic() - started)
        if view.first_text_at is not None and outcome.first_chunk_at is not None:
            self.metrics.first_text_seconds.observe(
                max(0.0, view.first_text_at - outcome.first_chunk_at)
            )

    async def _finish(
        self,
        streamer: ReplyView,
        reply_id: int,
        outcome: TurnOutcome,
        *,
        retry: bool = False,
        tally: Sequence[Executable] = (),
    ) -> None:
        notice = "\n".join(outcome.notices) or None
        retry = retry or outcome.offer_retry
        try:
            await streamer.finish(notice, retry_value=str(reply_id) if retry else None)
        except Exception:
            log.exception("final edit failed")
            outcome.status = "failed"
        if streamer.gone:
            outcome.status, outcome.error_code = "failed", streamer.gone
        usage = outcome.usage
        try:
            await self._repo.finish_reply(
                reply_id,
                status=outcome.status,
                error_code=outcome.error_code,
                prompt_tokens=usage.prompt_tokens if usage else None,
                completion_tokens=usage.completion_tokens if usage else None,
                also=tally,
            )
        except SQLAlchemyError as exc:
            log.error("could not record the outcome of reply %s: %s", reply_id, type(exc).__name__)

    # -- helpers -----------------------------------------------------------------------------
    async def _question(self, route: Route, lang: Lang) -> str | None:
        """The user's text as plain text, or None (after telling them) when it cannot be asked."""
        bot = self._bot_user_id()
        question = slack_to_plain(
            route.text, bot_user_id=bot, names=await self._people.names_in(route.text, skip=bot)
        )
        if not question and route.files:
            return t("files_default_question", lang)
        if not question:
            await self._post(route, t("help", lang))
            return None
        limit = self._policy.max_input_chars
        if len(question) > limit:
            await self._post(route, t("too_long", lang, length=len(question), limit=limit))
            return None
        return question

    async def _read_files(self, route: Route, lang: Lang, *, new_thread: bool) -> FileInput:
        """This message's files (downloaded, uploaded to GLM) and the thread's earlier ones."""
        if self._files is None or (new_thread and not route.files):
            return FileInput()  # a thread created by this turn has no earlier files
        if route.files:
            await self._notices.status(
                channel_id=route.channel_id,
                thread_ts=route.thread_ts,
                text=t("status_reading_files", lang),
            )
        return await self._files.prepare(
            team_id=route.team_id,
            channel_id=route.channel_id,
            thread_ts=route.thread_ts,
            files=route.files,
            lang=lang,
        )

    async def _publish_outputs(self, route: Route, streamer: ReplyView) -> None:
        """Re-upload what the assistant drew or made into the thread before the final edit."""
        if self._files is None or streamer.gone:
            return
        try:
            await self._files.publish(
                streamer.tools, channel_id=route.channel_id, thread_ts=route.thread_ts
            )
        except Exception:  # the answer must still land, with GLM's links as before
            log.exception("publishing tool outputs failed")

    async def _thread_of(self, route: Route) -> ThreadRecord | None:
        return await self._repo.get_thread(
            team_id=route.team_id, channel_id=route.channel_id, thread_ts=route.thread_ts
        )

    async def _post(self, route: Route, text: str) -> None:
        await self._notices.post(channel_id=route.channel_id, thread_ts=route.thread_ts, text=text)


def _enterprise_id() -> str | None:
    """The Grid org the turn's workspace belongs to (OAuth mode; None for a single token)."""
    access = current_access()
    return access.workspace.enterprise_id if access is not None else None


async def _scoped(access: SlackAccess | None, work: Coroutine[Any, Any, None]) -> None:
    """Run a job in the workspace scope it was submitted from (OAuth mode; None otherwise)."""
    with workspace_scope(access):
        await work


def _header(agent: Agent) -> str:
    return f":robot_face: *{agent.display_name}*"
