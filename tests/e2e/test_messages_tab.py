"""The Messages tab end to end: signed app_home_opened / app_context_changed deliveries, the
prompts Slack ends up showing (fake Slack keeps them per DM), DM thread titles and the
"summarise this channel" prompt answered from the channel's history."""

from __future__ import annotations

from typing import Any

from bot.store.surface import SurfaceStore
from bot.surface.prompts import CATALOGUE, GENERIC
from tests.conftest import RunningBot
from tests.fakes import FakeGLM, FakeSlack, message_event
from tests.fakes.slack_requests import (
    app_context_changed_event,
    app_home_opened_event,
    person_authorizations,
)

CHATGLM = "65940acff94777010aa6b796"
DRAWING = "66437ef3d920bdc5c60f338e"
CUSTOM = "0123456789abcdef01234567"
DM = "D0001"

JSON = dict[str, Any]


def titles_of(prompts: list[JSON]) -> list[str]:
    return [p["title"] for p in prompts]


async def open_tab(bot: RunningBot, fake: FakeSlack, *, user: str = "U0001", dm: str = DM) -> JSON:
    """Open the Messages tab and return the prompts Slack now shows in that DM."""
    before = len(fake.calls_to("assistant.threads.setSuggestedPrompts"))
    resp = await bot.slack.event(app_home_opened_event(user=user, channel=dm))
    assert resp.status == 200
    await fake.wait_for(
        lambda f: (
            len([c for c in f.calls_to("assistant.threads.setSuggestedPrompts") if c.done]) > before
        ),
        what="setSuggestedPrompts",
    )
    return fake.suggested_prompts[dm]


async def view_channel(bot: RunningBot, fake: FakeSlack, channel: str, user: str = "U0001") -> JSON:
    """The person looks at ``channel`` (Slack's example shape: no user/channel in the event)."""
    before = len(fake.calls_to("assistant.threads.setSuggestedPrompts"))
    await bot.slack.event(
        app_context_changed_event(channel_id=channel),
        authorizations=person_authorizations(user),
    )
    await fake.wait_for(
        lambda f: (
            len([c for c in f.calls_to("assistant.threads.setSuggestedPrompts") if c.done]) > before
        ),
        what="prompts refreshed after a context change",
    )
    return fake.suggested_prompts[DM]


async def test_opening_the_messages_tab_shows_the_dm_assistants_prompts(
    running_bot: RunningBot, fake_slack: FakeSlack
) -> None:
    shown = await open_tab(running_bot, fake_slack)
    expected = CATALOGUE[CHATGLM]["en"]
    assert titles_of(shown["prompts"]) == [p.title for p in expected]
    assert shown["title"] == "Try asking ChatGLM"
    call = fake_slack.calls_to("assistant.threads.setSuggestedPrompts")[-1]
    assert call.args["channel_id"] == DM
    assert "thread_ts" not in call.args  # with it, an agent app's prompts silently do nothing


async def test_switching_the_dm_assistant_changes_the_prompts_and_language_follows_locale(
    running_bot: RunningBot, fake_slack: FakeSlack
) -> None:
    fake_slack.add_user("U0003", name="wang", locale="zh-CN")
    url = fake_slack.new_response_url()
    await running_bot.slack.command(
        "drawing", channel_id="D0003", user_id="U0003", response_url=url
    )
    await fake_slack.wait_for(lambda f: f.responses, what="/glm-agent answer")
    shown = await open_tab(running_bot, fake_slack, user="U0003", dm="D0003")
    assert titles_of(shown["prompts"]) == [p.title for p in CATALOGUE[DRAWING]["zh"]]
    assert "AI画图" in shown["title"]


async def test_glm_starter_prompts_win_in_the_users_language(
    running_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    fake_glm.starter_prompts[CHATGLM] = ["写一首关于秋天的诗", "Plan a three-day trip to Kyoto"]
    shown = await open_tab(running_bot, fake_slack)
    assert shown["prompts"] == [
        {"title": "Plan a three-day trip to Kyoto", "message": "Plan a three-day trip to Kyoto"}
    ]
    # Cached: a second opening does not ask GLM again.
    lists = [r for r in fake_glm.other_requests if r.path.endswith("/assistant/list")]
    await open_tab(running_bot, fake_slack)
    assert len([r for r in fake_glm.other_requests if r.path.endswith("/assistant/list")]) == len(
        lists
    )


async def test_custom_assistant_gets_generic_prompts(
    running_bot: RunningBot, fake_slack: FakeSlack
) -> None:
    await running_bot.bot.repo.set_channel_assistant(
        team_id="T0001", channel_id=DM, assistant_id=CUSTOM, updated_by="U0001"
    )
    shown = await open_tab(running_bot, fake_slack)
    assert titles_of(shown["prompts"]) == [p.title for p in GENERIC["en"]]


async def test_home_tab_opening_sets_no_prompts(
    running_bot: RunningBot, fake_slack: FakeSlack
) -> None:
    await running_bot.slack.event(app_home_opened_event(tab="home"))
    await open_tab(running_bot, fake_slack)
    assert len(fake_slack.calls_to("assistant.threads.setSuggestedPrompts")) == 1


async def test_viewing_a_readable_channel_offers_a_summary_and_is_stored(
    running_bot: RunningBot, fake_slack: FakeSlack
) -> None:
    await open_tab(running_bot, fake_slack)
    shown = await view_channel(running_bot, fake_slack, "C0001")
    assert shown["prompts"][0]["title"] == "Summarise #general"
    assert len(shown["prompts"]) == 4
    view = await SurfaceStore(running_bot.bot.engine).view("T0001", "U0001")
    assert view is not None and (view.dm_channel_id, view.channel_id) == (DM, "C0001")

    fake_slack.add_channel("C0009", name="secret")
    fake_slack.channels["C0009"]["is_member"] = False
    shown = await view_channel(running_bot, fake_slack, "C0009")
    assert not any("secret" in p["title"] for p in shown["prompts"])


async def _ask_in_dm(bot: RunningBot, text: str) -> str:
    event = message_event(text, channel=DM, channel_type="im")
    before = bot.executor.finished
    await bot.slack.event(event)
    await bot.wait_handled(before + 1)
    return str(event["ts"])


async def test_the_summary_prompt_reads_the_viewed_channel(
    running_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    fake_slack.add_message("C0001", "We ship the release on Friday", user="U0002")
    fake_slack.add_message("C0001", "Docs still need a review", user="U0001")
    await open_tab(running_bot, fake_slack)
    shown = await view_channel(running_bot, fake_slack, "C0001")
    ts = await _ask_in_dm(running_bot, shown["prompts"][0]["message"])
    question = fake_glm.requests[-1].user_text
    assert question.index("ship the release on Friday") < question.index("Docs still need")
    assert "[Bob Example]" in question or "[bob]" in question.lower()
    assert fake_slack.titles[(DM, ts)].startswith("Summarise the recent messages")


async def test_a_refused_history_read_is_said_politely_and_glm_is_not_asked(
    running_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    await open_tab(running_bot, fake_slack)
    shown = await view_channel(running_bot, fake_slack, "C0001")
    fake_slack.fail("conversations.history", "ratelimited", retry_after=30)
    ts = await _ask_in_dm(running_bot, shown["prompts"][0]["message"])
    assert not fake_glm.requests
    notes = fake_slack.thread_replies_by_bot(DM, ts)
    assert len(notes) == 1 and "couldn't read #general" in notes[0].text


async def test_free_text_naming_a_channel_reads_nothing(
    running_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    """Only the channel Slack said the person views is read, and only for our exact prompt."""
    await open_tab(running_bot, fake_slack)
    await _ask_in_dm(running_bot, "Summarise the recent messages in #general")
    assert not fake_slack.calls_to("conversations.history")
    assert fake_glm.requests


async def test_first_dm_question_titles_the_thread_once(
    running_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    ts = await _ask_in_dm(running_bot, "How do   I brew good coffee?")
    assert fake_slack.titles[(DM, ts)] == "How do I brew good coffee?"
    event = message_event("And tea?", channel=DM, channel_type="im", thread_ts=ts)
    before = running_bot.executor.finished
    await running_bot.slack.event(event)
    await running_bot.wait_handled(before + 1)
    assert len(fake_slack.calls_to("assistant.threads.setTitle")) == 1
    assert len(fake_glm.requests) == 2


async def test_another_instance_knows_what_the_person_views(
    running_bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    """The viewed channel is stored: the instance that gets the DM need not be the one that
    got app_context_changed (both share the database, as scaled-out instances do)."""
    fake_slack.add_message("C0001", "Lunch is at noon", user="U0002")
    await open_tab(running_bot, fake_slack)
    shown = await view_channel(running_bot, fake_slack, "C0001")
    other = await RunningBot().start()
    try:
        await _ask_in_dm(other, shown["prompts"][0]["message"])
    finally:
        await other.stop()
    assert "Lunch is at noon" in fake_glm.requests[-1].user_text
