"""ALLOWED_TEAM_IDS and Grid orgs: listing an org admits every workspace of its org-wide install."""

from __future__ import annotations

from bot.policy import AccessPolicy


def test_an_org_listed_admits_its_workspaces_only_through_the_org_install() -> None:
    policy = AccessPolicy(teams=frozenset({"T1", "E1"}))
    where = {"channel_id": "C1", "user_id": "U1", "is_dm": False}
    assert policy.allows(team_id="T1", **where)
    assert policy.allows(team_id="T9", enterprise_id="E1", **where)
    assert not policy.allows(team_id="T9", **where)
    assert not policy.allows(team_id="T9", enterprise_id="E2", **where)
    assert AccessPolicy().allows(team_id="T9", enterprise_id=None, **where)
