"""The queue behind early acks: acks first, every acknowledged event through Bolt once, failures
retried, a full queue and shutdown handled (the dispatch is a stand-in for Bolt's)."""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging

import pytest
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.slack.early_ack import EventDispatcher

SCOPE: contextvars.ContextVar[str] = contextvars.ContextVar("scope", default="")


def body(event_id: str) -> str:
    return json.dumps({"type": "event_callback", "event_id": event_id, "event": {"type": "x"}})


class Bolt:
    """Records what it was asked to dispatch; answers from a script of statuses/exceptions."""

    def __init__(self, *script: int | Exception) -> None:
        self.script = list(script)
        self.seen: list[tuple[str, str]] = []  # (event id, scope seen on entry)
        self.changed = asyncio.Event()

    async def __call__(self, req: AsyncBoltRequest) -> BoltResponse:
        assert isinstance(req.body, dict)
        self.seen.append((req.body["event_id"], SCOPE.get()))
        SCOPE.set(req.body["event_id"])  # as authorization sets the workspace scope
        self.changed.set()
        outcome = self.script.pop(0) if self.script else 200
        if isinstance(outcome, Exception):
            raise outcome
        return BoltResponse(status=outcome, body="")


async def until(condition, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():  # noqa: ASYNC110 (the dispatcher's state has no event)
            await asyncio.sleep(0.001)


async def test_a_burst_is_acknowledged_before_any_of_it_is_dispatched() -> None:
    bolt = Bolt()
    dispatcher = EventDispatcher(bolt, quiet=0.05, max_delay=1.0)
    SCOPE.set("the request that started the worker")
    for i in range(20):  # offers keep coming faster than `quiet`: nothing runs yet
        assert dispatcher.offer(f"Ev{i}", body(f"Ev{i}"), "", {"X-Slack-Signature": "v0=x"})
        await asyncio.sleep(0.001)
    assert bolt.seen == []
    await until(lambda: len(bolt.seen) == 20)
    assert [e for e, _ in bolt.seen] == [f"Ev{i}" for i in range(20)]  # in arrival order
    assert all(scope == "" for _, scope in bolt.seen)  # each starts with a clean scope


async def test_a_long_burst_does_not_hold_the_first_event_past_max_delay() -> None:
    bolt = Bolt()
    dispatcher = EventDispatcher(bolt, quiet=0.05, max_delay=0.02)
    dispatcher.offer("Ev0", body("Ev0"), "", {})
    async with asyncio.timeout(2):
        while not bolt.seen:
            dispatcher.offer("EvN", body("EvN"), "", {})  # never quiet
            await asyncio.sleep(0.005)
    assert bolt.seen[0][0] == "Ev0"


async def test_a_5xx_or_an_exception_is_retried_until_bolt_takes_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bolt = Bolt(500, RuntimeError("database is locked"), 503, 200)
    dispatcher = EventDispatcher(bolt, quiet=0, retry_delays=(0.01,) * 5)
    dispatcher.offer("EvR", body("EvR"), "", {})
    await until(lambda: len(bolt.seen) == 4 and dispatcher.pending == 0)
    await asyncio.sleep(0.05)  # a fifth attempt would be due by now
    assert [e for e, _ in bolt.seen] == ["EvR"] * 4
    assert "EvR" in caplog.text and "500" in caplog.text


async def test_an_event_bolt_keeps_failing_on_is_dropped_once_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    drops: list[None] = []
    bolt = Bolt(*([500] * 10))
    dispatcher = EventDispatcher(
        bolt, quiet=0, retry_delays=(0.01, 0.01), on_drop=lambda: drops.append(None)
    )
    with caplog.at_level(logging.ERROR, logger="bot.slack.early_ack"):
        dispatcher.offer("EvD", body("EvD"), "", {})
        await until(lambda: dispatcher.pending == 0 and drops)
    assert len(bolt.seen) == 3 and len(drops) == 1
    assert any("EvD dropped" in r.getMessage() for r in caplog.records)


async def test_a_4xx_is_bolts_answer_not_a_failure() -> None:
    bolt = Bolt(404)  # no listener for it: retrying would not change that
    dispatcher = EventDispatcher(bolt, quiet=0, retry_delays=(0.01,))
    dispatcher.offer("Ev4", body("Ev4"), "", {})
    await until(lambda: dispatcher.pending == 0)
    await asyncio.sleep(0.03)
    assert len(bolt.seen) == 1


async def test_a_full_queue_sends_the_caller_through_bolt_in_line() -> None:
    gate = asyncio.Event()

    async def slow(req: AsyncBoltRequest) -> BoltResponse:
        await gate.wait()
        return BoltResponse(status=200, body="")

    dispatcher = EventDispatcher(slow, limit=3, quiet=0)
    assert all(dispatcher.offer(f"E{i}", body(f"E{i}"), "", {}) for i in range(3))
    assert not dispatcher.offer("E3", body("E3"), "", {})
    gate.set()
    await until(lambda: dispatcher.pending == 0)
    assert dispatcher.offer("E4", body("E4"), "", {})


async def test_drain_dispatches_everything_acknowledged_then_refuses_more() -> None:
    bolt = Bolt()
    dispatcher = EventDispatcher(bolt, quiet=10.0, max_delay=10.0)  # would wait a long time
    for i in range(5):
        dispatcher.offer(f"Ev{i}", body(f"Ev{i}"), "", {})
    assert await dispatcher.drain(timeout=2) is True
    assert len(bolt.seen) == 5
    assert not dispatcher.offer("late", body("late"), "", {})


async def test_drain_gives_up_at_its_timeout_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    async def stuck(req: AsyncBoltRequest) -> BoltResponse:
        await asyncio.Event().wait()
        raise AssertionError

    dispatcher = EventDispatcher(stuck, quiet=0)
    dispatcher.offer("EvS", body("EvS"), "", {})
    await until(lambda: dispatcher.pending == 1)
    assert await dispatcher.drain(timeout=0.05) is False
    assert "not dispatched" in caplog.text
