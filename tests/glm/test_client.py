"""Tests for RetryPolicy.delay and AssistantRequest.body in bot.glm.client."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.glm import client
from bot.glm.client import AssistantRequest, RetryPolicy


@pytest.fixture
def jitter(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Set ``jitter[0]`` to choose what random.random() returns inside the client."""
    value = [0.0]
    monkeypatch.setattr(client.random, "random", lambda: value[0])
    return value


@pytest.mark.parametrize(
    ("attempt", "low", "high"),
    [(1, 0.375, 0.5), (2, 0.75, 1.0), (3, 1.5, 2.0), (4, 3.0, 4.0), (5, 6.0, 8.0), (20, 6.0, 8.0)],
)
def test_backoff_bounds(jitter: list[float], attempt: int, low: float, high: float) -> None:
    policy = RetryPolicy()
    jitter[0] = 0.0
    assert policy.delay(attempt, None) == low
    jitter[0] = 1.0  # the supremum of random.random()
    assert policy.delay(attempt, None) == high


@settings(max_examples=200, deadline=None)
@given(
    attempt=st.integers(min_value=1, max_value=60),
    base=st.floats(min_value=0.0, max_value=5.0),
    cap=st.floats(min_value=0.0, max_value=30.0),
)
def test_backoff_never_exceeds_cap_and_jitter_is_at_most_25_percent(
    attempt: int, base: float, cap: float
) -> None:
    policy = RetryPolicy(base_delay=base, max_delay=cap)
    nominal = min(base * 2 ** (attempt - 1), cap)
    delay = policy.delay(attempt, None)
    assert nominal * 0.75 - 1e-9 <= delay <= nominal + 1e-9


def test_retry_after_wins_when_longer(jitter: list[float]) -> None:
    jitter[0] = 1.0
    assert RetryPolicy().delay(1, 5.0) == 5.0


def test_backoff_wins_when_retry_after_is_shorter(jitter: list[float]) -> None:
    jitter[0] = 1.0
    assert RetryPolicy().delay(4, 1.0) == 4.0
    assert RetryPolicy().delay(1, 0.0) == 0.5


def test_retry_after_is_capped_at_60_seconds(jitter: list[float]) -> None:
    assert RetryPolicy().delay(1, 3600.0) == 60.0


def test_retry_after_cap_is_max_delay_when_that_is_longer(jitter: list[float]) -> None:
    assert RetryPolicy(max_delay=120.0).delay(1, 3600.0) == 120.0


def test_body_minimal_exact() -> None:
    request = AssistantRequest(
        assistant_id="659e54b1b8006379b4b2abd6", text="你好", user_id="T1:U1", request_id="turn-1"
    )
    assert request.body("glm-4-assistant") == {
        "assistant_id": "659e54b1b8006379b4b2abd6",
        "model": "glm-4-assistant",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "你好"}]}],
        "stream": True,
        "request_id": "turn-1",
        "user_id": "T1:U1",
    }


def test_body_with_conversation_attachments_and_metadata() -> None:
    request = AssistantRequest(
        assistant_id="a" * 24,
        text="again",
        user_id="U1",
        request_id="r2",
        conversation_id="66b1e4f00cf253c4f141c967",
        attachments=[{"file_id": "f1"}],
        metadata={"k": "v"},
    )
    assert request.body("glm-4-alltools") == {
        "assistant_id": "a" * 24,
        "model": "glm-4-alltools",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "again"}]}],
        "stream": True,
        "request_id": "r2",
        "user_id": "U1",
        "conversation_id": "66b1e4f00cf253c4f141c967",
        "attachments": [{"file_id": "f1"}],
        "metadata": {"k": "v"},
    }


def test_empty_conversation_id_is_omitted() -> None:
    request = AssistantRequest(
        assistant_id="a" * 24, text="t", user_id="U", request_id="r", conversation_id=""
    )
    assert "conversation_id" not in request.body("glm-4-assistant")
