"""``/glm-agent``: see and switch the assistant that new threads use, per channel and per DM.

The choice lives in the database (``channel_settings``), keyed by ``(team_id, channel_id)``;
a DM's channel id is that user's DM with the bot, so the DM case is naturally per user. Only
*new* threads read it: a thread keeps the assistant it started with, because its GLM
``conversation_id`` belongs to that assistant (see :mod:`bot.conversations`).

Everything the user sees is built by the pure functions at the top (unit-tested without
Slack); the Bolt listeners at the bottom only ack, read keys from the payload, call the
small async "answer" functions and ``respond()`` through ``response_url`` (which works in
channels the bot has not joined and in DMs, unlike ``chat.postEphemeral``).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.agents import (
    OFFICIAL_AGENTS,
    Agent,
    Resolution,
    agent_by_id,
    is_assistant_id,
    resolve_agent,
)
from bot.slack.render import escape_mrkdwn
from bot.store.repository import Repository
from bot.texts import Lang

__all__ = [
    "AGENT_COMMAND",
    "PICKER_BLOCK_ID",
    "SELECT_ACTION_ID",
    "AgentSettings",
    "Answer",
    "answer_command",
    "answer_selection",
    "catalogue_text",
    "confirmation_text",
    "database_error_text",
    "help_text",
    "list_text",
    "no_match_text",
    "picker_blocks",
    "picker_text",
    "register_agent_command",
    "reset_text",
]

log = logging.getLogger(__name__)

JSON = dict[str, Any]

AGENT_COMMAND = "/glm-agent"
SELECT_ACTION_ID = "glm_agent_select"
PICKER_BLOCK_ID = "glm_agent_picker"

# Block Kit limits: option text/description are plain_text of at most 75 characters.
_OPTION_TEXT_MAX = 75
# Echoed selectors are clipped so a pasted essay does not become the reply.
_ECHO_MAX = 60

_HELP_WORDS = frozenset({"help", "?", "-h", "--help", "usage"})
_LIST_WORDS = frozenset({"list", "ls", "catalogue", "catalog", "all"})
_DEFAULT_WORDS = frozenset({"default", "reset"})


# ---------------------------------------------------------------------------------------------
# Pure text and Block Kit


@dataclass(frozen=True, slots=True)
class Answer:
    """What to send back through ``response_url``: mrkdwn text and optional blocks.

    ``replace_original`` replaces the picker message (after a selection); ``text`` is also
    the notification fallback when blocks are present.
    """

    text: str
    blocks: list[JSON] | None = None
    replace_original: bool = False


def _clip(text: str, limit: int) -> str:
    """Shorten ``text`` to ``limit`` characters with an ellipsis (Block Kit rejects longer)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _pick(lang: Lang, en: str, zh: str) -> str:
    """The /glm-agent texts in the user's language (the rest of the bot uses bot.texts)."""
    return zh if lang == "zh" else en


def _scope(channel_id: str, lang: Lang = "en") -> str:
    """``this DM`` or ``this channel``: the confirmation should say where the choice applies."""
    if channel_id.startswith("D"):
        return _pick(lang, "this DM", "这个私信")
    return _pick(lang, "this channel", "这个频道")


def _label(agent: Agent, lang: Lang = "en") -> str:
    """Bold name plus the handle people can type: ``*AI画图（官方） · AI drawing* (`drawing`)``."""
    if agent.custom:
        return _pick(lang, "a custom agent", "自定义智能体") + f" (`{agent.assistant_id}`)"
    return f"*{escape_mrkdwn(agent.display_name)}* (`{agent.short_name}`)"


def _echo(selector: str) -> str:
    """User text made safe to show inside inline code: escaped, no backticks, clipped."""
    flat = " ".join(selector.split()).replace("`", "'")
    return escape_mrkdwn(_clip(flat, _ECHO_MAX))


def _candidate(agent: Agent) -> str:
    """One "did you mean" entry: number, official name and short name."""
    return f"{agent.number}. {escape_mrkdwn(agent.official_name)} (`{agent.short_name}`)"


def catalogue_text(lang: Lang = "en") -> str:
    """The twelve official assistants, one mrkdwn line each: number, name, handle, what it does."""
    return "\n".join(
        f"*{agent.number}.* {escape_mrkdwn(agent.official_name)} · `{agent.short_name}` — "
        f"{escape_mrkdwn(agent.description_zh if lang == 'zh' else agent.description_en)}"
        for agent in OFFICIAL_AGENTS
    )


def _current_line(current: Agent, channel_id: str, default: Agent, lang: Lang = "en") -> str:
    """Which assistant answers new threads here, and whether that is just the default."""
    is_default = current.assistant_id == default.assistant_id
    if lang == "zh":
        suffix = "（默认）" if is_default else ""
        return f"{_scope(channel_id, lang)}的新消息串使用 {_label(current, lang)}{suffix}。"
    suffix = " (the default)" if is_default else ""
    return f"New threads in {_scope(channel_id)} use {_label(current)}{suffix}."


def _usage_lines(default: Agent, lang: Lang = "en") -> list[str]:
    """The command forms, shared by help and error replies."""
    if lang == "zh":
        return [
            f"• `{AGENT_COMMAND}` — 查看当前智能体并从菜单选择",
            f"• `{AGENT_COMMAND} <选择>` — 切换；可以用编号（`1`–`{len(OFFICIAL_AGENTS)}`）、"
            "名称（`drawing`、`AI画图`、`AI画图（官方）`，不区分大小写，唯一前缀即可）"
            "或 24 位十六进制 `assistant_id`（也支持自定义智能体）",
            f"• `{AGENT_COMMAND} list` — 智能体列表",
            f"• `{AGENT_COMMAND} default` — 恢复为默认的 {escape_mrkdwn(default.display_name)}",
            f"• `{AGENT_COMMAND} help` — 本帮助",
        ]
    return [
        f"• `{AGENT_COMMAND}` — show the current assistant and a picker",
        f"• `{AGENT_COMMAND} <selector>` — switch; a selector is the list number (`1`–"
        f"`{len(OFFICIAL_AGENTS)}`), a name (`drawing`, `AI画图`, `AI画图（官方）`, any case; "
        "a unique prefix is enough) or a 24-hex `assistant_id` (custom agents too)",
        f"• `{AGENT_COMMAND} list` — the catalogue",
        f"• `{AGENT_COMMAND} default` — back to the configured default, "
        f"{escape_mrkdwn(default.display_name)}",
        f"• `{AGENT_COMMAND} help` — this help",
    ]


def picker_text(current: Agent, *, channel_id: str, default: Agent, lang: Lang = "en") -> str:
    """Notification fallback for the picker message (blocks carry the real content)."""
    if lang == "zh":
        return (
            f"{_current_line(current, channel_id, default, lang)} "
            f"用菜单或 `{AGENT_COMMAND} <编号或名称>` 切换。"
        )
    return (
        f"{_current_line(current, channel_id, default)} "
        f"Pick another with the menu or `{AGENT_COMMAND} <number or name>`."
    )


def _option(agent: Agent) -> JSON:
    """A ``static_select`` option: ``N. official_name``, handle and English title, the id."""
    return {
        "text": {
            "type": "plain_text",
            "text": _clip(f"{agent.number}. {agent.official_name}", _OPTION_TEXT_MAX),
            "emoji": True,
        },
        "description": {
            "type": "plain_text",
            "text": _clip(f"{agent.short_name} · {agent.title_en}", _OPTION_TEXT_MAX),
            "emoji": True,
        },
        "value": agent.assistant_id,
    }


def picker_blocks(
    current: Agent, *, channel_id: str, default: Agent, lang: Lang = "en"
) -> list[JSON]:
    """The ephemeral picker: current assistant with a select menu, the catalogue, a usage hint.

    ``initial_option`` must equal one of the options exactly, so it is set only for official
    agents; a custom current agent is described in the text instead.
    """
    select: JSON = {
        "type": "static_select",
        "action_id": SELECT_ACTION_ID,
        "placeholder": {
            "type": "plain_text",
            "text": _pick(lang, "Switch assistant", "切换智能体"),
            "emoji": True,
        },
        "options": [_option(agent) for agent in OFFICIAL_AGENTS],
    }
    if not current.custom:
        select["initial_option"] = _option(current)
    return [
        {
            "type": "section",
            "block_id": PICKER_BLOCK_ID,
            "text": {
                "type": "mrkdwn",
                "text": f"{_current_line(current, channel_id, default, lang)}\n" + _keep_line(lang),
            },
            "accessory": select,
        },
        {"type": "section", "text": {"type": "mrkdwn", "text": catalogue_text(lang)}},
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": _pick(lang, "Or type", "也可以输入")
                    + f" `{AGENT_COMMAND} 6`, `{AGENT_COMMAND} drawing`, "
                    f"`{AGENT_COMMAND} default` · `{AGENT_COMMAND} help` "
                    + _pick(lang, "for all options", "查看全部用法"),
                }
            ],
        },
    ]


def _keep_line(lang: Lang) -> str:
    return _pick(
        lang,
        "Existing threads keep the assistant they started with.",
        "已经开始的消息串继续使用原来的智能体。",
    )


def help_text(current: Agent, *, channel_id: str, default: Agent, lang: Lang = "en") -> str:
    """Usage, scope rules and the catalogue: everything ``/glm-agent help`` should answer."""
    if lang == "zh":
        return "\n".join(
            [
                f"*{AGENT_COMMAND}* 选择回答{_scope(channel_id, lang)}中*新*消息串的 GLM 智能体。"
                "已经开始的消息串继续使用原来的智能体（对话属于它）。",
                _current_line(current, channel_id, default, lang),
                "",
                *_usage_lines(default, lang),
                "",
                "*智能体*",
                catalogue_text(lang),
            ]
        )
    return "\n".join(
        [
            f"*{AGENT_COMMAND}* chooses the GLM assistant that answers *new* threads in "
            f"{_scope(channel_id)}. Threads already started keep their assistant (their "
            "conversation belongs to it).",
            _current_line(current, channel_id, default),
            "",
            *_usage_lines(default),
            "",
            "*Assistants*",
            catalogue_text(),
        ]
    )


def list_text(current: Agent, *, channel_id: str, default: Agent, lang: Lang = "en") -> str:
    """The catalogue with the current choice on top."""
    if lang == "zh":
        return "\n".join(
            [
                _current_line(current, channel_id, default, lang),
                "",
                catalogue_text(lang),
                "",
                f"用 `{AGENT_COMMAND} <编号或名称>` 切换。",
            ]
        )
    return "\n".join(
        [
            _current_line(current, channel_id, default),
            "",
            catalogue_text(),
            "",
            f"Switch with `{AGENT_COMMAND} <number or name>`.",
        ]
    )


def confirmation_text(agent: Agent, *, channel_id: str, lang: Lang = "en") -> str:
    """After a switch: what new threads here will use, and that existing threads do not move."""
    if lang == "zh":
        lines = [
            f":white_check_mark: {_scope(channel_id, lang)}的新消息串将使用 "
            f"{_label(agent, lang)}。",
            _keep_line(lang),
        ]
        if agent.custom:
            lines.append(
                "_这个 id 不是官方智能体，将作为自定义智能体使用；"
                "如果 GLM 不认识它，回答会显示错误。_"
            )
        return "\n".join(lines)
    lines = [
        f":white_check_mark: New threads in {_scope(channel_id)} will use {_label(agent)}.",
        "Existing threads keep the assistant they started with.",
    ]
    if agent.custom:
        lines.append(
            "_This id is not one of the official assistants, so it is used as a custom agent; "
            "if GLM does not know it, replies will show an error._"
        )
    return "\n".join(lines)


def reset_text(default: Agent, *, channel_id: str, lang: Lang = "en") -> str:
    """After ``default``: the channel follows the configured default again."""
    if lang == "zh":
        return (
            f":leftwards_arrow_with_hook: {_scope(channel_id, lang)}已恢复默认："
            f"新消息串将使用 {_label(default, lang)}。\n" + _keep_line(lang)
        )
    where = _scope(channel_id).replace("this", "This", 1)
    return (
        f":leftwards_arrow_with_hook: {where} is back to the default: "
        f"new threads will use {_label(default)}.\n"
        "Existing threads keep the assistant they started with."
    )


def no_match_text(selector: str, resolution: Resolution, lang: Lang = "en") -> str:
    """Why a selector did not pick exactly one assistant, with the closest candidates."""
    shown = _echo(selector)
    if lang == "zh":
        if resolution.reason == "ambiguous":
            head, tail = (
                f":thinking_face: `{shown}` 匹配了多个智能体：",
                "请多输入几个字，或使用编号。",
            )
        elif resolution.candidates:
            head, tail = f":thinking_face: 没有叫 `{shown}` 的智能体。你是不是要找：", ""
        else:
            head, tail = f":thinking_face: 没有叫 `{shown}` 的智能体。", ""
        lines = [head, *(f"• {_candidate(agent)}" for agent in resolution.candidates)]
        if tail:
            lines.append(tail)
        lines.append(
            f"没有做任何更改。`{AGENT_COMMAND} list` 列出全部 {len(OFFICIAL_AGENTS)} 个智能体。"
        )
        return "\n".join(lines)
    if resolution.reason == "ambiguous":
        head = f":thinking_face: `{shown}` matches several assistants:"
        tail = "Type more of the name, or use the number."
    elif resolution.candidates:
        head = f":thinking_face: I don't know an assistant called `{shown}`. Did you mean:"
        tail = ""
    else:
        head = f":thinking_face: I don't know an assistant called `{shown}`."
        tail = ""
    lines = [head, *(f"• {_candidate(agent)}" for agent in resolution.candidates)]
    if tail:
        lines.append(tail)
    lines.append(
        f"Nothing was changed. `{AGENT_COMMAND} list` shows all {len(OFFICIAL_AGENTS)} assistants."
    )
    return "\n".join(lines)


def database_error_text(lang: Lang = "en") -> str:
    """A failure the user can act on (try again) without seeing internals."""
    if lang == "zh":
        return (
            ":warning: 暂时无法读取或保存智能体设置（数据库问题）。没有做任何更改，请一分钟后再试。"
        )
    return (
        ":warning: I could not read or save the assistant setting right now (database "
        "problem). Nothing was changed; please try again in a minute."
    )


def _invalid_selection_text(lang: Lang = "en") -> str:
    """A picker value that is not an assistant id (a forged or stale payload)."""
    if lang == "zh":
        return ":warning: 这个选项不是有效的智能体。没有做任何更改。"
    return ":warning: That choice is not a valid assistant. Nothing was changed."


# ---------------------------------------------------------------------------------------------
# Behaviour (database access, no Slack)


class AgentSettings:
    """The per-channel assistant choice on top of the repository, with the configured default."""

    def __init__(self, repo: Repository, default_assistant_id: str) -> None:
        self._repo = repo
        self.default = agent_by_id(default_assistant_id)

    async def current(self, team_id: str, channel_id: str) -> Agent:
        """The agent new threads here start with (same rule as :mod:`bot.conversations`)."""
        stored = await self._repo.get_channel_assistant(team_id, channel_id)
        if stored is None:
            return self.default
        try:
            return agent_by_id(stored)
        except ValueError:  # a row written by hand; threads would still use it verbatim
            log.warning("channel %s/%s has a malformed assistant id", team_id, channel_id)
            return self.default

    async def choose(
        self, team_id: str, channel_id: str, agent: Agent | None, user_id: str
    ) -> None:
        """Store the choice (``None`` clears it back to the default), recording who did it."""
        assistant_id = agent.assistant_id if agent is not None else None
        await self._repo.set_channel_assistant(team_id, channel_id, assistant_id, user_id)
        log.info(
            "assistant for %s/%s set to %s by %s",
            team_id,
            channel_id,
            assistant_id or "default",
            user_id,
        )


async def answer_command(
    settings: AgentSettings,
    text: str,
    *,
    team_id: str,
    channel_id: str,
    user_id: str,
    lang: Lang = "en",
) -> Answer:
    """Everything ``/glm-agent [text]`` can do; raises only on database errors."""
    selector = text.strip()
    word = selector.casefold()
    default = settings.default
    if word in _DEFAULT_WORDS:
        await settings.choose(team_id, channel_id, None, user_id)
        return Answer(reset_text(default, channel_id=channel_id, lang=lang))
    if word in _HELP_WORDS:
        current = await settings.current(team_id, channel_id)
        return Answer(help_text(current, channel_id=channel_id, default=default, lang=lang))
    if word in _LIST_WORDS:
        current = await settings.current(team_id, channel_id)
        return Answer(list_text(current, channel_id=channel_id, default=default, lang=lang))

    resolution = resolve_agent(selector) if selector else None
    if resolution is None or resolution.reason == "empty":
        current = await settings.current(team_id, channel_id)
        return Answer(
            picker_text(current, channel_id=channel_id, default=default, lang=lang),
            blocks=picker_blocks(current, channel_id=channel_id, default=default, lang=lang),
        )
    if resolution.agent is None:
        return Answer(no_match_text(selector, resolution, lang))
    await settings.choose(team_id, channel_id, resolution.agent, user_id)
    return Answer(confirmation_text(resolution.agent, channel_id=channel_id, lang=lang))


async def answer_selection(
    settings: AgentSettings,
    value: str,
    *,
    team_id: str,
    channel_id: str,
    user_id: str,
    lang: Lang = "en",
) -> Answer:
    """A choice from the picker: store it and replace the picker with the confirmation."""
    if not is_assistant_id(value):
        return Answer(_invalid_selection_text(lang))
    agent = agent_by_id(value)
    await settings.choose(team_id, channel_id, agent, user_id)
    return Answer(confirmation_text(agent, channel_id=channel_id, lang=lang), replace_original=True)


# ---------------------------------------------------------------------------------------------
# Bolt listeners


def _action_keys(body: JSON) -> tuple[str, str, str] | None:
    """``(team, channel, user)`` of a ``block_actions`` payload, or ``None`` if incomplete."""
    user = body.get("user") or {}
    team = (body.get("team") or {}).get("id") or user.get("team_id")
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
        "channel_id"
    )
    if not (team and channel and user.get("id")):
        return None
    return str(team), str(channel), str(user["id"])


async def _send(respond: AsyncRespond, answer: Answer) -> None:
    """Post the answer through ``response_url``; a dead URL is logged, not raised."""
    try:
        await respond(
            text=answer.text,
            blocks=answer.blocks,
            response_type="ephemeral",
            replace_original=answer.replace_original,
        )
    except Exception:
        log.exception("could not answer through response_url")


async def _english(_user_id: str) -> Lang:
    return "en"


def register_agent_command(
    app: AsyncApp,
    *,
    repo: Repository,
    default_assistant_id: str,
    language: Callable[[str], Awaitable[Lang]] = _english,
) -> None:
    """Register ``/glm-agent`` and its picker action on ``app``.

    Both listeners ack before touching the database, so Slack gets its 200 within the 3 s
    window whatever the database does, then answer through ``response_url``.
    """
    settings = AgentSettings(repo, default_assistant_id)

    @app.command(AGENT_COMMAND)
    async def on_agent_command(ack: AsyncAck, command: JSON, respond: AsyncRespond) -> None:
        await ack()
        lang = await language(str(command["user_id"]))
        try:
            answer = await answer_command(
                settings,
                str(command.get("text") or ""),
                team_id=str(command["team_id"]),
                channel_id=str(command["channel_id"]),
                user_id=str(command["user_id"]),
                lang=lang,
            )
        except Exception:
            log.exception("/glm-agent failed")
            answer = Answer(database_error_text(lang))
        await _send(respond, answer)

    @app.action(SELECT_ACTION_ID)
    async def on_agent_selected(
        ack: AsyncAck, body: JSON, action: JSON, respond: AsyncRespond
    ) -> None:
        await ack()
        keys = _action_keys(body)
        value = str((action.get("selected_option") or {}).get("value") or "")
        if keys is None:
            log.warning("agent picker payload without team/channel/user; ignored")
            return
        team_id, channel_id, user_id = keys
        lang = await language(user_id)
        try:
            answer = await answer_selection(
                settings, value, team_id=team_id, channel_id=channel_id, user_id=user_id, lang=lang
            )
        except Exception:
            log.exception("agent picker selection failed")
            answer = Answer(database_error_text(lang))
        await _send(respond, answer)
