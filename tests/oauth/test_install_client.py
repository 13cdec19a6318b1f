"""The install flow's client tells Slack's refusals (``SlackApiError``, shown as a refused
code) from Slack failing or not answering (``SlackUnavailable``, shown as "try again"), and
never sends a code exchange twice once it may have reached Slack."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web
from slack_sdk.errors import SlackApiError

from bot.oauth.flow import InstallClient, SlackUnavailable, install_client
from tests.bot_process import free_port
from tests.fakes import FakeSlack
from tests.fakes.slack import DROPPED
from tests.fakes.slack_oauth import exchanging_code


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    slack = await FakeSlack().start()
    yield slack
    await slack.stop()


async def exchange(client: InstallClient, fake: FakeSlack) -> object:
    return await client.oauth_v2_access(
        client_id=fake.client_id, client_secret=fake.client_secret, code="1.abc"
    )


async def test_slack_refusing_the_code_is_still_a_refusal(fake: FakeSlack) -> None:
    with pytest.raises(SlackApiError) as refused:
        await exchange(install_client(fake.api_url), fake)  # an unknown code
    assert refused.value.response["error"] == "invalid_code"


@pytest.mark.parametrize(("status", "error"), [(500, "internal_error"), (429, "ratelimited")])
async def test_an_outage_or_a_rate_limit_is_slack_unavailable(
    fake: FakeSlack, status: int, error: str
) -> None:
    fake.fail("oauth.v2.access", error, status=status, retry_after=None, when=exchanging_code)
    with pytest.raises(SlackUnavailable) as failed:
        await exchange(install_client(fake.api_url), fake)
    assert (failed.value.reason, failed.value.status) == ("slack_error", 502)
    assert failed.value.cause == f"oauth.v2.access answered HTTP {status} {error}"


async def test_a_reset_is_slack_unreachable_and_the_exchange_is_not_sent_again(
    fake: FakeSlack,
) -> None:
    fake.fail("oauth.v2.access", drop=True, times=2, when=exchanging_code)
    with pytest.raises(SlackUnavailable) as failed:
        await exchange(install_client(fake.api_url), fake)
    assert (failed.value.reason, failed.value.status) == ("slack_unreachable", 502)
    assert "ClientOSError" in failed.value.cause
    assert [c.status for c in fake.calls_to("oauth.v2.access")] == [DROPPED]


async def test_a_connection_refused_is_slack_unreachable() -> None:
    client = install_client(f"http://127.0.0.1:{free_port()}/api/")  # nothing listens there
    with pytest.raises(SlackUnavailable) as failed:
        await client.auth_test(token="xoxb-not-sent")
    assert (failed.value.reason, failed.value.status) == ("slack_unreachable", 502)
    assert "ClientConnectorError" in failed.value.cause


async def test_a_timeout_is_slack_unreachable_with_a_gateway_timeout(fake: FakeSlack) -> None:
    fake.delay("auth.test", 5)
    client = InstallClient(token=None, base_url=fake.api_url, timeout=1)
    with pytest.raises(SlackUnavailable) as failed:
        await client.auth_test(token="xoxb-test-token")
    assert (failed.value.reason, failed.value.status) == ("slack_unreachable", 504)


Answer = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def html_503(request: web.Request) -> web.StreamResponse:
    return web.Response(
        status=503, text="<html>Service Unavailable</html>", content_type="text/html"
    )


async def broken_json_502(request: web.Request) -> web.StreamResponse:
    return web.Response(status=502, text="{not json", content_type="application/json")


@pytest.mark.parametrize(("answer", "status"), [(html_503, 503), (broken_json_502, 502)])
async def test_a_proxy_s_error_page_is_slack_unavailable(answer: Answer, status: int) -> None:
    """What a load balancer in front of Slack answers in an outage: no Slack JSON at all."""
    app = web.Application()
    app.router.add_route("*", "/api/{method}", answer)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        with pytest.raises(SlackUnavailable) as failed:
            await install_client(f"http://127.0.0.1:{port}/api/").oauth_v2_access(
                client_id="1.2", client_secret="s", code="1.abc"
            )
    finally:
        await runner.cleanup()
    assert failed.value.reason == "slack_error"
    assert failed.value.cause == f"oauth.v2.access answered HTTP {status}"
