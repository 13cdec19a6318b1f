"""Prometheus metrics, one registry per bot (so tests and several bots per process don't clash)."""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.turns = Counter("glm_bot_turns", "Turns by outcome", ["outcome"], registry=r)
        self.upstream_errors = Counter(
            "glm_bot_upstream_errors", "GLM failures by platform code", ["code"], registry=r
        )
        self.slack_errors = Counter(
            "glm_bot_slack_api_errors", "Slack Web API errors", ["method", "error"], registry=r
        )
        self.refusals = Counter(
            "glm_bot_refusals", "Messages refused before reaching GLM", ["reason"], registry=r
        )
        self.feedback = Counter(
            "glm_bot_feedback",
            "Ratings of answers (👍 good / 👎 bad); a changed rating counts for the new one",
            ["rating"],
            registry=r,
        )
        self.tokens = Counter(
            "glm_bot_tokens",
            "Tokens GLM reported for finished answers, by kind (prompt/completion) and assistant",
            ["kind", "assistant"],
            registry=r,
        )
        self.budget_transactions = Counter(
            "glm_bot_slack_budget_transactions",
            "Transactions on the shared Slack budget store",
            ["op"],
            registry=r,
        )
        self.events_dropped = Counter(
            "glm_bot_events_dropped",
            "Slack events acknowledged early that Bolt kept failing on for a minute, dropped",
            registry=r,
        )
        self.active_streams = Gauge("glm_bot_active_streams", "Upstream streams open", registry=r)
        self.queued_turns = Gauge(
            "glm_bot_queued_turns", "Turns waiting for a free upstream slot", registry=r
        )
        self.ack_seconds = Histogram(
            "glm_bot_ack_seconds",
            "Time to answer Slack's HTTP request",
            registry=r,
            buckets=LATENCY_BUCKETS,
        )
        self.first_text_seconds = Histogram(
            "glm_bot_first_text_seconds",
            "From the upstream's first chunk to the first visible text in Slack",
            registry=r,
            buckets=LATENCY_BUCKETS,
        )
        self.turn_seconds = Histogram(
            "glm_bot_turn_seconds",
            "Whole turn, question to final edit",
            registry=r,
            buckets=LATENCY_BUCKETS,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
