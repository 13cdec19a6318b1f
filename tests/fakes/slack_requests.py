"""Talk to the bot the way Slack does: signed Events API, slash-command and interactivity posts.

Payload shapes follow bolt-async-notes §5 (real envelopes from bolt-python and python-slack-sdk
tests); signing follows §2.5 (``v0=HMAC_SHA256(secret, "v0:{ts}:{body}")`` over the exact bytes
sent). Event timestamps come from the shared ``TsClock`` so they sort with FakeSlack's messages.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp

from .ts import next_ts

__all__ = [
    "BotResponse",
    "SlackSender",
    "app_context_changed_event",
    "app_home_opened_event",
    "block_actions_payload",
    "button_action",
    "event_envelope",
    "feedback_click",
    "mention_event",
    "message_event",
    "next_event_id",
    "next_ts",
    "person_authorizations",
    "sign",
]

JSON = dict[str, Any]
_event_ids = itertools.count(1)


def next_event_id() -> str:
    """Unique ``Ev…`` id, as the dedupe key Slack puts in every event envelope."""
    return f"Ev{next(_event_ids):010d}"


def sign(secret: str, body: str, ts: int | None = None) -> dict[str, str]:
    """Slack v0 request-signing headers for ``body`` (sign exactly what you send)."""
    stamp = str(int(time.time()) if ts is None else ts)
    base = f"v0:{stamp}:{body}".encode()
    sig = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": sig}


@dataclass
class BotResponse:
    """What the bot answered (status, body text, headers)."""

    status: int
    text: str
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.text)


class SlackSender:
    """Posts signed requests to the bot's Slack endpoint (e.g. ``http://127.0.0.1:P/slack/events``).

    Bolt routes events, commands and actions through one endpoint by default; pass ``url=`` to a
    call to target another path.
    """

    def __init__(self, bot_url: str, signing_secret: str, session: aiohttp.ClientSession) -> None:
        self.bot_url = bot_url
        self.signing_secret = signing_secret
        self.session = session

    async def event(
        self,
        event: JSON,
        *,
        team_id: str = "T0001",
        event_id: str | None = None,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
        api_app_id: str = "A0001",
        bot_user_id: str = "UBOT",
        authorizations: list[JSON] | None = None,
        event_time: int | None = None,
        url: str | None = None,
    ) -> BotResponse:
        """Wrap ``event`` in an ``event_callback`` envelope and post it as signed JSON."""
        envelope = event_envelope(
            event,
            team_id=team_id,
            event_id=event_id,
            api_app_id=api_app_id,
            bot_user_id=bot_user_id,
            authorizations=authorizations,
            event_time=event_time,
        )
        headers = {"Content-Type": "application/json"}
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = retry_reason
        return await self._post_signed(json.dumps(envelope), headers, url)

    async def url_verification(self, challenge: str = "fake-challenge") -> BotResponse:
        body = {"token": "verification-token", "challenge": challenge, "type": "url_verification"}
        return await self._post_signed(json.dumps(body), {"Content-Type": "application/json"}, None)

    async def command(
        self,
        text: str,
        *,
        command: str = "/glm-agent",
        channel_id: str = "C0001",
        channel_name: str = "general",
        user_id: str = "U0001",
        user_name: str = "alice",
        response_url: str = "",
        team_id: str = "T0001",
        team_domain: str = "fake",
        trigger_id: str | None = None,
        api_app_id: str = "A0001",
        url: str | None = None,
    ) -> BotResponse:
        """A slash command, form-encoded and signed, as Slack posts it."""
        form = {
            "token": "verification-token",
            "team_id": team_id,
            "team_domain": team_domain,
            "channel_id": channel_id,
            "channel_name": channel_name,
            "user_id": user_id,
            "user_name": user_name,
            "command": command,
            "text": text,
            "api_app_id": api_app_id,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": trigger_id or f"{int(time.time())}.1.{uuid.uuid4().hex[:24]}",
        }
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        return await self._post_signed(urlencode(form), headers, url)

    async def action(self, payload: JSON, *, url: str | None = None) -> BotResponse:
        """An interactivity payload (block_actions, view_submission…) as ``payload=<json>``."""
        body = urlencode({"payload": json.dumps(payload)})
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        return await self._post_signed(body, headers, url)

    async def raw(
        self, body: bytes, headers: dict[str, str], *, url: str | None = None
    ) -> BotResponse:
        """Post bytes exactly as given (no signing): for hostile or malformed requests."""
        async with self.session.post(url or self.bot_url, data=body, headers=headers) as resp:
            return BotResponse(resp.status, await resp.text(), dict(resp.headers))

    async def _post_signed(
        self, body: str, headers: dict[str, str], url: str | None
    ) -> BotResponse:
        headers = {**headers, **sign(self.signing_secret, body)}
        return await self.raw(body.encode(), headers, url=url)


# ---------------------------------------------------------------------- payload builders


def event_envelope(
    event: JSON,
    *,
    team_id: str = "T0001",
    event_id: str | None = None,
    api_app_id: str = "A0001",
    bot_user_id: str = "UBOT",
    authorizations: list[JSON] | None = None,
    event_time: int | None = None,
) -> JSON:
    """The Events API ``event_callback`` body around ``event``."""
    channel = event.get("channel", "")
    return {
        "token": "verification-token",
        "team_id": team_id,
        "context_team_id": team_id,
        "context_enterprise_id": None,
        "api_app_id": api_app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or next_event_id(),
        "event_time": event_time if event_time is not None else int(time.time()),
        "authorizations": authorizations
        if authorizations is not None
        else [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": f"4-{event.get('type', 'message')}-{team_id}-{channel}",
    }


def _rich_text(text: str, mention: str | None = None) -> list[JSON]:
    elements: list[JSON] = []
    if mention:
        elements.append({"type": "user", "user_id": mention})
        text = text.removeprefix(f"<@{mention}>")
    if text:
        elements.append({"type": "text", "text": text})
    return [
        {
            "type": "rich_text",
            "block_id": uuid.uuid4().hex[:5],
            "elements": [{"type": "rich_text_section", "elements": elements}],
        }
    ]


def mention_event(
    text: str,
    *,
    channel: str = "C0001",
    user: str = "U0001",
    ts: str | None = None,
    thread_ts: str | None = None,
    bot_user_id: str = "UBOT",
    team: str = "T0001",
    files: list[JSON] | None = None,
) -> JSON:
    """An ``app_mention`` event; ``text`` gets the ``<@UBOT> `` prefix Slack puts there.

    ``files`` (objects from ``FakeSlack.add_file``) ride along as Slack sends them."""
    ts = ts or next_ts()
    full = f"<@{bot_user_id}> {text}"
    event: JSON = {
        "client_msg_id": str(uuid.uuid4()),
        "type": "app_mention",
        "text": full,
        "user": user,
        "ts": ts,
        "blocks": _rich_text(full, mention=bot_user_id),
        "team": team,
        "channel": channel,
        "event_ts": ts,
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    if files:
        event["files"] = files
        event["upload"] = False
    return event


def message_event(
    text: str,
    *,
    channel: str = "C0001",
    user: str | None = "U0001",
    ts: str | None = None,
    thread_ts: str | None = None,
    channel_type: str = "channel",
    subtype: str | None = None,
    bot_id: str | None = None,
    parent_user_id: str | None = None,
    team: str = "T0001",
    files: list[JSON] | None = None,
) -> JSON:
    """A ``message`` event (``message.channels`` / ``message.im``), human or bot-authored.

    With ``files``, it is a ``file_share`` message carrying them (Slack's shape)."""
    ts = ts or next_ts()
    if files and subtype is None:
        subtype = "file_share"
    event: JSON = {"type": "message", "text": text, "ts": ts}
    if subtype:
        event["subtype"] = subtype
    if bot_id is None and subtype is None:
        event["client_msg_id"] = str(uuid.uuid4())
    if user is not None:
        event["user"] = user
    if bot_id is not None:
        event["bot_id"] = bot_id
        event["bot_profile"] = {"id": bot_id, "app_id": "A0BOT", "name": "bot", "team_id": team}
    if subtype == "bot_message":
        event["username"] = "classic-bot"
    event["blocks"] = _rich_text(text)
    event["team"] = team
    if files:
        event["files"] = files
        event["upload"] = False
    if thread_ts:
        event["thread_ts"] = thread_ts
        if parent_user_id:
            event["parent_user_id"] = parent_user_id
    event.update({"channel": channel, "event_ts": ts, "channel_type": channel_type})
    return event


def button_action(action_id: str, value: str, *, block_id: str = "actions") -> JSON:
    """One ``actions[]`` entry for a clicked button."""
    return {
        "type": "button",
        "action_id": action_id,
        "block_id": block_id,
        "value": value,
        "text": {"type": "plain_text", "text": value, "emoji": True},
        "action_ts": next_ts(),
    }


def block_actions_payload(
    actions: list[JSON],
    *,
    channel: str = "C0001",
    message_ts: str,
    user: str = "U0001",
    response_url: str = "",
    thread_ts: str | None = None,
    team_id: str = "T0001",
    api_app_id: str = "A0001",
    message: JSON | None = None,
) -> JSON:
    """A ``block_actions`` payload from a message (container type ``message``)."""
    container: JSON = {
        "type": "message",
        "message_ts": message_ts,
        "channel_id": channel,
        "is_ephemeral": False,
    }
    if thread_ts:
        container["thread_ts"] = thread_ts
    return {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": team_id},
        "api_app_id": api_app_id,
        "token": "verification-token",
        "container": container,
        "trigger_id": f"{int(time.time())}.1.{uuid.uuid4().hex[:24]}",
        "team": {"id": team_id, "domain": "fake"},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel, "name": channel.lower()},
        "message": message or {"type": "message", "ts": message_ts, "text": ""},
        "response_url": response_url,
        "actions": actions,
    }


def app_home_opened_event(
    *, user: str = "U0001", channel: str = "D0001", tab: str = "messages"
) -> JSON:
    """``app_home_opened`` as an agent app gets it when its Messages tab opens (§2.5)."""
    return {
        "type": "app_home_opened",
        "user": user,
        "channel": channel,
        "tab": tab,
        "event_ts": next_ts(),
    }


def app_context_changed_event(
    *,
    channel_id: str | None = None,
    message_in: tuple[str, str] | None = None,
    team: str = "T0001",
    user: str | None = None,
    dm_channel: str | None = None,
) -> JSON:
    """``app_context_changed`` (docs.slack.dev/reference/events/app_context_changed): what the
    person is viewing, as ``context.entities``; Slack's own example has no ``user`` or
    ``channel``, so they are only added when asked for. No entities → ``"context": {}``."""
    entities: list[JSON] = []
    if message_in is not None:
        entities.append(
            {
                "type": "slack#/types/message_context",
                "value": {"channel_id": message_in[0], "message_ts": message_in[1]},
                "team_id": team,
            }
        )
    if channel_id is not None:
        entities.append({"type": "slack#/types/channel_id", "value": channel_id, "team_id": team})
    event: JSON = {
        "type": "app_context_changed",
        "context": {"entities": entities} if entities else {},
    }
    if user is not None:
        event["user"] = user
    if dm_channel is not None:
        event["channel"] = dm_channel
    event["event_ts"] = next_ts()
    return event


def person_authorizations(user: str = "U0001", team_id: str = "T0001") -> list[JSON]:
    """The envelope's ``authorizations`` for a user-scoped event (``is_bot: false``)."""
    return [
        {
            "enterprise_id": None,
            "team_id": team_id,
            "user_id": user,
            "is_bot": False,
            "is_enterprise_install": False,
        }
    ]


def feedback_click(
    message: JSON, *, positive: bool = True, user: str = "U0001", channel: str = "C0001"
) -> JSON:
    """The ``block_actions`` payload Slack sends when a 👍/👎 of ``message`` (as stored by the
    fake: ``Message.to_api()``) is clicked: the action is of type ``feedback_buttons`` and carries
    the clicked button's ``value`` (bolt-js ``FeedbackButtonsAction``)."""
    for block in message.get("blocks") or []:
        if block.get("type") != "context_actions":
            continue
        for element in block["elements"]:
            if element.get("type") != "feedback_buttons":
                continue
            button = element["positive_button" if positive else "negative_button"]
            action = {
                "type": "feedback_buttons",
                "action_id": element.get("action_id", ""),
                "block_id": block.get("block_id", uuid.uuid4().hex[:5]),
                "value": button["value"],
                "text": button["text"],
                "action_ts": next_ts(),
            }
            return block_actions_payload(
                [action],
                channel=channel,
                message_ts=message["ts"],
                user=user,
                thread_ts=message.get("thread_ts"),
                message=message,
            )
    raise AssertionError(f"no feedback buttons in {message}")
