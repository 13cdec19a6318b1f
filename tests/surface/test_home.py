"""The Home view of an org-wide install (pure): the org named in both languages, "this org"
when Slack gave no name, and an org's name kept within Slack's limits and escaped."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.oauth.workspace import SlackAccess, Workspace, scope
from bot.store.usage import Tokens
from bot.surface.home import HomeFigures, Org, home_view, org_in_scope
from bot.surface.home import Workspace as Month
from bot.texts import Lang

DECEMBER = "2026-12"
RESET = datetime(2027, 1, 1, tzinfo=UTC)


def figures(org: Org | None) -> HomeFigures:
    return HomeFigures(
        month=DECEMBER,
        resets_at=RESET,
        mine=Tokens(700, 50, 2),
        my_limit=10_000,
        exempt=False,
        workspace_limit=1_000,
        workspace_used=750,
        dm_assistant="ChatGLM",
        assistants=12,
        workspace=Month(
            total=Tokens(700, 50, 2),
            limit=1_000,
            by_assistant=[("ChatGLM", Tokens(700, 50, 2))],
            top_channels=[("CE0002", Tokens(400, 30, 1)), ("CE0001", Tokens(300, 20, 1))],
        ),
        org=org,
    )


def text(f: HomeFigures, lang: Lang) -> str:
    view = home_view(f, lang).to_dict()  # slack_sdk checks Slack's limits here
    out = []
    for block in view["blocks"]:
        if isinstance(block.get("text"), dict):
            out.append(block["text"]["text"])
        out.extend(e.get("text", "") for e in block.get("elements") or [])
    return "\n".join(out)


def test_an_org_wide_install_is_named_as_the_org_in_both_languages() -> None:
    en = text(figures(Org("E1", "Grid Co")), "en")
    assert "Grid Co (whole org) · December 2026" in en
    assert "You have used *750* tokens in December 2026 across every workspace of Grid Co" in en
    assert (
        "The monthly limit for all workspaces of Grid Co together is 1,000 tokens (75% used)" in en
    )
    assert "Workspace" not in en and "workspace's monthly limit" not in en
    zh = text(figures(Org("E1", "Grid Co")), "zh")
    assert "Grid Co（整个组织）· 2026年12月" in zh
    assert "你在2026年12月于Grid Co的所有工作区共使用 *750* 个 token" in zh
    assert "Grid Co所有工作区合计的每月上限是 1,000 个 token（已用 75%）" in zh
    assert "工作区 · " not in zh and "本工作区" not in zh


def test_an_org_slack_gave_no_name_is_this_org() -> None:
    en = text(figures(Org("E1")), "en")
    assert "This org · December 2026" in en
    assert "across every workspace of this org:" in en
    assert "all workspaces of this org together" in en
    zh = text(figures(Org("E1")), "zh")
    assert "本组织 · 2026年12月" in zh and "于本组织的所有工作区" in zh


def test_a_single_workspace_is_still_the_workspace() -> None:
    en = text(figures(None), "en")
    assert "Workspace · December 2026" in en
    assert "You have used *750* tokens in December 2026: 700 prompt" in en
    assert "The workspace's monthly limit is 1,000 tokens (75% used)" in en
    assert "org" not in en


def test_a_long_or_marked_up_org_name_stays_within_slack_s_limits() -> None:
    name = "<!channel> & Co " * 20
    view = home_view(figures(Org("E1", name)), "en").to_dict()  # a header holds 150 characters
    headers = [b["text"] for b in view["blocks"] if b["type"] == "header"]
    assert headers[-1]["type"] == "plain_text"  # shown literally: the name as Slack gave it
    assert (
        headers[-1]["text"].startswith("<!channel> & Co")
        and "… (whole org) · " in headers[-1]["text"]
    )
    mrkdwn = [b["text"]["text"] for b in view["blocks"] if b["type"] == "section"]
    assert not any("<!channel>" in section for section in mrkdwn), "no mention from a name"
    assert "across every workspace of &lt;!channel&gt; &amp; Co" in "\n".join(mrkdwn)


def test_the_org_comes_from_an_org_wide_install_only() -> None:
    assert org_in_scope() is None  # one workspace's token (no OAuth)
    org_wide = Workspace("TE0001", "E0000001", is_enterprise_install=True)
    with scope(SlackAccess(org_wide, enterprise_name="Grid Co")):
        assert org_in_scope() == Org("E0000001", "Grid Co")
    with scope(SlackAccess(org_wide, enterprise_name=" ")):
        assert org_in_scope() == Org("E0000001", None)
    in_grid = Workspace("TE0001", "E0000001")  # a workspace of a Grid org, installed on its own
    with scope(SlackAccess(in_grid, enterprise_name="Grid Co")):
        assert org_in_scope() is None
