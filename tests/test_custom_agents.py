"""GLM_ASSISTANTS: parsing, and a catalogue that lists and resolves the admin's own agents."""

from __future__ import annotations

import pytest

from bot.agents import OFFICIAL_AGENTS, Catalogue, parse_custom_agents
from bot.slack.agent_messages import catalogue_text, no_match_text

SALES = "0123456789abcdef01234567"
FINANCE = "abcdefabcdefabcdefabcdef"


def test_entries_may_hold_spaces_chinese_and_fullwidth_commas() -> None:
    agents = parse_custom_agents(f" {SALES} = Sales Helper ，{FINANCE.upper()}=财务 助手,")
    assert [(a.number, a.assistant_id, a.display_name) for a in agents] == [
        (13, SALES, "Sales Helper"),
        (14, FINANCE, "财务 助手"),
    ]
    assert all(a.custom and a.named for a in agents)
    assert parse_custom_agents("") == ()


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (f"{SALES}", "entry 1 is not id=Name"),
        (f"{SALES}=", "entry 1 is not id=Name"),
        ("xyz=Name", "'xyz' is not a 24-hex assistant id"),
        (f"{OFFICIAL_AGENTS[0].assistant_id}=Mine", "is an official assistant already"),
        (f"{SALES}=A, {SALES}=B", "is listed twice"),
        (f"{SALES}=Drawing", "a name is already taken"),
        (f"{SALES}=Same, {FINANCE}=same", "a name is already taken"),
    ],
)
def test_bad_entries_are_refused_with_the_reason(raw: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_custom_agents(raw)


def test_the_catalogue_resolves_custom_names_ids_numbers_and_prefixes() -> None:
    catalogue = Catalogue.build(parse_custom_agents(f"{SALES}=Sales Helper,{FINANCE}=财务 助手"))
    assert [a.number for a in catalogue.agents] == list(range(1, 15))
    for selector in ("sales helper", "Sales_Helper", "sales", "13", SALES.upper()):
        resolution = catalogue.resolve(selector)
        assert resolution.agent is not None and resolution.agent.assistant_id == SALES, selector
    assert catalogue.by_id(FINANCE).display_name == "财务 助手"
    unknown = "f" * 24
    assert catalogue.resolve(unknown).reason == "custom"
    assert catalogue.by_id(unknown).display_name == "Custom agent ffff…ffff"
    text = catalogue_text(catalogue=catalogue)
    assert text.splitlines()[-1].startswith("*14.* 财务 助手")
    nothing = "nothing-like-it"
    miss = no_match_text(nothing, catalogue.resolve(nothing), catalogue=catalogue)
    assert "all 14 assistants" in miss


def test_a_long_catalogue_fits_slacks_section_limit_and_too_many_are_refused() -> None:
    from bot.slack.agent_messages import picker_blocks

    many = ",".join(f"{i:024x}=Assistant number {i} {'x' * 30}" for i in range(1, 51))
    catalogue = Catalogue.build(parse_custom_agents(many))
    blocks = picker_blocks(
        catalogue.agents[0], channel_id="C1", default=catalogue.agents[0], catalogue=catalogue
    )
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert all(len(text) <= 3000 for text in sections)
    assert "*62.* Assistant number 50" in sections[-1]
    assert len(blocks[0]["accessory"]["options"]) == 62
    with pytest.raises(ValueError, match="at most 50"):
        parse_custom_agents(many + f",{51:024x}=One too many")
