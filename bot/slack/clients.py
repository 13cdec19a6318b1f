"""The two Web API clients of a workspace, and the one rule for what a 429 does.

Slack answers 429 with ``Retry-After`` when a method's rate tier is exceeded. Every call the bot
makes is handled one of two ways, never both:

- **paced** (the reply strategies: ``chat.postMessage``/``chat.update`` of a streamed reply,
  ``chat.startStream``/``appendStream``/``stopStream``): the budgets in
  :mod:`bot.reply.ratelimit` pace these calls, and on a 429 the strategy itself penalises the
  bucket (so every reply and every instance holds back until ``Retry-After``) and waits. A
  client-level retry here would sleep first and retry behind the budget's back: the bucket would
  never learn of the 429, and the wait would be paid twice. So this client has no 429 retry.
- **patient** (everything else: the Bolt listeners' client, Stop/Retry button edits, crash
  recovery's ``chat.update``, notices, ``conversations.replies``, ``users.info``, files…): these
  calls are rare and unbudgeted; slack_sdk's own :class:`AsyncRateLimitErrorRetryHandler` waits
  ``Retry-After`` and tries again, when the wait is short. A long one (a tier exhausted for
  half a minute) fails at once, and the caller says so, rather than holding a listener.

Both retry a connection that could not be opened (nothing reached Slack). Only the patient
one also retries a connection lost mid-call (slack_sdk's :class:`AsyncConnectionErrorRetryHandler`
defaults): Slack may have counted that call already, so on the paced client the reply's own
retry (:mod:`bot.reply.calls`) makes it again, paying the budget for it like any attempt.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import aiohttp
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient

__all__ = ["MAX_RETRY_AFTER", "ShortRateLimitRetryHandler", "SlackClients", "web_clients"]

MAX_RETRY_AFTER = 10.0  # seconds: a longer Retry-After is reported, not waited out


class ShortRateLimitRetryHandler(AsyncRateLimitErrorRetryHandler):
    """slack_sdk's 429 retry (waits ``Retry-After`` plus up to 1 s of jitter), only when the
    wait is at most ``max_wait`` seconds."""

    def __init__(self, max_retry_count: int = 2, max_wait: float = MAX_RETRY_AFTER) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.max_wait = max_wait

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if not await super()._can_retry_async(
            state=state, request=request, response=response, error=error
        ):
            return False
        assert response is not None  # a 429 has a response
        return retry_after(response) <= self.max_wait


def retry_after(response: HttpResponse) -> float:
    """The response's ``Retry-After`` in seconds (1 when absent or unreadable, as slack_sdk)."""
    for name, values in response.headers.items():
        if name.lower() == "retry-after" and values:
            try:
                return float(values[0])
            except ValueError:
                return 1.0
    return 1.0


@dataclass(frozen=True, slots=True)
class SlackClients:
    paced: AsyncWebClient  # the reply strategies: their budgets handle a 429
    patient: AsyncWebClient  # everything else: slack_sdk retries a short 429


ClientFactory = Callable[[list[AsyncRetryHandler]], AsyncWebClient]


def web_clients(
    *, token: str | None = None, base_url: str, make: ClientFactory | None = None
) -> SlackClients:
    """One workspace's pair of clients (see the module docstring for which calls use which);
    ``make`` builds a client from its retry handlers (OAuth mode: the per-workspace client)."""

    def plain(handlers: list[AsyncRetryHandler]) -> AsyncWebClient:
        return AsyncWebClient(token=token, base_url=base_url, retry_handlers=handlers)

    build = make or plain

    never_sent = AsyncConnectionErrorRetryHandler(
        max_retry_count=2, error_types=[aiohttp.ClientConnectorError]
    )
    paced = build([never_sent])
    patient = build(
        [AsyncConnectionErrorRetryHandler(max_retry_count=2), ShortRateLimitRetryHandler()]
    )
    return SlackClients(paced=paced, patient=patient)
