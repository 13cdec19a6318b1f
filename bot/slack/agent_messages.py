"""What ``/glm-agent`` says: pure text and Block Kit builders, in English and 中文.

No Slack client and no database here, so every reply can be tested as plain data; the
listeners and the stored choice live in :mod:`bot.slack.commands`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.agents import OFFICIAL_AGENTS, Agent, Resolution
from bot.slack.render import escape_mrkdwn
from bot.texts import Lang

JSON = dict[str, Any]

AGENT_COMMAND = "/glm-agent"
SELECT_ACTION_ID = "glm_agent_select"
PICKER_BLOCK_ID = "glm_agent_picker"

# Block Kit limits: option text/description are plain_text of at most 75 characters.
_OPTION_TEXT_MAX = 75
# Echoed selectors are clipped so a pasted essay does not become the reply.
_ECHO_MAX = 60

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


def not_permitted_text(lang: Lang = "en") -> str:
    """The workspace limited switching to a few people (AGENT_ADMIN_USER_IDS)."""
    if lang == "zh":
        return ":lock: 这里只有管理员可以切换智能体。没有做任何更改。"
    return ":lock: Only the bot's admins can switch the assistant here. Nothing was changed."


def invalid_selection_text(lang: Lang = "en") -> str:
    """A picker value that is not an assistant id (a forged or stale payload)."""
    if lang == "zh":
        return ":warning: 这个选项不是有效的智能体。没有做任何更改。"
    return ":warning: That choice is not a valid assistant. Nothing was changed."
