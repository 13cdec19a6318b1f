"""Self-test of the loopback fakes: they must speak the real wire formats, or e2e tests lie."""

from __future__ import annotations

import errno
import json
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes import (
    ERROR_MESSAGES,
    FakeGLM,
    FakeSlack,
    Reply,
    SlackSender,
    mention_event,
    sign,
)
from tests.fakes.slack import DROPPED

TOKEN = "xoxb-test-token"
GLM_KEY = "test-glm-key.secret"
ASSISTANT = "65940acff94777010aa6b796"


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """slack_sdk reads *_PROXY itself and ignores NO_PROXY, so loopback calls would be proxied."""
    for var in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    fake = await FakeSlack().start()
    yield fake
    await fake.stop()


@pytest.fixture
async def glm() -> AsyncIterator[FakeGLM]:
    fake = await FakeGLM().start()
    yield fake
    await fake.stop()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(trust_env=False) as s:
        yield s


def client(slack: FakeSlack, token: str = TOKEN) -> AsyncWebClient:
    return AsyncWebClient(token=token, base_url=slack.api_url)


async def sse(
    session: aiohttp.ClientSession, glm: FakeGLM, body: dict, key: str | None = GLM_KEY
) -> tuple[int, str, list[str]]:
    """POST /assistant and return (status, content-type, raw SSE event payloads)."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    async with session.post(f"{glm.base_url}/assistant", json=body, headers=headers) as resp:
        raw = (await resp.read()).decode()
        if resp.status != 200:
            return resp.status, resp.content_type, [raw]
        assert raw.endswith("\n\n")
        events = raw.split("\n\n")[:-1]
        assert all(e.startswith("data: ") and "\n" not in e for e in events), raw
        return resp.status, resp.content_type, [e.removeprefix("data: ") for e in events]


def ask(text: str, **extra: object) -> dict:
    return {"assistant_id": ASSISTANT, "messages": [{"role": "user", "content": text}]} | {
        "stream": True,
        **extra,
    }


async def test_slack_state_through_slack_sdk(slack: FakeSlack) -> None:
    web_client = client(slack)
    auth = await web_client.auth_test()
    assert (auth["user_id"], auth["bot_id"], auth["team_id"]) == ("UBOT", "BBOT", "T0001")

    root = slack.add_message("C0001", "hello bot", user="U0001")
    posted = await web_client.chat_postMessage(channel="C0001", thread_ts=root, text="…")
    await web_client.chat_update(channel="C0001", ts=posted["ts"], text="final answer")
    msg = slack.message("C0001", posted["ts"])
    assert (
        msg is not None
        and msg.text == "final answer"
        and [e["text"] for e in msg.edits] == ["final answer"]
    )
    assert [m.text for m in slack.thread_replies_by_bot("C0001", root)] == ["final answer"]
    assert float(posted["ts"]) > float(root)

    # conversations.replies pages oldest-first through slack_sdk's own cursor iteration
    for i in range(3):
        slack.add_message("C0001", f"reply {i}", user="U0002", thread_ts=root)
    texts, more = [], []
    async for page in await web_client.conversations_replies(channel="C0001", ts=root, limit=2):
        texts += [m["text"] for m in page["messages"]]  # slack_sdk reuses one response object
        more.append(page["has_more"])
    assert texts == ["hello bot", "final answer", "reply 0", "reply 1", "reply 2"]
    assert more == [True, True, False]

    info = await web_client.users_info(user="U0001", include_locale=True)
    assert info["user"]["locale"] == "en-US" and info["user"]["profile"]["display_name"] == "alice"
    await web_client.assistant_threads_setStatus(
        channel_id="C0001", thread_ts=root, status="is thinking…"
    )
    assert slack.statuses[("C0001", root)] == "is thinking…"

    with pytest.raises(SlackApiError) as bad:
        await client(slack, "xoxb-wrong").auth_test()
    assert bad.value.response["error"] == "invalid_auth"
    with pytest.raises(SlackApiError) as missing:
        await web_client.chat_update(channel="C0001", ts="1.000001", text="x")
    assert missing.value.response["error"] == "message_not_found"


async def test_slack_fault_injection_and_waiting(slack: FakeSlack) -> None:
    web_client = client(slack)
    slack.fail("chat.postMessage", retry_after=7)
    with pytest.raises(SlackApiError) as limited:
        await web_client.chat_postMessage(channel="C0001", text="hi")
    assert limited.value.response.status_code == 429
    assert limited.value.response.headers["Retry-After"] == "7"
    assert limited.value.response["error"] == "ratelimited"
    assert slack.messages("C0001") == []  # a failed call is not applied

    slack.fail("chat.update", "msg_too_long", when=lambda a: a.get("text") == "big")
    ok = await web_client.chat_postMessage(channel="C0001", text="hi")
    await web_client.chat_update(channel="C0001", ts=ok["ts"], text="small")
    with pytest.raises(SlackApiError) as too_long:
        await web_client.chat_update(channel="C0001", ts=ok["ts"], text="big")
    assert too_long.value.response.status_code == 200
    assert too_long.value.response["error"] == "msg_too_long"
    with pytest.raises(SlackApiError) as real_limit:
        await web_client.chat_update(channel="C0001", ts=ok["ts"], text="x" * 4001)
    assert real_limit.value.response["error"] == "msg_too_long"

    call = await slack.wait_for_call("chat.update", lambda c: c.args.get("text") == "small")
    assert call.ok and call.headers["Authorization"] == f"Bearer {TOKEN}"
    with pytest.raises(AssertionError, match=r"chat\.delete"):
        await slack.wait_for_call("chat.delete", timeout=0.05)

    url = slack.new_response_url()
    async with aiohttp.ClientSession() as s, s.post(url, json={"text": "later"}) as r:
        assert r.status == 200
    assert (await slack.wait_for(lambda f: f.responses, what="respond()"))[0].body == {
        "text": "later"
    }


async def test_slack_drop_resets_the_connection_without_an_answer(slack: FakeSlack) -> None:
    """``fail(..., drop=True)``: the client gets a connection reset, nothing is applied, and
    the next call is answered as usual."""
    slack.fail("chat.postMessage", drop=True)
    no_retries = AsyncWebClient(token=TOKEN, base_url=slack.api_url, retry_handlers=[])
    with pytest.raises(aiohttp.ClientOSError) as reset:
        await no_retries.chat_postMessage(channel="C0001", text="lost")
    assert reset.value.errno == errno.ECONNRESET
    assert slack.messages("C0001") == []
    (call,) = slack.calls_to("chat.postMessage")
    assert call.done and call.status == DROPPED and call.response is None and not call.ok
    assert "chat.postMessage -> dropped" in slack.describe_calls()
    assert (await no_retries.chat_postMessage(channel="C0001", text="kept"))["ok"]


async def test_slack_rate_limit_enforcement(slack: FakeSlack) -> None:
    now = [0.0]
    slack.enforce_rate_limits(
        update_per_minute=60, update_burst=2, post_burst=1, clock=lambda: now[0]
    )
    web_client = client(slack)
    posted = await web_client.chat_postMessage(channel="C0001", text="a")
    with pytest.raises(SlackApiError) as post_limited:
        await web_client.chat_postMessage(channel="C0001", text="b")
    assert post_limited.value.response.status_code == 429
    await web_client.chat_postMessage(channel="C0002", text="other channel has its own budget")

    for text in ("1", "2"):
        await web_client.chat_update(channel="C0001", ts=posted["ts"], text=text)
    with pytest.raises(SlackApiError) as limited:
        await web_client.chat_update(channel="C0001", ts=posted["ts"], text="3")
    assert limited.value.response.headers["Retry-After"] == "1"
    assert slack.message("C0001", posted["ts"]).text == "2"  # not applied
    assert slack.rate_limited == {"chat.postMessage": 1, "chat.update": 1}
    now[0] += 1.0
    await web_client.chat_update(channel="C0001", ts=posted["ts"], text="3")


async def test_glm_sse_format_and_conversations(
    glm: FakeGLM, session: aiohttp.ClientSession
) -> None:
    glm.enqueue(
        Reply(
            chunks=["总结", "。"],
            tool_calls=[(1, Reply.tool("web_browser", input='search("x")'))],
            usage={"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
        )
    )
    status, ctype, events = await sse(session, glm, ask("hi", request_id="req-000001"))
    assert (status, ctype) == (200, "text/event-stream")
    assert "[DONE]" not in events
    chunks = [json.loads(e) for e in events]
    compact = [json.dumps(c, ensure_ascii=False, separators=(",", ":")) for c in chunks]
    assert compact == events  # compact JSON, raw UTF-8, keys in the observed order
    assert [list(c) for c in chunks[:-1]] == [
        ["id", "created", "choices", "status", "assistant_id", "conversation_id"]
    ] * 3
    assert list(chunks[-1]) == [
        "id", "created", "choices", "usage", "status", "assistant_id", "conversation_id"
    ]  # fmt: skip
    assert [c["status"] for c in chunks] == ["in_process"] * 3 + ["completed"]
    assert chunks[0]["choices"][0]["delta"] == {
        "role": "assistant",
        "content": "总结",
        "metadata": {},
    }
    assert chunks[1]["choices"][0]["delta"] == {
        "role": "tool",
        "tool_calls": [
            {"index": 0, "type": "web_browser", "web_browser": {"input": 'search("x")'}}
        ],
        "metadata": {},
    }
    assert chunks[-1]["choices"] == [
        {"index": 0, "finish_reason": "stop", "delta": {"role": "assistant", "metadata": {}}}
    ]
    assert chunks[-1]["usage"] == {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
    assert len({c["id"] for c in chunks}) == 1 and len(chunks[0]["id"]) == 30
    created = [c["created"] for c in chunks]
    assert created == sorted(set(created)) and created[0] > 10**12  # milliseconds, increasing
    cid = chunks[0]["conversation_id"]
    assert len(cid) == 24 and int(cid, 16) and {c["conversation_id"] for c in chunks} == {cid}

    _, _, events2 = await sse(session, glm, ask("again", conversation_id=cid))
    follow = [json.loads(e) for e in events2]
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in follow) == "Echo: again"
    assert follow[0]["conversation_id"] == cid
    assert [m["content"] for m in glm.conversations[cid]] == ["hi", "again"]
    assert (await glm.wait_for_requests(2))[1].body["conversation_id"] == cid


async def test_glm_errors_have_documented_bodies(
    glm: FakeGLM, session: aiohttp.ClientSession
) -> None:
    async def code_of(body: dict, key: str | None = GLM_KEY) -> tuple[int, dict]:
        status, _, (raw,) = await sse(session, glm, body, key)
        return status, json.loads(raw)

    assert await code_of(ask("x"), key=None) == (
        401,
        {
            "error": {
                "code": "1001",
                "message": "Header中未收到Authorization参数，无法进行身份验证。",
            }
        },
    )
    assert (await code_of(ask("x"), key="nope"))[1]["error"]["code"] == "1002"
    assert await code_of(ask("x") | {"stream": False}) == (
        400,
        {"error": {"code": "1212", "message": "当前模型不支持SYNC调用方式。"}},
    )
    assert (await code_of(ask("x", user_id="short")))[1]["error"]["code"] == "1214"
    assert await code_of(ask("x", conversation_id="66b1dec43858e2cffd41c92d")) == (
        400,
        {"error": {"code": "1214", "message": "conversation_id 无效"}},
    )

    glm.enqueue(
        Reply.error(429, "1302"),
        Reply.error(429, "1113", flat=True),
        Reply.error(400, "1301"),
    )
    assert await code_of(ask("x")) == (
        429,
        {
            "error": {
                "code": "1302",
                "message": "您当前使用该API的并发数过高，请降低并发，或联系客服增加限额。",
            }
        },
    )
    assert await code_of(ask("x")) == (
        429,
        {"code": 1113, "message": "您的账户已欠费，请充值后重试。"},
    )
    status, body = await code_of(ask("x"))
    assert status == 400 and body["error"]["code"] == "1301"

    async with session.post(
        f"{glm.base_url}/assistant/list",
        json={"assistant_id_list": []},
        headers={"Authorization": f"Bearer {GLM_KEY}"},
    ) as resp:
        listing = await resp.json()
    assert listing["success"] is True and len(listing["data"]) == 12


async def test_glm_midstream_failure_drop_and_stall(
    glm: FakeGLM, session: aiohttp.ClientSession
) -> None:
    glm.enqueue(Reply(chunks=["a", "b"], fail_after=1), Reply(chunks=["a", "b"], drop_after=1))
    _, _, events = await sse(session, glm, ask("x"))
    last = json.loads(events[-1])
    assert len(events) == 2 and last["status"] == "failed"
    assert last["choices"][0]["finish_reason"] == "sensitive"
    assert last["last_error"]["code"] == "1301" and "usage" not in last

    with pytest.raises(aiohttp.ClientPayloadError):
        await sse(session, glm, ask("x"))

    stall = Reply(chunks=["a", "b"], stall_after=1)
    glm.enqueue(stall)
    headers = {"Authorization": f"Bearer {GLM_KEY}"}
    async with session.post(f"{glm.base_url}/assistant", json=ask("x"), headers=headers) as resp:
        first = await resp.content.readuntil(b"\n\n")
        assert json.loads(first[6:])["choices"][0]["delta"]["content"] == "a"
        stream = await glm.wait_for_stream_state("stalled", n=3)
        assert stream.text == "a"
        assert stall.gate is not None
        stall.gate.set()
        rest = (await resp.read()).decode()
    assert json.loads(rest.split("\n\n")[-2][6:])["status"] == "completed"
    assert (await glm.wait_for_stream_state("completed", n=3)).text == "ab"

    glm.enqueue(Reply(chunks=["a"], stall_after=0))
    async with session.post(f"{glm.base_url}/assistant", json=ask("x"), headers=headers) as resp:
        await glm.wait_for_stream_start(4)
        resp.close()  # the "stop" button: the bot hangs up mid-stream
    await glm.wait_for_stream_state("client_closed", n=4)


async def test_glm_stream_endings_and_bad_events(
    glm: FakeGLM, session: aiohttp.ClientSession
) -> None:
    glm.enqueue(
        Reply(chunks=["a"], done_marker=True),
        Reply(chunks=["a"], final_chunk=False),
        Reply(chunks=["a", "b"], garbage_after=1),
        Reply(chunks=["a", "b"], error_after=1, error_code="1302"),
    )
    _, _, events = await sse(session, glm, ask("x"))
    assert events[-1] == "[DONE]" and json.loads(events[-2])["status"] == "completed"

    _, _, events = await sse(session, glm, ask("x"))
    assert [json.loads(e)["status"] for e in events] == ["in_process"], "EOF, no final chunk"

    _, _, events = await sse(session, glm, ask("x"))
    assert len(events) == 4  # "a", the half chunk, "b", completed
    with pytest.raises(ValueError):
        json.loads(events[1])
    assert events[1].startswith('{"id":')

    _, _, events = await sse(session, glm, ask("x"))
    assert len(events) == 2
    assert json.loads(events[1]) == {"error": {"code": "1302", "message": ERROR_MESSAGES["1302"]}}


async def test_signed_requests_reach_a_real_bolt_app(slack: FakeSlack) -> None:
    secret = "signing-secret"
    headers = sign(secret, '{"a":1}', ts=1700000000)
    verifier = SignatureVerifier(secret, clock=type("C", (), {"now": lambda self: 1700000000})())
    assert verifier.is_valid(
        '{"a":1}', headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"]
    )

    app = AsyncApp(
        client=AsyncWebClient(token=TOKEN, base_url=slack.api_url), signing_secret=secret
    )

    @app.event("app_mention")
    async def on_mention(event: dict, say) -> None:  # type: ignore[no-untyped-def]
        await say(text=f"got: {event['text']}", thread_ts=event["ts"])

    async def handle(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await app.async_dispatch(await to_bolt_request(request)))

    web_app = web.Application()
    web_app.router.add_post("/slack/events", handle)
    runner = web.AppRunner(web_app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/slack/events"
        async with aiohttp.ClientSession() as s:
            sender = SlackSender(url, secret, s)
            event = mention_event("hello")
            assert (await sender.event(event)).status == 200
            call = await slack.wait_for_call("chat.postMessage")
            assert call.args["text"] == "got: <@UBOT> hello"
            assert call.args["thread_ts"] == event["ts"]
            assert (await sender.raw(b"{}", {"Content-Type": "application/json"})).status == 401
    finally:
        await runner.cleanup()


# -- files ---------------------------------------------------------------------------------------


async def test_private_file_urls_need_the_token_and_serve_a_sign_in_page_without(
    slack: FakeSlack, session: aiohttp.ClientSession
) -> None:
    obj = slack.add_file("a.csv", b"x,y\n1,2\n", mimetype="text/csv")
    url = obj["url_private_download"]
    async with session.get(url, headers={"Authorization": f"Bearer {TOKEN}"}) as resp:
        assert (resp.status, await resp.read()) == (200, b"x,y\n1,2\n")
        assert resp.headers["Content-Type"].startswith("text/csv")
    async with session.get(url) as resp:  # Slack answers 200 with HTML, not 401
        assert resp.status == 200 and resp.content_type == "text/html"
        assert (await resp.read()).startswith(b"<!DOCTYPE html>")
    slack.files_read_scope = False
    async with session.get(url, headers={"Authorization": f"Bearer {TOKEN}"}) as resp:
        assert resp.content_type == "text/html"
    assert [d.served for d in slack.downloads] == ["file", "sign_in_page", "sign_in_page"]
    info = await client(slack).files_info(file=obj["id"])
    assert info["file"]["url_private"] == obj["url_private"]


async def test_slack_sdks_files_upload_v2_works_against_the_fake(slack: FakeSlack) -> None:
    """The real client drives the three-step external upload; the file lands in the thread."""
    root = slack.add_message("C0001", "draw")
    resp = await client(slack).files_upload_v2(
        content=b"\x89PNG\r\n\x1a\nbytes", filename="pig.png", channel="C0001", thread_ts=root
    )
    assert resp["ok"]
    (shared,) = slack.shared_files("C0001", root)
    assert shared.content == b"\x89PNG\r\n\x1a\nbytes" and shared.name == "pig.png"
    with pytest.raises(SlackApiError) as err:
        await client(slack).files_completeUploadExternal(files=[{"id": "FNOPE"}])
    assert err.value.response["error"] == "file_not_found"


async def test_glm_files_upload_is_multipart_and_attachments_must_exist(
    glm: FakeGLM, session: aiohttp.ClientSession
) -> None:
    headers = {"Authorization": f"Bearer {GLM_KEY}"}
    form = aiohttp.FormData()
    form.add_field("purpose", "assistant")
    form.add_field("file", b"a,b\n", filename="t.csv", content_type="text/csv")
    async with session.post(f"{glm.base_url}/files", data=form, headers=headers) as resp:
        body = await resp.json()
    assert resp.status == 200 and body["object"] == "file" and body["bytes"] == 4
    assert glm.files[body["id"]].content == b"a,b\n"
    refused = aiohttp.FormData()
    refused.add_field("purpose", "nonsense")
    refused.add_field("file", b"a", filename="t.csv")
    async with session.post(f"{glm.base_url}/files", data=refused, headers=headers) as resp:
        assert resp.status == 400 and (await resp.json())["error"]["code"] == "1214"
    ok = {"assistant_id": ASSISTANT, "messages": [{"role": "user", "content": "hi"}]}
    status, _, _ = await sse(
        session, glm, {**ok, "stream": True, "attachments": [{"file_id": body["id"]}]}
    )
    assert status == 200
    status, _, _ = await sse(
        session, glm, {**ok, "stream": True, "attachments": [{"file_id": "x"}]}
    )
    assert status == 400


async def test_glm_file_host_serves_outputs_and_redirects(
    glm: FakeGLM, session: aiohttp.ClientSession
) -> None:
    url = glm.host_file("a/b.png", b"\x89PNG")
    bounce = glm.host_redirect("c.png", url)
    async with session.get(bounce, allow_redirects=False) as resp:
        assert resp.status == 302 and resp.headers["Location"] == url
    async with session.get(bounce) as resp:
        assert await resp.read() == b"\x89PNG"


async def test_slack_agent_surface_methods_validate_like_slack(slack: FakeSlack) -> None:
    """setSuggestedPrompts takes 1–4 {title, message}; with thread_ts an agent app's call is
    a silent no-op; context_actions must hold well-formed feedback buttons; a bot reads only
    the history of channels it is in."""
    c = client(slack)
    prompt = {"title": "t", "message": "m"}
    for bad in ([], [prompt] * 5, [{"title": "t"}]):
        with pytest.raises(SlackApiError) as err:
            await c.assistant_threads_setSuggestedPrompts(channel_id="D0001", prompts=bad)
        assert err.value.response["error"] == "invalid_arguments"
    await c.assistant_threads_setSuggestedPrompts(
        channel_id="D0001", prompts=[prompt], thread_ts="1.2"
    )
    assert "D0001" not in slack.suggested_prompts
    await c.assistant_threads_setSuggestedPrompts(channel_id="D0001", prompts=[prompt], title="x")
    assert slack.suggested_prompts["D0001"] == {"title": "x", "prompts": [prompt]}

    half = {
        "type": "context_actions",
        "elements": [
            {
                "type": "feedback_buttons",
                "positive_button": {"text": {"type": "plain_text", "text": "👍"}, "value": "g"},
            }
        ],
    }
    with pytest.raises(SlackApiError) as err:
        await c.chat_postMessage(channel="C0001", text="x", blocks=[half])
    assert err.value.response["error"] == "invalid_blocks"

    slack.add_message("C0001", "one")
    slack.add_message("C0001", "two")
    page = await c.conversations_history(channel="C0001", limit=1)
    assert [m["text"] for m in page["messages"]] == ["two"] and page["has_more"]
    slack.channels["C0001"]["is_member"] = False
    with pytest.raises(SlackApiError) as err:
        await c.conversations_history(channel="C0001")
    assert err.value.response["error"] == "not_in_channel"


async def test_slack_native_streams_refuse_and_expire_like_slack(slack: FakeSlack) -> None:
    """Channel streams need recipient ids; Slack closes idle streams on its own, and a stream
    stopped once takes no more text (§2.7)."""
    c = client(slack)
    with pytest.raises(SlackApiError) as err:
        await c.chat_startStream(channel="C0001", thread_ts="1.1", markdown_text="x")
    assert err.value.response["error"] == "missing_recipient_user_id"
    dm = await c.chat_startStream(channel="D0001", thread_ts="1.1", markdown_text="a")
    await c.chat_stopStream(channel="D0001", ts=dm["ts"], markdown_text="b")
    with pytest.raises(SlackApiError) as err:
        await c.chat_appendStream(channel="D0001", ts=dm["ts"], markdown_text="c")
    assert err.value.response["error"] == "message_not_in_streaming_state"
    now = [0.0]
    slack._stream_clock = lambda: now[0]
    slack.stream_idle_timeout = 30
    live = await c.chat_startStream(
        channel="C0001",
        thread_ts="1.1",
        markdown_text="a",
        recipient_user_id="U0001",
        recipient_team_id="T0001",
    )
    await c.chat_appendStream(channel="C0001", ts=live["ts"], markdown_text="b")
    now[0] = 31
    with pytest.raises(SlackApiError) as err:
        await c.chat_appendStream(channel="C0001", ts=live["ts"], markdown_text="c")
    assert err.value.response["error"] == "message_not_in_streaming_state"
    assert slack.message("C0001", live["ts"]).text == "ab"


async def test_slack_views_publish_checks_the_view_like_slack(slack: FakeSlack) -> None:
    web_client = client(slack)
    good = {
        "type": "home",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x"}}],
    }
    published = await web_client.views_publish(user_id="U0001", view=good)
    assert published["view"]["type"] == "home" and slack.home_views["U0001"] == good
    too_long = {
        "type": "home",
        "blocks": [{"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}],
    }
    for bad, error in (
        (too_long, "invalid_arguments"),
        ({"type": "modal", "blocks": good["blocks"]}, "invalid_arguments"),
        ({"type": "home", "blocks": []}, "invalid_arguments"),
    ):
        with pytest.raises(SlackApiError) as caught:
            await web_client.views_publish(user_id="U0001", view=bad)
        assert caught.value.response["error"] == error
    with pytest.raises(SlackApiError) as caught:
        await web_client.views_publish(user_id="U0404", view=good)
    assert caught.value.response["error"] == "not_found"
