"""The one door into a turn (``Gatekeeper.admit``), with a real repository on SQLite and the
people directory talking HTTP to the fake Slack."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.admission import Admitted, Gatekeeper, Refusal
from bot.policy import AccessPolicy, TurnPolicy
from bot.store.db import make_engine
from bot.store.migrate import upgrade_to_head
from bot.store.repository import Repository
from bot.turn_input import Route
from bot.workspace.people import UserDirectory
from tests.conftest import BOT_TOKEN
from tests.fakes import FakeSlack


@pytest.fixture
async def repo(tmp_path: Path) -> AsyncIterator[Repository]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'gate.db'}")
    await upgrade_to_head(engine)
    yield Repository(engine)
    await engine.dispose()


def gate(repo: Repository, fake: FakeSlack, **policy: object) -> Gatekeeper:
    people = UserDirectory(AsyncWebClient(token=BOT_TOKEN, base_url=fake.api_url))
    return Gatekeeper(
        repo=repo, people=people, policy=TurnPolicy(default_assistant_id="a", **policy)
    )  # type: ignore[arg-type]


def route(user: str = "U0001", channel: str = "C0001") -> Route:
    return Route(
        team_id="T0001",
        channel_id=channel,
        channel_type="im" if channel.startswith("D") else "channel",
        user_id=user,
        text="hi",
        ts="1700000000.000100",
        thread_ts="1700000000.000100",
        mention=True,
        requires_known_thread=False,
    )


async def test_a_shutting_down_instance_refuses_before_anything_else(
    repo: Repository, fake_slack: FakeSlack
) -> None:
    keeper = gate(repo, fake_slack, access=AccessPolicy(users=frozenset({"U0009"})))
    keeper.accepting = False
    decision = await keeper.admit(route())
    assert isinstance(decision, Refusal) and decision.reason == "restarting"


async def test_strangers_are_refused_quietly_in_channels_and_told_in_dms(
    repo: Repository, fake_slack: FakeSlack
) -> None:
    keeper = gate(repo, fake_slack, access=AccessPolicy(users=frozenset({"U0009"})))
    in_channel = await keeper.admit(route())
    in_dm = await keeper.admit(route(channel="D0001"))
    assert isinstance(in_channel, Refusal) and in_channel.quiet
    assert isinstance(in_dm, Refusal) and not in_dm.quiet and in_dm.reason == "not_allowed"
    assert isinstance(await keeper.admit(route(user="U0009")), Admitted)


async def test_the_rate_limit_counts_per_person_in_the_database(
    repo: Repository, fake_slack: FakeSlack
) -> None:
    keeper = gate(repo, fake_slack, user_turns_per_window=2, user_window_seconds=600)
    other_instance = gate(repo, fake_slack, user_turns_per_window=2, user_window_seconds=600)
    assert isinstance(await keeper.admit(route()), Admitted)
    assert isinstance(await other_instance.admit(route()), Admitted)
    third = await keeper.admit(route())
    assert isinstance(third, Refusal) and third.reason == "rate_limited"
    assert "10 minutes" in third.text
    assert isinstance(await keeper.admit(route(user="U0002")), Admitted)


async def test_the_answer_language_follows_the_slack_locale(
    repo: Repository, fake_slack: FakeSlack
) -> None:
    fake_slack.add_user("U0003", locale="zh-CN")
    keeper = gate(repo, fake_slack, access=AccessPolicy(users=frozenset({"U0009"})))
    decision = await keeper.admit(route(user="U0003", channel="D0003"))
    assert isinstance(decision, Refusal)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in decision.text), decision.text
