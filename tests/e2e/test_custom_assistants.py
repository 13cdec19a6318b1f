"""Custom assistants by name (GLM_ASSISTANTS), end to end: listed after the official twelve,
chosen by name or id, named in the thread, with GLM's own starter prompts; ``check`` reports
an id GLM does not know."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conftest import RunningBot
from tests.e2e.test_agent_command import ask, command, select_element
from tests.e2e.test_messages_tab import open_tab
from tests.e2e.test_process import _configured, _run_bot
from tests.fakes import FakeGLM, FakeSlack, mention_event

SALES = "0123456789abcdef01234567"
FINANCE = "abcdefabcdefabcdefabcdef"
GLM_ASSISTANTS = f"{SALES}=Sales Helper, {FINANCE}=财务 助手"


@pytest.fixture
async def bot(
    monkeypatch: pytest.MonkeyPatch, bot_env: dict[str, str], fake_glm: FakeGLM
) -> AsyncIterator[RunningBot]:
    monkeypatch.setenv("GLM_ASSISTANTS", GLM_ASSISTANTS)
    fake_glm.custom_assistants = {SALES: "Sales Helper", FINANCE: "财务助手"}
    running = await RunningBot().start()
    yield running
    await running.stop()


async def test_custom_assistants_follow_the_official_twelve_in_list_and_picker(
    bot: RunningBot, fake_slack: FakeSlack
) -> None:
    listed = (await command(bot, fake_slack, "list"))["text"]
    lines = [line for line in listed.split("\n") if line.startswith("*1")]
    assert lines[-3].startswith("*12.* 英语语法助手")
    assert lines[-2].startswith("*13.* Sales Helper · `sales-helper`")
    assert lines[-1].startswith("*14.* 财务 助手 · `财务-助手`")

    picker = select_element(await command(bot, fake_slack, ""))
    values = [option["value"] for option in picker["options"]]
    assert len(values) == 14 and values[-2:] == [SALES, FINANCE]


@pytest.mark.parametrize("selector", ["财务助手", "财务 助手", "14", FINANCE.upper()])
async def test_a_custom_assistant_is_chosen_by_name_or_id_and_named_in_the_thread(
    bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM, selector: str
) -> None:
    answer = await command(bot, fake_slack, selector)
    assert "*财务 助手* (`财务-助手`)" in answer["text"], answer["text"]
    assert "custom agent" not in answer["text"]
    event = mention_event("本月预算？")
    body = await ask(bot, fake_glm, event)
    assert body["assistant_id"] == FINANCE
    (reply,) = fake_slack.thread_replies_by_bot("C0001", event["ts"])
    assert ":robot_face: *财务 助手*" in str(reply.blocks or reply.text)


async def test_the_dm_of_a_custom_assistant_shows_glms_starter_prompts(
    bot: RunningBot, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    fake_glm.starter_prompts[SALES] = ["Draft a follow-up to a cold lead"]
    await command(bot, fake_slack, "sales helper", channel="D0001")
    shown = await open_tab(bot, fake_slack)
    assert shown["title"] == "Try asking Sales Helper"
    assert shown["prompts"][0]["message"] == "Draft a follow-up to a cold lead"
    (listing,) = [r for r in fake_glm.other_requests if r.path.endswith("/assistant/list")]
    assert {SALES, FINANCE} <= set(listing.body["assistant_id_list"])


async def test_check_reports_a_custom_id_glm_does_not_know(
    tmp_path: Path, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    fake_glm.custom_assistants = {SALES: "Sales Helper"}
    settings = _configured(tmp_path, fake_slack, fake_glm, GLM_ASSISTANTS=GLM_ASSISTANTS)
    code, out, err = await _run_bot(tmp_path, "check", **settings)
    assert code == 1, out + err
    assert f"✔ GLM_ASSISTANTS Sales Helper ({SALES}): known to GLM" in out
    assert f"✘ GLM_ASSISTANTS 财务 助手 ({FINANCE}): GLM does not know this id" in out


async def test_a_malformed_glm_assistants_stops_the_bot_with_one_clear_line(
    tmp_path: Path, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    settings = _configured(tmp_path, fake_slack, fake_glm, GLM_ASSISTANTS="12345=Too short")
    code, _out, err = await _run_bot(tmp_path, "check", **settings)
    assert code == 2
    assert "GLM_ASSISTANTS: '12345' is not a 24-hex assistant id" in err
