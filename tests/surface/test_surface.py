"""Pure parts of the agent surface: prompt choice, GLM listing validation, event parsing."""

from __future__ import annotations

import pytest

from bot.surface.context import parse_context_changed, parse_tab_opened
from bot.surface.prompts import (
    CATALOGUE,
    MAX_PROMPTS,
    Prompt,
    PromptSet,
    is_summarise_request,
    prompt_set,
    starters_from_listing,
    summarise_prompt,
)
from bot.surface.turn_hooks import compose_summary_request, keep_newest, thread_title

CHATGLM = "65940acff94777010aa6b796"


def test_every_official_assistant_has_prompts_in_both_languages() -> None:
    assert len(CATALOGUE) == 12
    for entry in CATALOGUE.values():
        for lang in ("en", "zh"):
            assert 1 <= len(entry[lang]) <= MAX_PROMPTS - 1  # room for "summarise"
            assert all(p.title and p.message for p in entry[lang])


@pytest.mark.parametrize("count", [0, 5])
def test_prompt_set_refuses_what_slack_refuses(count: int) -> None:
    with pytest.raises(ValueError):
        PromptSet("t", tuple(Prompt("a", "b") for _ in range(count)))


def test_summary_prompt_comes_first_and_the_set_stays_within_four() -> None:
    upstream = ["one", "two", "three", "four", "five"]
    prompts = prompt_set(CHATGLM, "en", upstream=upstream, summarise_channel="general")
    assert len(prompts.prompts) == MAX_PROMPTS
    assert prompts.prompts[0] == summarise_prompt("general", "en")


def test_upstream_prompts_only_in_the_users_language() -> None:
    zh = prompt_set(CHATGLM, "zh", upstream=["Plan a trip", "写一首诗"])
    assert [p.message for p in zh.prompts] == ["写一首诗"]
    en = prompt_set(CHATGLM, "en", upstream=["写一首诗"])
    assert en.prompts == CATALOGUE[CHATGLM]["en"]


def test_long_upstream_prompt_gets_a_short_title_and_the_whole_message() -> None:
    text = "Explain " + "very " * 30 + "carefully"
    (prompt,) = prompt_set(CHATGLM, "en", upstream=[text]).prompts
    assert len(prompt.title) <= 40 and prompt.title.endswith("…")
    assert prompt.message == text


def test_listing_is_validated() -> None:
    payload = {
        "data": [
            {"assistant_id": CHATGLM.upper(), "starter_prompts": [" hi ", "", 3, None]},
            {"assistant_id": "not-an-id", "starter_prompts": ["x"]},
            {"assistant_id": "66437ef3d920bdc5c60f338e", "starter_prompts": "draw"},
            "junk",
        ]
    }
    assert starters_from_listing(payload) == {CHATGLM: ("hi",)}
    assert starters_from_listing({"success": False, "code": 1001}) == {}
    assert starters_from_listing(["x"]) == {}


def test_summarise_request_matches_only_our_prompt() -> None:
    assert is_summarise_request("Summarise the recent messages in #general.", "general")
    assert is_summarise_request("总结一下 #general 最近的消息", "general")
    assert not is_summarise_request("Summarise the recent messages in #random", "general")
    assert not is_summarise_request("please summarise #general", "general")


def test_tab_opened_only_for_the_messages_tab() -> None:
    body = {
        "team_id": "T0001",
        "event": {
            "type": "app_home_opened",
            "user": "U0001",
            "channel": "D0001",
            "tab": "messages",
        },
    }
    opened = parse_tab_opened(body)
    assert opened is not None and opened.dm_channel_id == "D0001"
    assert parse_tab_opened({**body, "event": {**body["event"], "tab": "home"}}) is None
    assert parse_tab_opened({**body, "event": {**body["event"], "channel": "C0001"}}) is None


def test_context_changed_shapes() -> None:
    body = {
        "team_id": "T0001",
        "authorizations": [
            {"user_id": "UBOT", "is_bot": True},
            {"user_id": "U0009", "is_bot": False},
        ],
        "event": {
            "type": "app_context_changed",
            "context": {
                "entities": [
                    {"type": "slack#/types/canvas_id", "value": "F1"},
                    {
                        "type": "slack#/types/message_context",
                        "value": {"channel_id": "G22", "message_ts": "1.2"},
                    },
                    {"type": "slack#/types/channel_id", "value": "C33"},
                ]
            },
        },
    }
    changed = parse_context_changed(body)
    assert changed is not None
    assert (changed.user_id, changed.channel_id, changed.dm_channel_id) == ("U0009", "G22", None)
    empty = parse_context_changed({**body, "event": {"type": "app_context_changed", "context": {}}})
    assert empty is not None and empty.channel_id is None
    dm_only = {"type": "slack#/types/channel_id", "value": "D44"}
    body["event"]["context"]["entities"] = [dm_only, {"type": "x", "value": "C55"}]
    changed = parse_context_changed(body)
    assert changed is not None and changed.channel_id is None  # DMs are never summarised


def test_history_is_bounded_to_the_newest_lines() -> None:
    lines = [f"[a]: message {i}" for i in range(100)]
    kept = keep_newest(lines, 100)
    assert kept[-1] == "[a]: message 99" and sum(len(x) + 1 for x in kept) <= 100
    assert "Request: sum it" in compose_summary_request("general", kept, "sum it")
    assert len(thread_title("x" * 500)) == 80


def test_feedback_click_is_validated() -> None:
    from bot.reply.blocks import feedback_block
    from bot.surface.feedback import parse_feedback_click

    turn = "ab" * 16
    block = feedback_block(turn, "zh")
    value = block["elements"][0]["negative_button"]["value"]
    body = {
        "type": "block_actions",
        "user": {"id": "U0001", "team_id": "T0001"},
        "team": {"id": "T0001"},
        "channel": {"id": "C0001"},
        "container": {"type": "message", "message_ts": "1.5", "thread_ts": "1.2"},
        "actions": [{"type": "feedback_buttons", "action_id": "glm_feedback", "value": value}],
    }
    click = parse_feedback_click(body)
    assert click is not None
    assert (click.turn_id, click.rating, click.thread_ts) == (turn, "bad", "1.2")
    for bad_value in ("meh:" + turn, "good:" + turn.upper(), "good:x", None):
        broken = {**body, "actions": [{**body["actions"][0], "value": bad_value}]}
        assert parse_feedback_click(broken) is None
    assert parse_feedback_click({**body, "user": {"id": "<script>"}}) is None
    assert parse_feedback_click({**body, "actions": []}) is None


async def test_starter_cache_survives_glm_failures_and_slowness() -> None:
    import asyncio

    from bot.surface.starters import StarterCache

    now = [0.0]
    calls: list[str] = []
    outcome: list[object] = [RuntimeError("GLM down")]
    release = asyncio.Event()

    async def fetch() -> object:
        calls.append("list")
        result = outcome[0]
        if result == "slow":
            await release.wait()
            return {"data": [{"assistant_id": CHATGLM, "starter_prompts": ["late"]}]}
        if isinstance(result, Exception):
            raise result
        return result

    cache = StarterCache(fetch, ttl=100, retry_after=10, timeout=0.05, clock=lambda: now[0])
    assert await cache.get(CHATGLM) == ()
    assert await cache.get(CHATGLM) == ()  # the failure is remembered: no second call
    assert calls == ["list"]
    now[0] = 11
    outcome[0] = "slow"
    assert await cache.get(CHATGLM) == ()  # a slow GLM costs at most the timeout
    release.set()
    assert await cache.get(CHATGLM) == ("late",)  # ...and its answer serves the next opening
    assert calls == ["list", "list"]
