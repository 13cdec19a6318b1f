"""UserDirectory caches names (bounded, expiring); thread context is composed readably."""

from __future__ import annotations

from typing import Any

from bot.workspace.people import UserDirectory
from bot.workspace.threads import compose_prompt


class CountingClient:
    """Stands in for AsyncWebClient.users_info only."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    async def users_info(self, *, user: str, **_: Any) -> dict[str, Any]:
        self.calls.append(user)
        return {"user": {"name": user.lower(), "profile": {"display_name": f"name-{user}"}}}


async def test_names_are_cached_bounded_and_expire() -> None:
    now = [0.0]
    client = CountingClient()
    people = UserDirectory(client, max_entries=2, ttl=10, clock=lambda: now[0])  # type: ignore[arg-type]
    assert await people.name("U1") == "name-U1"
    assert await people.name("U1") == "name-U1"
    assert client.calls == ["U1"]
    await people.name("U2")
    await people.name("U3")  # evicts U1 (least recently used)
    await people.name("U1")
    assert client.calls == ["U1", "U2", "U3", "U1"]
    now[0] = 11.0
    await people.name("U1")  # expired
    assert client.calls[-1] == "U1" and len(client.calls) == 5


async def test_names_in_skips_the_bot() -> None:
    people = UserDirectory(CountingClient())  # type: ignore[arg-type]
    names = await people.names_in("<@UBOT> ask <@U7> and <@U8|x>", skip="UBOT")
    assert names == {"U7": "name-U7", "U8": "name-U8"}


def test_compose_prompt() -> None:
    assert compose_prompt([], asker="Ann", question="q?") == "q?"
    assert compose_prompt(["[Bob]: hi"], asker="Ann", question="q?", topic="[Cy]: Ship?") == (
        "This Slack thread started with: [Cy]: Ship?\n\n"
        "Latest messages in this thread before the question, oldest first:\n[Bob]: hi\n\n"
        "Question from Ann: q?"
    )
    assert compose_prompt([], asker="Ann", question="q?", topic="[Cy]: Ship?") == (
        "This Slack thread started with: [Cy]: Ship?\n\nQuestion from Ann: q?"
    )
    assert compose_prompt(["[Bob]: hi"], asker="Ann", question="q?", partial=True) == (
        "The start of this thread (Slack let us read only part of it), oldest first:\n"
        "[Bob]: hi\n\nQuestion from Ann: q?"
    )


async def test_failed_lookups_are_not_cached() -> None:
    from slack_sdk.errors import SlackApiError

    class FlakyClient(CountingClient):
        async def users_info(self, *, user: str, **kw: Any) -> dict[str, Any]:
            self.calls.append(user)
            if len(self.calls) == 1:
                raise SlackApiError("rate limited", {"ok": False, "error": "ratelimited"})
            return {"user": {"name": "ann", "locale": "zh-CN", "profile": {}}}

    client = FlakyClient()
    people = UserDirectory(client)  # type: ignore[arg-type]
    assert await people.name("U1") == "U1"
    assert await people.name("U1") == "ann"
    assert await people.locale("U1") == "zh-CN"
    assert client.calls == ["U1", "U1"]
