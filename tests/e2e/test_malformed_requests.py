"""Correctly signed requests with malformed fields: a 4xx (or an ack over Socket Mode), and
nothing else: no 500, no GLM call, no Slack post, no error in the log.

The explicit cases are the crashers found in issue 11; before the shape check each one gave a
500, a KeyError/TypeError in a listener, or a GLM turn for a channel that does not exist.
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.conftest import SIGNING_SECRET, RunningBot
from tests.fakes import FakeGLM, FakeSlack, mention_event, sign
from tests.malformed import (
    DELETE,
    JSON,
    action_cases,
    broken,
    command_cases,
    command_form,
    event_cases,
    mention_envelope,
    stop_click,
)

SLACK_READS = {"auth.test", "users.info", "conversations.info", "apps.connections.open"}


async def post_json(bot: RunningBot, body: str) -> Any:
    headers = {"Content-Type": "application/json", **sign(SIGNING_SECRET, body)}
    return await bot.slack.raw(body.encode(), headers)


async def post_form(bot: RunningBot, form: dict[str, Any]) -> Any:
    body = urlencode(form)
    headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(SIGNING_SECRET, body)}
    return await bot.slack.raw(body.encode(), headers)


def assert_nothing_done(
    fake_slack: FakeSlack, fake_glm: FakeGLM, caplog: pytest.LogCaptureFixture
) -> None:
    assert fake_glm.requests == [], "no GLM turn for a malformed request"
    writes = [c.method for c in fake_slack.calls if c.method not in SLACK_READS]
    assert writes == [], f"no Slack post for a malformed request: {writes}"
    assert fake_slack.responses == [], "no response_url answer for a malformed request"
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], errors


async def assert_still_answers(bot: RunningBot, fake_glm: FakeGLM) -> None:
    await bot.slack.event(mention_event("a real question"))
    await bot.wait_handled(1)
    assert [r.user_text for r in fake_glm.requests] == ["a real question"]


# --------------------------------------------------------------- the crashers of issue 11


@pytest.mark.parametrize("missing", ["user_id", "team_id"])
async def test_slash_command_without_user_or_team_is_refused(
    running_bot: RunningBot,
    fake_slack: FakeSlack,
    fake_glm: FakeGLM,
    caplog: pytest.LogCaptureFixture,
    missing: str,
) -> None:
    form = broken(command_form(fake_slack.new_response_url()), (missing,), DELETE)
    resp = await post_form(running_bot, form)
    assert resp.status == 400 and missing in resp.json()["error"]
    assert resp.headers.get("X-Slack-No-Retry") == "1"
    assert_nothing_done(fake_slack, fake_glm, caplog)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("user", 5),
        ("user", True),
        ("user", ""),
        ("channel", 7),
        ("channel", ""),
        ("ts", "1e+308"),
        ("ts", 1700000000.5),
        ("text", 42),
        ("text", False),
        ("text", "x" * 40_001),
        # Slack omits a field it has no value for; it never sends null. A null is malformed,
        # not "absent": a mention whose text is null used to get the help text posted.
        ("text", None),
        ("user", None),
        ("channel", None),
        ("ts", None),
        ("thread_ts", None),
        ("team", None),
        ("subtype", None),
        ("files", None),
    ],
)
async def test_event_fields_of_the_wrong_type_or_form_start_nothing(
    running_bot: RunningBot,
    fake_slack: FakeSlack,
    fake_glm: FakeGLM,
    caplog: pytest.LogCaptureFixture,
    field: str,
    value: Any,
) -> None:
    resp = await post_json(
        running_bot, json.dumps(broken(mention_envelope(), ("event", field), value))
    )
    assert resp.status == 400, resp.text
    assert_nothing_done(fake_slack, fake_glm, caplog)
    await assert_still_answers(running_bot, fake_glm)


async def test_a_mention_whose_text_is_null_posts_nothing(
    running_bot: RunningBot,
    fake_slack: FakeSlack,
    fake_glm: FakeGLM,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Issue 14, defect 5: it was read as an empty mention and the help text went out."""
    resp = await post_json(
        running_bot, json.dumps(broken(mention_envelope(), ("event", "text"), None))
    )
    assert resp.status == 400
    assert resp.json()["error"] == "event: Value error, null where Slack leaves the field out: text"
    assert_nothing_done(fake_slack, fake_glm, caplog)
    assert fake_slack.messages("C0001") == []


@pytest.mark.parametrize(
    ("field", "value"),
    [(("actions", 0, "value"), None), (("container", "message_ts"), None)],
)
async def test_null_fields_of_a_button_click_are_refused(
    running_bot: RunningBot,
    fake_slack: FakeSlack,
    fake_glm: FakeGLM,
    caplog: pytest.LogCaptureFixture,
    field: tuple[Any, ...],
    value: Any,
) -> None:
    resp = await post_form(running_bot, {"payload": json.dumps(broken(stop_click(), field, value))})
    assert resp.status == 400, resp.text
    assert_nothing_done(fake_slack, fake_glm, caplog)


async def test_deeply_nested_json_is_a_400_not_a_recursion_error(
    running_bot: RunningBot,
    fake_slack: FakeSlack,
    fake_glm: FakeGLM,
    caplog: pytest.LogCaptureFixture,
) -> None:
    deep = '{"type": "event_callback", "event": ' + "[" * 100_000 + "]" * 100_000 + "}"
    resp = await post_json(running_bot, deep)
    assert resp.status == 400 and "deeper" in resp.json()["error"]
    payload = '{"type": "block_actions", "actions": ' + "[" * 50_000 + "]" * 50_000 + "}"
    resp = await post_form(running_bot, {"payload": payload})
    assert resp.status == 400 and "deeper" in resp.json()["error"]
    assert_nothing_done(fake_slack, fake_glm, caplog)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("team_id", 5),
        ("team_id", ["T0001"]),
        ("authorizations", 5),
        ("authorizations", [5]),
        ("authorizations", "T0001"),
        ("authorizations", [{"team_id": 3}]),
    ],
)
async def test_envelopes_bolt_cannot_parse_are_refused(
    running_bot: RunningBot,
    fake_slack: FakeSlack,
    fake_glm: FakeGLM,
    caplog: pytest.LogCaptureFixture,
    field: str,
    value: Any,
) -> None:
    resp = await post_json(running_bot, json.dumps(broken(mention_envelope(), (field,), value)))
    assert resp.status == 400, resp.text
    assert_nothing_done(fake_slack, fake_glm, caplog)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("user", 5),
        ("user", "U0001"),
        ("team", [1]),
        ("team", 5),
        ("actions", {}),
        ("actions", []),
        ("actions", [5]),
        ("actions", "glm_stop"),
    ],
)
async def test_block_actions_bolt_cannot_parse_are_refused(
    running_bot: RunningBot,
    fake_slack: FakeSlack,
    fake_glm: FakeGLM,
    caplog: pytest.LogCaptureFixture,
    field: str,
    value: Any,
) -> None:
    resp = await post_form(
        running_bot, {"payload": json.dumps(broken(stop_click(), (field,), value))}
    )
    assert resp.status == 400, resp.text
    assert_nothing_done(fake_slack, fake_glm, caplog)


# --------------------------------------------------------------- the whole catalogue


async def test_every_malformed_shape_over_http(
    running_bot: RunningBot,
    fake_slack: FakeSlack,
    fake_glm: FakeGLM,
    caplog: pytest.LogCaptureFixture,
) -> None:
    response_url = fake_slack.new_response_url()
    for label, envelope in event_cases():
        resp = await post_json(running_bot, json.dumps(envelope))
        assert resp.status == 400, f"{label}: {resp.status} {resp.text[:200]}"
    for label, payload in action_cases():
        resp = await post_form(running_bot, {"payload": json.dumps(payload)})
        assert resp.status == 400, f"{label}: {resp.status} {resp.text[:200]}"
    for label, form in command_cases(response_url):
        resp = await post_form(running_bot, form)
        assert resp.status == 400, f"{label}: {resp.status} {resp.text[:200]}"
    assert_nothing_done(fake_slack, fake_glm, caplog)
    await assert_still_answers(running_bot, fake_glm)


async def test_every_malformed_shape_over_socket_mode(
    bot_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    fake_slack: FakeSlack,
    fake_glm: FakeGLM,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("SLACK_APP_TOKEN", fake_slack.app_token)
    monkeypatch.delenv("SLACK_SIGNING_SECRET")
    bot = await RunningBot().start()
    try:
        await fake_slack.wait_for(lambda f: f.sockets, what="the Socket Mode connection")
        response_url = fake_slack.new_response_url()
        cases: list[tuple[str, str, JSON]] = [
            *(("events_api", label, p) for label, p in event_cases()),
            *(("interactive", label, p) for label, p in action_cases()),
            *(("slash_commands", label, p) for label, p in command_cases(response_url)),
            (
                "slash_commands",
                "command user_id=5",
                broken(command_form(response_url), ("user_id",), 5),
            ),
        ]
        for kind, label, payload in cases:
            envelope_id = await fake_slack.socket_send(payload, kind=kind)
            await fake_slack.wait_for(
                lambda f, e=envelope_id: any(a.get("envelope_id") == e for a in f.socket_acks),
                timeout=5,
                what=f"the ack of {label}",
            )
        # Nested past our limit but within json's: acknowledged and dropped.
        deep = broken(mention_envelope(), ("event", "blocks"), json.loads("[" * 100 + "]" * 100))
        envelope_id = await fake_slack.socket_send(deep)
        await fake_slack.wait_for(
            lambda f: any(a.get("envelope_id") == envelope_id for a in f.socket_acks),
            timeout=5,
            what="the ack of a deeply nested envelope",
        )
        # Nested past what json.loads survives: the SDK logs it and carries on.
        frame = '{"type": "events_api", "envelope_id": "x", "payload": ' + "[" * 100_000
        await fake_slack.sockets[-1].send_str(frame)
        assert_nothing_done(fake_slack, fake_glm, caplog)
        await fake_slack.socket_send(mention_envelope("a real question"))
        await bot.wait_handled(1)
    finally:
        await bot.stop()
    assert [r.user_text for r in fake_glm.requests] == ["a real question"]
