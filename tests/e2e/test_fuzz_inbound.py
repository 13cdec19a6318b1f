"""Hypothesis over every inbound path (events, slash command, interactions; HTTP and Socket Mode).

Property 1: a valid payload with one field a handler uses replaced by a value of the wrong type
or form is refused (HTTP 400; over Socket Mode acknowledged and dropped), and nothing is done:
no GLM turn, no Slack post, no response_url answer, no error in the log.

Property 2: arbitrary JSON grafted anywhere into a valid payload never gives a 5xx or an error
in the log, and whatever the bot refuses it refuses before doing anything.

The bot runs on the test's event loop; Hypothesis drives it from a worker thread and waits on
each request's future, bounded.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import SIGNING_SECRET, RunningBot
from tests.fakes import FakeGLM, FakeSlack, sign
from tests.malformed import (
    JSON,
    broken,
    command_form,
    context_changed_envelope,
    dm_envelope,
    feedback_payload,
    home_opened_envelope,
    mention_envelope,
    stop_click,
)

SLACK_READS = {"auth.test", "users.info", "conversations.info", "apps.connections.open"}
EXAMPLES = 200

USER = r"[UW][A-Z0-9]{2,31}"
CHANNEL = r"[CDG][A-Z0-9]{2,31}"
TEAM = r"[TE][A-Z0-9]{2,31}"
TS = r"[0-9]{1,12}\.[0-9]{1,9}"
EVENT_ID = r"Ev[A-Za-z0-9]{1,62}"

_text = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=40)
_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _text
json_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
    max_leaves=8,
)
not_a_string = json_values.filter(lambda v: v is not None and not isinstance(v, str))
# Slack leaves out a field it has no value for and never sends null in the shapes we act on.
null = st.none()
too_long = st.integers(40_001, 41_000).map(lambda n: "x" * n)


def not_matching(pattern: str) -> st.SearchStrategy[Any]:
    wrong_form = _text.filter(lambda s: re.fullmatch(pattern, s) is None)
    return not_a_string | wrong_form


# (payload builder, field path, bad values)
EVENT_FIELDS: list[tuple[Callable[[], JSON], tuple[Any, ...], st.SearchStrategy[Any]]] = [
    (mention_envelope, ("event", "user"), not_matching(USER) | null),
    (dm_envelope, ("event", "user"), not_matching(USER)),
    (mention_envelope, ("event", "channel"), not_matching(CHANNEL) | null),
    (dm_envelope, ("event", "channel"), not_matching(CHANNEL)),
    (mention_envelope, ("event", "ts"), not_matching(TS) | null),
    (dm_envelope, ("event", "thread_ts"), not_matching(TS) | null),
    (mention_envelope, ("event", "text"), not_a_string | too_long | null),
    (dm_envelope, ("event", "text"), not_a_string | too_long | null),
    (mention_envelope, ("event", "team"), not_matching(TEAM) | null),
    (mention_envelope, ("team_id",), not_matching(TEAM) | st.none()),
    (mention_envelope, ("event_id",), not_matching(EVENT_ID) | st.none()),
    (mention_envelope, ("authorizations",), json_values.filter(lambda v: v and v != [])),
    (mention_envelope, ("authorizations", 0, "team_id"), not_matching(TEAM)),
    (mention_envelope, ("authorizations", 0, "user_id"), not_matching(USER) | st.none()),
    (mention_envelope, ("authorizations", 0), st.just({})),
    (mention_envelope, ("event",), json_values.filter(lambda v: not isinstance(v, dict))),
]
ACTION_FIELDS: list[tuple[tuple[Any, ...], st.SearchStrategy[Any]]] = [
    (("user",), json_values.filter(lambda v: not isinstance(v, dict) or "id" not in v)),
    (("user", "id"), not_matching(USER) | st.none()),
    (("team", "id"), not_matching(TEAM) | st.none()),
    (("channel", "id"), not_matching(CHANNEL) | st.none()),
    (("container", "channel_id"), not_matching(CHANNEL) | null),
    (("container", "message_ts"), not_matching(TS) | null),
    (("actions",), json_values.filter(lambda v: not (isinstance(v, list) and v))),
    (("actions", 0), json_values.filter(lambda v: not isinstance(v, dict))),
    (("actions", 0, "action_id"), not_a_string | st.none() | st.just("")),
    (("actions", 0, "value"), not_a_string | null),
    (("user",), st.just("U0001")),  # Bolt reads a string; every handler needs the object
    (
        ("message", "blocks"),
        st.lists(not_a_string.filter(lambda v: not isinstance(v, dict)), min_size=1, max_size=3),
    ),
]
COMMAND_FIELDS: list[tuple[str, str]] = [
    ("user_id", USER),
    ("team_id", TEAM),
    ("channel_id", CHANNEL),
]


@st.composite
def bad_event(draw: st.DrawFn) -> JSON:
    build, path, values = draw(st.sampled_from(EVENT_FIELDS))
    return broken(build(), path, draw(values))


@st.composite
def bad_action(draw: st.DrawFn) -> JSON:
    path, values = draw(st.sampled_from(ACTION_FIELDS))
    return broken(stop_click(), path, draw(values))


@st.composite
def bad_command(draw: st.DrawFn, *, response_url: str, any_json: bool) -> JSON:
    key, pattern = draw(st.sampled_from(COMMAND_FIELDS))
    # Over HTTP a form value is always a string; over Socket Mode it can be any JSON.
    value = draw(
        not_matching(pattern)
        if any_json
        else _text.filter(lambda s: re.fullmatch(pattern, s) is None)
    )
    return broken(command_form(response_url), (key,), value)


@st.composite
def grafted(draw: st.DrawFn, valid: JSON) -> JSON:
    """``valid`` with arbitrary JSON put at a random place (an existing or a new key)."""
    paths: list[tuple[Any, ...]] = []

    def walk(node: Any, path: tuple[Any, ...]) -> None:
        if isinstance(node, dict):
            paths.append((*path, "extra"))
            for key, child in node.items():
                paths.append((*path, key))
                walk(child, (*path, key))
        elif isinstance(node, list):
            for i, child in enumerate(node):
                paths.append((*path, i))
                walk(child, (*path, i))

    walk(valid, ())
    return broken(valid, draw(st.sampled_from(paths)), draw(json_values))


class Driver:
    """Run coroutines on the bot's loop from Hypothesis' thread, each bounded in time."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop

    def __call__(self, coro: Coroutine[Any, Any, Any], timeout: float = 10) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)


def _post(bot: RunningBot, body: str, content_type: str) -> Coroutine[Any, Any, Any]:
    headers = {"Content-Type": content_type, **sign(SIGNING_SECRET, body)}
    return bot.slack.raw(body.encode(), headers)


def post_event(bot: RunningBot, payload: JSON) -> Coroutine[Any, Any, Any]:
    return _post(bot, json.dumps(payload), "application/json")


def post_form(bot: RunningBot, form: JSON) -> Coroutine[Any, Any, Any]:
    return _post(bot, urlencode(form), "application/x-www-form-urlencoded")


def post_action(bot: RunningBot, payload: JSON) -> Coroutine[Any, Any, Any]:
    return post_form(bot, {"payload": json.dumps(payload)})


def assert_nothing_done(
    fake_slack: FakeSlack, fake_glm: FakeGLM, caplog: pytest.LogCaptureFixture
) -> None:
    assert fake_glm.requests == [], [r.user_text for r in fake_glm.requests]
    writes = [c.method for c in fake_slack.calls if c.method not in SLACK_READS]
    assert writes == [], writes
    assert fake_slack.responses == []
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], errors[:3]


PROPERTY = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


async def test_malformed_fields_are_refused_over_http_with_nothing_done(
    running_bot: RunningBot,
    fake_slack: FakeSlack,
    fake_glm: FakeGLM,
    caplog: pytest.LogCaptureFixture,
) -> None:
    drive = Driver(asyncio.get_running_loop())
    response_url = fake_slack.new_response_url()
    sends = st.one_of(
        bad_event().map(lambda p: (post_event, p)),
        bad_action().map(lambda p: (post_action, p)),
        bad_command(response_url=response_url, any_json=False).map(lambda p: (post_form, p)),
    )

    @PROPERTY
    @given(sends)
    def refused(send: tuple[Callable[[RunningBot, JSON], Any], JSON]) -> None:
        post, payload = send
        resp = drive(post(running_bot, payload))
        assert resp.status == 400, f"{resp.status} {resp.text[:200]} for {payload!r:.400}"

    await asyncio.to_thread(refused)
    assert_nothing_done(fake_slack, fake_glm, caplog)


async def test_malformed_fields_are_dropped_over_socket_mode_with_nothing_done(
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
        drive = Driver(asyncio.get_running_loop())
        response_url = fake_slack.new_response_url()
        sends = st.one_of(
            bad_event().map(lambda p: ("events_api", p)),
            bad_action().map(lambda p: ("interactive", p)),
            bad_command(response_url=response_url, any_json=True).map(
                lambda p: ("slash_commands", p)
            ),
        )

        async def send_and_wait_for_ack(kind: str, payload: JSON) -> None:
            envelope_id = await fake_slack.socket_send(payload, kind=kind)
            await fake_slack.wait_for(
                lambda f: any(a.get("envelope_id") == envelope_id for a in f.socket_acks),
                timeout=5,
                what=f"the ack of a malformed {kind} envelope",
            )

        @PROPERTY
        @given(sends)
        def dropped(send: tuple[str, JSON]) -> None:
            drive(send_and_wait_for_ack(*send))

        await asyncio.to_thread(dropped)
        assert_nothing_done(fake_slack, fake_glm, caplog)
    finally:
        await bot.stop()


async def test_arbitrary_json_anywhere_never_gives_a_5xx(
    running_bot: RunningBot,
    fake_slack: FakeSlack,
    fake_glm: FakeGLM,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from bot.slack.payloads import inbound_problem

    drive = Driver(asyncio.get_running_loop())
    accepted: list[JSON] = []
    sends = st.one_of(
        grafted(mention_envelope()).map(lambda p: (post_event, p)),
        grafted(dm_envelope()).map(lambda p: (post_event, p)),
        grafted(stop_click()).map(lambda p: (post_action, p)),
        grafted(home_opened_envelope()).map(lambda p: (post_event, p)),
        grafted(context_changed_envelope()).map(lambda p: (post_event, p)),
        grafted(feedback_payload()).map(lambda p: (post_action, p)),
    )

    @PROPERTY
    @given(sends)
    def never_5xx(send: tuple[Callable[[RunningBot, JSON], Any], JSON]) -> None:
        post, payload = send
        resp = drive(post(running_bot, payload))
        assert resp.status < 500, f"{resp.status} {resp.text[:200]} for {payload!r:.400}"
        if inbound_problem(payload) is None:
            accepted.append(payload)
        else:
            assert resp.status == 400

    await asyncio.to_thread(never_5xx)
    assert await running_bot.bot.conversations.executor.wait_idle(30)
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], errors[:3]
    assert len(fake_glm.requests) <= len(accepted), "turns only for accepted payloads"
