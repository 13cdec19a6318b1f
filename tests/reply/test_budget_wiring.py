"""Which store the Slack budgets use, from the settings an operator writes."""

from __future__ import annotations

import pytest

from bot.app import budget_store
from bot.config import ConfigError, load_settings
from bot.metrics import Metrics
from bot.reply.ratelimit import FallbackStore, LocalStore
from bot.store.db import make_engine

REQUIRED = {"slack_bot_token": "xoxb-1", "slack_signing_secret": "s", "zhipuai_api_key": "k"}
PG = "postgresql://root@127.0.0.1:5432/test"  # never connected to: engines connect lazily


@pytest.mark.parametrize(
    ("database_url", "choice", "shared"),
    [
        ("sqlite:///bot.db", "auto", False),
        (PG, "auto", True),
        (PG, "local", False),
        (PG, "database", True),
    ],
)
async def test_budgets_are_shared_exactly_when_the_database_is(
    database_url: str, choice: str, shared: bool
) -> None:
    settings = load_settings(**REQUIRED, database_url=database_url, slack_budget_store=choice)
    engine = make_engine(settings.database_url)
    try:
        store = budget_store(settings, engine, Metrics())
        assert store.shared is shared
        assert isinstance(store, FallbackStore if shared else LocalStore)
        await store.aclose()
    finally:
        await engine.dispose()


def test_a_shared_store_on_sqlite_is_refused_with_a_clear_message() -> None:
    with pytest.raises(ConfigError, match="SLACK_BUDGET_STORE=database needs a PostgreSQL"):
        load_settings(**REQUIRED, slack_budget_store="database")
