"""Wiring: settings → database, GLM client, Slack client, Bolt app, aiohttp web app, lifecycle."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.agents import Catalogue, parse_custom_agents
from bot.concurrency import KeyedSerialExecutor
from bot.config import Settings
from bot.conversations import Conversations
from bot.files.service import FileService
from bot.glm.client import GLMClient, RetryPolicy, Timeouts
from bot.metrics import Metrics
from bot.oauth.workspace import current_bot_user_id
from bot.policy import AccessPolicy, TurnPolicy, parse_id_list
from bot.recovery import recover_orphans
from bot.reply.choose import Replies, ReplyBudgets
from bot.reply.ratelimit import BucketStore, Budgets, FallbackStore, LocalStore
from bot.reply.stream_budgets import stream_budgets
from bot.reply.views.edit import StreamerConfig
from bot.slack.actions import register_reply_actions
from bot.slack.clients import web_clients
from bot.slack.commands import register_agent_command
from bot.slack.early_ack import EventDispatcher, early_ack
from bot.slack.guard import GuardedSocketModeHandler, slack_guard
from bot.slack.listeners import register_message_listeners
from bot.store.budgets import DatabaseBucketStore
from bot.store.db import make_engine, ping
from bot.store.migrate import MigrationLockTimeout, upgrade_to_head
from bot.store.repository import Repository
from bot.store.retention import prune_before
from bot.store.surface import SurfaceStore
from bot.store.usage import UsageStore
from bot.surface.feedback_actions import FeedbackRecorder, register_feedback_action
from bot.surface.home import HomeTab, register_home_tab
from bot.surface.messages_tab import MessagesTab, register_messages_tab
from bot.surface.starters import StarterCache
from bot.surface.turn_hooks import DMSurface
from bot.usage.meter import UsageMeter
from bot.usage.month import Clock, system_clock
from bot.usage.quotas import QuotaPolicy
from bot.workspace.people import UserDirectory

if TYPE_CHECKING:
    from bot.oauth.setup import OAuth

log = logging.getLogger(__name__)


class StartupError(Exception):
    """A problem that must stop the process with a clear message (no traceback)."""


@dataclass(slots=True)
class BotIdentity:
    user_id: str | None = None
    team_id: str | None = None


@dataclass(slots=True)
class Bot:
    """Everything one process runs, built from settings; tests build it exactly like production."""

    settings: Settings
    engine: AsyncEngine
    repo: Repository
    glm: GLMClient
    slack: AsyncWebClient
    bolt: AsyncApp
    conversations: Conversations
    files: FileService
    identity: BotIdentity = field(default_factory=BotIdentity)
    socket_handler: GuardedSocketModeHandler | None = None
    paced_slack: AsyncWebClient | None = None  # the reply strategies' client (bot.slack.clients)
    oauth: OAuth | None = None  # OAuth mode: installations, per-workspace tokens, install routes
    inbound: EventDispatcher | None = None  # HTTP mode: events acknowledged before Bolt runs
    background: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def instance_id(self) -> str:
        return self.conversations.instance_id


def build_bot(
    settings: Settings,
    *,
    executor: KeyedSerialExecutor | None = None,
    clock: Clock = system_clock,
) -> Bot:
    """Wire the bot from settings; ``executor`` lets an embedding (or a test) observe turns,
    ``clock`` (UTC now) decides which calendar month usage counts in and quotas reset."""
    engine = make_engine(settings.database_url)
    repo = Repository(engine)
    glm = GLMClient(
        api_key=settings.zhipuai_api_key.get_secret_value(),
        base_url=settings.zhipuai_base_url,
        model=settings.glm_model,
        timeouts=Timeouts(
            connect=settings.glm_connect_timeout,
            idle=settings.glm_idle_timeout,
            total=settings.glm_total_timeout,
        ),
        retry=RetryPolicy(
            max_retries=settings.glm_max_retries,
            base_delay=settings.glm_retry_base_delay,
            max_delay=settings.glm_retry_max_delay,
        ),
    )
    metrics = Metrics()
    oauth = _build_oauth(settings, engine, metrics) if settings.oauth_mode else None
    # A 429 is the budgets' to handle on the reply strategies' calls, slack_sdk's elsewhere.
    clients = (
        oauth.clients
        if oauth is not None
        else web_clients(
            token=settings.slack_bot_token.get_secret_value(),
            base_url=settings.slack_api_base_url,
        )
    )
    slack = clients.patient
    signing_secret = (
        settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
    )
    bolt = AsyncApp(
        client=slack,
        # Socket Mode has no HTTP events route (see build_web_app); Bolt still wants a value.
        signing_secret=signing_secret or "unused-in-socket-mode",
        request_verification_enabled=not settings.socket_mode,
        ignoring_self_events_enabled=True,
        **_oauth_options(oauth),
    )
    identity = BotIdentity()
    catalogue = Catalogue.build(parse_custom_agents(settings.glm_assistants))
    files = FileService.from_settings(
        settings,
        repo=repo,
        glm=glm,
        slack=slack,
        token=oauth.current_token if oauth is not None else None,
    )
    # A little under Slack's rate: our clock and Slack's differ by each call's network
    # delay, so a bucket refilled exactly at the limit still collects the odd 429.
    budgets = Budgets(budget_store(settings, engine, metrics), margin=0.98)
    meter = UsageMeter(
        UsageStore(engine),
        policy=QuotaPolicy(
            per_user=settings.monthly_tokens_per_user,
            per_workspace=settings.monthly_tokens_per_workspace,
            exempt=parse_id_list(settings.agent_admin_user_ids),
        ),
        metrics=metrics,
        clock=clock,
    )
    replies = Replies(
        mode=settings.stream_mode,
        budgets=ReplyBudgets(
            edits=budgets.edits(
                per_minute=settings.slack_edits_per_minute,
                burst=settings.slack_edit_burst,
                open_replies=repo.count_streaming_replies,
            ),
            posts=budgets.posts(
                per_second=settings.slack_posts_per_second, burst=settings.slack_post_burst
            ),
            streams=stream_budgets(budgets) if settings.stream_mode != "edit" else None,
        ),
        config=StreamerConfig(edit_interval=settings.stream_edit_interval),
        metrics=metrics,
    )
    store = SurfaceStore(engine)
    conversations = Conversations(
        executor=executor,
        repo=repo,
        glm=glm,
        slack=slack,
        replies=replies,
        paced_slack=clients.paced,
        budgets=budgets,
        metrics=metrics,
        meter=meter,
        catalogue=catalogue,
        policy=TurnPolicy(
            default_assistant_id=settings.glm_default_assistant_id,
            thread_context_limit=settings.thread_context_limit,
            max_input_chars=settings.max_input_chars,
            access=AccessPolicy(
                teams=parse_id_list(settings.allowed_team_ids),
                channels=parse_id_list(settings.allowed_channel_ids),
                users=parse_id_list(settings.allowed_user_ids),
            ),
            refuse_silently_in_channels=settings.refuse_silently_in_channels,
            user_turns_per_window=settings.user_turns_per_window,
            user_window_seconds=settings.user_window_seconds,
            max_concurrent_streams=settings.max_concurrent_streams,
            lease_max_wait=settings.glm_total_timeout + 60,
            default_language=settings.default_language,
            use_slack_locale=settings.use_slack_locale,
            admins=parse_id_list(settings.agent_admin_user_ids),
        ),
        bot_user_id=lambda: identity.user_id or current_bot_user_id(),
        instance_id=uuid.uuid4().hex[:16],
        files=files,
        surface=DMSurface(
            slack=slack,
            store=store,
            people=UserDirectory(slack),
            bot_user_id=lambda: identity.user_id or current_bot_user_id(),
        ),
    )
    register_message_listeners(bolt, conversations)
    register_agent_command(
        bolt,
        repo=repo,
        default_assistant_id=settings.glm_default_assistant_id,
        language=conversations.language_of,
        admins=parse_id_list(settings.agent_admin_user_ids),
        catalogue=catalogue,
    )
    register_reply_actions(bolt, repo=repo, conversations=conversations)
    register_home_tab(  # before the Messages tab: both listen to app_home_opened
        bolt,
        HomeTab(
            meter=meter,
            repo=repo,
            catalogue=catalogue,
            default_assistant_id=settings.glm_default_assistant_id,
            admins=parse_id_list(settings.agent_admin_user_ids),
            default_language=settings.default_language,
            use_slack_locale=settings.use_slack_locale,
        ),
    )
    if oauth is not None:
        from bot.oauth.leaving import register_departures

        register_departures(bolt, oauth.departures)
    _wire_agent_surface(bolt, settings, slack, repo, glm, store, conversations)
    return Bot(
        settings,
        engine,
        repo,
        glm,
        slack,
        bolt,
        conversations,
        files,
        identity,
        paced_slack=clients.paced,
        oauth=oauth,
        inbound=None
        if settings.socket_mode
        else EventDispatcher(bolt.async_dispatch, on_drop=metrics.events_dropped.inc),
    )


def _build_oauth(settings: Settings, engine: AsyncEngine, metrics: Metrics) -> OAuth:
    """OAuth mode only: its modules (and cryptography) are not loaded for a single token."""
    from bot.oauth.setup import build_oauth

    return build_oauth(settings, engine, metrics.registry)


def _oauth_options(oauth: OAuth | None) -> dict[str, Any]:
    """Bolt's multi-workspace options: the install routes, our authorisation, the org's team."""
    if oauth is None:
        return {}
    from bot.oauth.authorize import fill_team

    return {"oauth_flow": oauth.flow, "authorize": oauth.authorize, "before_authorize": fill_team}


def _wire_agent_surface(
    bolt: AsyncApp,
    settings: Settings,
    slack: AsyncWebClient,
    repo: Repository,
    glm: GLMClient,
    store: SurfaceStore,
    conversations: Conversations,
) -> None:
    """The Messages tab (suggested prompts, viewed channel) and 👍/👎."""
    catalogue = conversations.catalogue

    async def listing() -> dict[str, Any]:
        # With custom agents, ask for every id by name: whether "all" (an empty list) covers an
        # account's own agents is undocumented (glm-assistant-api §9), naming them is not.
        ids = [a.assistant_id for a in catalogue.agents] if catalogue.custom else []
        return await glm.list_assistants(ids)

    tab = MessagesTab(
        slack=slack,
        repo=repo,
        store=store,
        starters=StarterCache(listing),
        language=conversations.language_of,
        default_assistant_id=settings.glm_default_assistant_id,
        catalogue=catalogue,
    )
    register_messages_tab(bolt, tab)
    register_feedback_action(
        bolt,
        FeedbackRecorder(
            slack=slack,
            store=store,
            metrics=conversations.metrics,
            language=conversations.language_of,
        ),
    )


def budget_store(settings: Settings, engine: AsyncEngine, metrics: Metrics) -> BucketStore:
    """Slack's budgets are per workspace: on a database instances share (PostgreSQL) they live
    there, so every instance draws on one bucket; otherwise (SQLite: one instance) in memory."""
    choice = settings.slack_budget_store
    if choice == "local" or (choice == "auto" and engine.dialect.name != "postgresql"):
        return LocalStore()
    counter = metrics.budget_transactions
    shared = DatabaseBucketStore(engine, on_transaction=lambda op: counter.labels(op).inc())
    return FallbackStore(shared, LocalStore())


async def start_bot(bot: Bot) -> None:
    """Check the database and Slack token, migrate, and connect Socket Mode when configured."""
    _share_slack_connections(bot.slack, bot.paced_slack)
    try:
        await ping(bot.engine)
    except Exception as exc:
        raise StartupError(f"database unreachable ({type(exc).__name__}: {exc})") from None
    try:
        await upgrade_to_head(bot.engine)
    except MigrationLockTimeout as exc:
        raise StartupError(f"schema upgrade not possible: {exc}") from None
    if bot.oauth is not None:
        await _start_oauth(bot, bot.oauth)
        return
    try:
        auth = await bot.slack.auth_test()
    except SlackApiError as exc:
        error = exc.response.get("error") if exc.response is not None else "unknown"
        raise StartupError(
            f"Slack rejected SLACK_BOT_TOKEN ({error}); check the bot token of your Slack app"
        ) from None
    except Exception as exc:
        raise StartupError(
            f"could not reach Slack at {bot.settings.slack_api_base_url}: {exc}"
        ) from None
    bot.identity.user_id = auth.get("user_id")
    bot.identity.team_id = auth.get("team_id")
    await _start_serving(bot)
    log.info(
        "ready as %s (team %s), %s mode",
        bot.identity.user_id,
        bot.identity.team_id,
        "Socket" if bot.settings.socket_mode else "HTTP",
    )


async def _start_oauth(bot: Bot, oauth: OAuth) -> None:
    """OAuth mode: no token to check at start; the stored ones must be readable."""
    from bot.oauth.crypto import TokenDecryptError

    try:
        await oauth.verify_key()
    except TokenDecryptError as exc:
        raise StartupError(str(exc)) from None
    count = await oauth.count()
    await _start_serving(bot)
    log.info(
        "ready in OAuth mode, installed in %d workspace(s)/org(s); install at /slack/install",
        count,
    )


async def _start_serving(bot: Bot) -> None:
    await bot.glm.start()
    await bot.repo.heartbeat(bot.instance_id)
    bot.background.append(asyncio.create_task(_housekeeping(bot), name="housekeeping"))
    bot.background.append(asyncio.create_task(_watch_remote_stops(bot), name="remote-stops"))
    if bot.settings.socket_mode:
        assert bot.settings.slack_app_token is not None
        bot.socket_handler = GuardedSocketModeHandler(
            bot.bolt,
            app_token=bot.settings.slack_app_token.get_secret_value(),
            web_client=bot.slack,
        )
        await bot.socket_handler.connect_async()


def _share_slack_connections(*clients: AsyncWebClient | None) -> None:
    """One connection pool for every Slack call. Without a session slack_sdk opens (and TLS
    handshakes) a new connection per call: the load bench counted about seven connects per
    reply, a good part of the bot's CPU. Bolt hands this session to the clients it makes."""
    first = clients[0]
    assert first is not None
    if first.session is None or first.session.closed:
        first.session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=first.timeout),
            trust_env=first.trust_env_in_session,
        )
    for client in clients[1:]:
        if client is not None:
            client.session = first.session


async def stop_bot(bot: Bot) -> None:
    """Stop taking turns, let running ones finish within the grace period, then cancel."""
    if bot.inbound is not None:  # acknowledged already: Slack will not send them again
        await bot.inbound.drain(bot.settings.shutdown_grace_seconds)
    bot.conversations.accepting = False
    if bot.socket_handler is not None:
        await bot.socket_handler.close_async()
    if not await bot.conversations.executor.wait_idle(bot.settings.shutdown_grace_seconds):
        log.warning("grace period over; interrupting the turns still running")
        await bot.conversations.executor.cancel_all()
    for task in bot.background:
        task.cancel()
    await asyncio.gather(*bot.background, return_exceptions=True)
    with contextlib.suppress(Exception):
        await bot.repo.remove_instance(bot.instance_id)
    await bot.glm.close()
    await bot.files.close()
    await bot.conversations.budgets.aclose()
    await bot.engine.dispose()
    session = getattr(bot.slack, "session", None)
    if session is not None:
        await session.close()
    if bot.oauth is not None:
        await bot.oauth.aclose()


EVENT_RETENTION = timedelta(days=3)
TOKEN_SWEEP_SECONDS = 300.0  # well inside the refresh window (SLACK_TOKEN_REFRESH_MINUTES)


async def _housekeeping(bot: Bot) -> None:
    """Heartbeat, finalise replies orphaned by crashed instances, prune old event ids."""
    interval = bot.settings.instance_heartbeat_seconds
    last_prune: float | None = None  # prune once at start, then hourly
    last_refresh = 0.0
    loop = asyncio.get_running_loop()
    while True:
        try:
            await bot.repo.heartbeat(bot.instance_id)
            await recover_orphans(
                bot.repo,
                bot.slack,
                instance_id=bot.instance_id,
                stale_after=interval * 3,
                lang=bot.settings.default_language,
                access_for=bot.oauth.access_for_team if bot.oauth is not None else None,
            )
            if bot.oauth is not None and loop.time() - last_refresh > TOKEN_SWEEP_SECONDS:
                last_refresh = loop.time()
                await bot.oauth.refresh_due()  # idle workspaces' tokens, before they expire
            if last_prune is None or loop.time() - last_prune > 3600:
                last_prune = loop.time()
                await bot.repo.prune_events(EVENT_RETENTION)
                await bot.repo.prune_turn_tickets(
                    timedelta(seconds=bot.settings.user_window_seconds + 60)
                )
                await _apply_retention(bot)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning("housekeeping failed; will try again", exc_info=True)
        await asyncio.sleep(interval)


async def _apply_retention(bot: Bot) -> None:
    """RETENTION_DAYS: delete what the bot stored about people once it is that old."""
    days = bot.settings.retention_days
    if days <= 0:
        return
    meter = bot.conversations.meter
    now = meter.clock() if meter is not None else system_clock()
    pruned = await prune_before(bot.engine, now - timedelta(days=days))
    if pruned.total:
        log.info("retention (%d days): deleted %s", days, pruned)


async def _watch_remote_stops(bot: Bot) -> None:
    """Stop clicks that reached another instance are left in the database; act on them here."""
    while True:
        await asyncio.sleep(bot.settings.stop_poll_seconds)
        try:
            await bot.conversations.apply_remote_stops()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning("could not check for stop requests", exc_info=True)


BOT_KEY = web.AppKey("bot", Bot)


def build_web_app(bot: Bot) -> web.Application:
    secret = bot.settings.slack_signing_secret
    if bot.settings.socket_mode:
        # Events arrive over the socket; an HTTP events route without a signing secret to check
        # would let anyone on the network inject events, so there is none.
        web_app = web.Application()
        if bot.oauth is not None:  # people still install through the browser
            from bot.oauth.flow import install_routes

            web_app.add_routes(install_routes(bot.oauth.flow))
    else:
        assert secret is not None and secret.get_secret_value()
        web_app = bot.bolt.web_app(path="/slack/events")
        web_app.middlewares.append(_time_slack_acks)
        web_app.middlewares.append(slack_guard(signing_secret=secret.get_secret_value()))
        if bot.inbound is not None:
            web_app.middlewares.append(early_ack(bot.inbound))  # inside the guard: after it
    web_app[BOT_KEY] = bot
    web_app.router.add_get("/healthz", healthz)
    web_app.router.add_get("/metrics", metrics)

    async def lifecycle(_app: web.Application) -> AsyncIterator[None]:
        await start_bot(bot)
        yield
        await stop_bot(bot)

    web_app.cleanup_ctx.append(lifecycle)
    return web_app


@web.middleware
async def _time_slack_acks(request: web.Request, handler: Any) -> web.StreamResponse:
    if request.path != "/slack/events":
        return await handler(request)
    started = time.perf_counter()
    try:
        return await handler(request)
    finally:
        request.app[BOT_KEY].conversations.metrics.ack_seconds.observe(
            time.perf_counter() - started
        )


async def metrics(request: web.Request) -> web.Response:
    bot = request.app[BOT_KEY]
    m = bot.conversations.metrics
    if bot.oauth is not None:  # the installations gauge, read when scraped
        with contextlib.suppress(Exception):
            await asyncio.wait_for(bot.oauth.count(), 5)
    return web.Response(body=m.render(), headers={"Content-Type": m.content_type})


async def healthz(request: web.Request) -> web.Response:
    bot = request.app[BOT_KEY]
    try:
        await asyncio.wait_for(ping(bot.engine), 5)
    except Exception as exc:
        return web.json_response({"ok": False, "database": type(exc).__name__}, status=503)
    return web.json_response(
        {
            "ok": True,
            "database": "ok",
            "mode": "socket" if bot.settings.socket_mode else "http",
            "active_threads": bot.conversations.executor.active,
        }
    )
