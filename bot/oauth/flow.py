"""The install routes, Bolt's ``AsyncOAuthFlow`` with our store, state store, pages and policy.

``GET /slack/install`` issues a state (a database row, so Slack's redirect may land on any
instance; 10 minutes; also in the ``slack-app-oauth-state`` cookie) and shows an *Add to Slack*
link. ``GET /slack/oauth_redirect`` checks the cookie and consumes the state (atomically, once)
before the code is exchanged at ``oauth.v2.access``; a missing, forged, expired or used state
gets a page saying so, and its code is never sent to Slack. ``ALLOWED_TEAM_IDS``, when set,
names the workspaces (or Grid orgs) that may install: another's fresh token is revoked at once
and never stored.

Slack failing the exchange is told apart from Slack refusing the code. Bolt's flow catches only
``SlackApiError`` around ``oauth.v2.access`` (and the ``auth.test`` after it) and reads every one
as a refused code ("check the client credentials"), while no answer at all (connection refused
or reset, timeout) escapes it as a bare HTTP 500. :class:`InstallClient` raises
:class:`SlackUnavailable` for a 5xx or 429 and for no answer, and the flow ends on its own page:
Slack could not be reached or had a problem, try again; the log names the cause.
"""

from __future__ import annotations

import html
import logging
from typing import Any, Literal

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.error import BoltError
from slack_bolt.oauth.async_callback_options import (
    AsyncCallbackOptions,
    AsyncFailureArgs,
    AsyncSuccessArgs,
)
from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncConnectionErrorRetryHandler
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.exc import SQLAlchemyError

from bot.logs import RedactSecrets
from bot.oauth.store import EncryptedInstallationStore, SharedStateStore

log = logging.getLogger(__name__)
# Bolt's flow logs through this logger, and a failed code exchange with the code in it
# (AsyncOAuthFlow.run_installation): cleaned here, whichever handlers the process has.
log.addFilter(RedactSecrets())

INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
STATE_SECONDS = 600


# What a call that got no answer raises: connection refused or reset, a timeout.
_NO_ANSWER = (aiohttp.ClientError, TimeoutError)


class InstallRefused(BoltError):
    """ALLOWED_TEAM_IDS does not name this workspace or org."""


class SlackUnavailable(Exception):
    """Slack could not be reached, or answered with an outage (5xx) or a rate limit (429),
    while an installation was being completed: nothing the installer did, so they are asked
    to try again. ``cause`` is for the operator's log (a method, a status, an error name;
    never the code or a token)."""

    def __init__(
        self, reason: Literal["slack_unreachable", "slack_error"], cause: str, *, status: int
    ) -> None:
        super().__init__(cause)
        self.reason = reason  # the failure page to show (_FAILURES)
        self.cause = cause
        self.status = status  # our page's HTTP status: 502, or 504 when Slack timed out


class InstallClient(AsyncWebClient):
    """The install flow's Slack client: the calls that complete an installation
    (``oauth.v2.access``, then ``auth.test``) raise :class:`SlackUnavailable` when Slack did
    not answer or answered with an outage, which Bolt's flow would otherwise show as a
    refused code or let through as a bare 500. Slack's refusals stay ``SlackApiError``."""

    _COMPLETING = frozenset({"oauth.v2.access", "auth.test"})

    async def api_call(self, api_method: str, **kwargs: Any) -> Any:
        if api_method not in self._COMPLETING:
            return await super().api_call(api_method, **kwargs)
        try:
            return await super().api_call(api_method, **kwargs)
        except SlackApiError as exc:
            status, error = _answer_of(exc)
            if status is None or (status < 500 and status != 429):
                raise  # Slack's own refusal (invalid_code, bad_client_secret, …)
            cause = f"{api_method} answered HTTP {status}" + (f" {error}" if error else "")
            raise SlackUnavailable("slack_error", cause, status=502) from None
        except _NO_ANSWER as exc:
            cause = f"{api_method} got no answer: {type(exc).__name__}: {exc}"
            status = 504 if isinstance(exc, TimeoutError) else 502
            raise SlackUnavailable("slack_unreachable", cause, status=status) from None


def install_client(base_url: str) -> InstallClient:
    """A client for the install flow. A code works once, so an exchange that may have reached
    Slack is not sent again (a second one would be refused as a used code, and the page would
    blame the credentials): only a connection that never opened is retried."""
    return InstallClient(
        token=None,
        base_url=base_url,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(
                max_retry_count=2, error_types=[aiohttp.ClientConnectorError]
            )
        ],
    )


def _answer_of(exc: SlackApiError) -> tuple[int | None, str | None]:
    """The HTTP status and Slack's ``error`` of a failed call. slack_sdk puts either its
    AsyncSlackResponse (``status_code``, ``data``) or, for a body it could not parse, aiohttp's
    response (``status``) in the exception."""
    response = exc.response
    status = getattr(response, "status_code", None) or getattr(response, "status", None)
    data = getattr(response, "data", None)
    error = data.get("error") if isinstance(data, dict) else None
    return (
        status if isinstance(status, int) else None,
        error if isinstance(error, str) else None,
    )


class GuardedOAuthFlow(AsyncOAuthFlow):
    """Bolt's flow, with the allow-list applied before anything is stored, and Slack's
    outages during the exchange shown as such (see :class:`InstallClient`)."""

    def __init__(
        self,
        *,
        client: InstallClient,
        settings: AsyncOAuthSettings,
        allowed: frozenset[str],
    ) -> None:
        super().__init__(client=client, settings=settings, logger=log)
        self._allowed = allowed

    async def handle_callback(self, request: AsyncBoltRequest) -> BoltResponse:
        """Bolt's callback; Slack unreachable or failing while the installation is completed,
        or our database failing while the state is checked, ends on our failure page instead
        of "code refused" or an HTTP 500."""
        try:
            return await super().handle_callback(request)
        except SlackUnavailable as exc:
            return await self._fail(request, exc.reason, exc, exc.status)
        except SQLAlchemyError as exc:  # the single-use state could not be checked
            log.error("install redirect: the database failed: %s", type(exc).__name__)
            return await self._fail(request, "storage_error", exc, 503)

    async def _fail(
        self, request: AsyncBoltRequest, reason: str, error: Exception, status: int
    ) -> BoltResponse:
        return await self.failure_handler(
            AsyncFailureArgs(
                request=request,
                reason=reason,
                error=error,
                suggested_status_code=status,
                settings=self.settings,
                default=self.default_callback_options,
            )
        )

    async def store_installation(
        self, request: AsyncBoltRequest, installation: Installation
    ) -> None:
        ids = {i for i in (installation.team_id, installation.enterprise_id) if i}
        if self._allowed and not ids & self._allowed:
            log.warning("install by %s refused: not in ALLOWED_TEAM_IDS", "/".join(sorted(ids)))
            await self._revoke(installation.bot_token)
            raise InstallRefused("not allowed")
        try:
            await super().store_installation(request, installation)
        except BoltError:
            raise
        except Exception as exc:  # the database: a clear page, not a 500 with a traceback
            log.error("could not store an installation: %s", type(exc).__name__)
            raise BoltError("storage") from None

    async def _revoke(self, token: str | None) -> None:
        if not token:
            return
        try:
            await self.client.auth_revoke(token=token)
        except SlackApiError as exc:
            log.warning("could not revoke a refused install's token: %s", exc.response.get("error"))
        except _NO_ANSWER as exc:  # the refusal page still follows, not an HTTP 500
            log.warning("could not revoke a refused install's token: %s", type(exc).__name__)


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:36em;margin:3em auto;padding:0 1em;
line-height:1.5}}</style></head>
<body><h1>{title}</h1>{body}</body></html>
"""

_FAILURES: dict[str, tuple[str, str]] = {
    "invalid_browser": (
        "This install link is incomplete",
        "The link carries no valid install state for this browser. Start again from "
        '<a href="{install}">the install page</a>, in the same browser, within 10 minutes.',
    ),
    "invalid_state": (
        "This install link has expired or was already used",
        "Install links work once and for 10 minutes, and only if this app issued them. Start "
        'again from <a href="{install}">the install page</a>.',
    ),
    "missing_code": (
        "Slack sent no authorisation code",
        'Start again from <a href="{install}">the install page</a>.',
    ),
    "access_denied": (
        "Installation cancelled",
        'Nothing was installed. <a href="{install}">Install again</a> when you are ready.',
    ),
    "invalid_code": (
        "Slack did not accept this installation",
        "The authorisation code was refused: it was already used or has expired, or this "
        "deployment's SLACK_CLIENT_ID / SLACK_CLIENT_SECRET do not match the Slack app. Start "
        'again from <a href="{install}">the install page</a>; if it keeps failing, ask the '
        "operator to check the client credentials.",
    ),
    "not_allowed": (
        "This workspace may not install this app",
        "This deployment serves only the workspaces its operator listed (ALLOWED_TEAM_IDS). "
        "Nothing was stored.",
    ),
    "slack_unreachable": (
        "Slack could not be reached",
        "The connection to Slack failed while this installation was being completed, so "
        "nothing was installed. Nothing you did caused it: please try installing again from "
        '<a href="{install}">the install page</a> in a minute.',
    ),
    "slack_error": (
        "Slack had a problem",
        "Slack answered with an error of its own while this installation was being completed, "
        "so nothing was installed. Nothing you did caused it: please try installing again from "
        '<a href="{install}">the install page</a> in a minute.',
    ),
    "storage_error": (
        "The installation could not be saved",
        'Nothing was stored. Try again in a minute from <a href="{install}">the install page</a>.',
    ),
}


def _page(title: str, body: str) -> str:
    return _PAGE.format(title=html.escape(title), body=f"<p>{body}</p>")


async def _success(args: AsyncSuccessArgs) -> BoltResponse:
    inst = args.installation
    where = inst.enterprise_name if inst.is_enterprise_install else inst.team_name
    target = inst.team_id or inst.enterprise_id or ""
    link = f"slack://app?team={html.escape(target)}&id={html.escape(inst.app_id or '')}"
    scope = "every workspace of the organisation" if inst.is_enterprise_install else "the workspace"
    body = (
        f"GLM is installed in <strong>{html.escape(where or target)}</strong>. "
        f"Find it in Slack under <em>Apps</em> in {scope}: "
        f'<a href="{link}">open it in Slack</a> and write to it in its Messages tab, or invite it '
        "to a channel with <code>/invite @GLM</code> and mention it there."
    )
    log.info("installed into %s", target)
    return BoltResponse(
        status=200,
        headers={
            "Content-Type": "text/html; charset=utf-8",
            "Set-Cookie": args.settings.state_utils.build_set_cookie_for_deletion(),
        },
        body=_page("Installed", body),
    )


async def _failure(args: AsyncFailureArgs) -> BoltResponse:
    reason = "not_allowed" if isinstance(args.error, InstallRefused) else args.reason
    title, text = _FAILURES.get(
        reason, _FAILURES["invalid_code"] if reason else _FAILURES["storage_error"]
    )
    if reason not in _FAILURES:  # Slack's own ?error=… values: name it, safely
        text = f"Slack reported: {html.escape(reason)}. " + text
    if isinstance(args.error, SlackUnavailable):
        log.warning("install failed, Slack unavailable: %s", args.error.cause)
    else:
        log.warning("install refused: %s", reason)
    status = 403 if reason == "not_allowed" else args.suggested_status_code
    return BoltResponse(
        status=status,
        headers={
            "Content-Type": "text/html; charset=utf-8",
            "Set-Cookie": args.settings.state_utils.build_set_cookie_for_deletion(),
        },
        body=_page(title, text.format(install=INSTALL_PATH)),
    )


def install_routes(flow: AsyncOAuthFlow) -> list[web.RouteDef]:
    """The two GET routes for a web app Bolt did not build (Socket Mode serves no events
    route, but a person still installs through the browser)."""

    async def install_page(request: web.Request) -> web.Response:
        return await to_aiohttp_response(
            await flow.handle_installation(await to_bolt_request(request))
        )

    async def redirect(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await flow.handle_callback(await to_bolt_request(request)))

    return [web.get(INSTALL_PATH, install_page), web.get(REDIRECT_PATH, redirect)]


def build_oauth_flow(
    *,
    client_id: str,
    client_secret: str,
    scopes: list[str],
    redirect_uri: str | None,
    store: EncryptedInstallationStore,
    states: SharedStateStore,
    client: InstallClient,
    allowed: frozenset[str],
) -> GuardedOAuthFlow:
    settings = AsyncOAuthSettings(
        client_id=client_id,
        client_secret=client_secret,
        scopes=scopes,
        user_scopes=[],
        redirect_uri=redirect_uri,
        install_path=INSTALL_PATH,
        redirect_uri_path=REDIRECT_PATH,
        installation_store=store,
        state_store=states,
        state_expiration_seconds=STATE_SECONDS,
        callback_options=AsyncCallbackOptions(success=_success, failure=_failure),
        logger=log,
    )
    return GuardedOAuthFlow(client=client, settings=settings, allowed=allowed)
