"""What ``/glm-agent`` says: pure text and Block Kit builders, in English and 中文.

The words themselves live in :mod:`bot.texts` with everything else the bot says.

No Slack client and no database here, so every reply can be tested as plain data; the
listeners and the stored choice live in :mod:`bot.slack.commands`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.action_ids import SELECT_ACTION_ID
from bot.agents import OFFICIAL_CATALOGUE, Agent, Catalogue, Resolution
from bot.reply.render import escape_mrkdwn
from bot.texts import Lang, t

JSON = dict[str, Any]

AGENT_COMMAND = "/glm-agent"
PICKER_BLOCK_ID = "glm_agent_picker"

# Block Kit limits: option text/description are plain_text of at most 75 characters.
_OPTION_TEXT_MAX = 75
# A section block's text holds at most 3,000 characters; a long catalogue takes several.
_SECTION_TEXT_MAX = 3000
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


def _scope(channel_id: str, lang: Lang = "en") -> str:
    """``this DM`` or ``this channel``: the confirmation should say where the choice applies."""
    return t("agent.scope_dm" if channel_id.startswith("D") else "agent.scope_channel", lang)


def _label(agent: Agent, lang: Lang = "en") -> str:
    """Bold name plus the handle people can type: ``*AI画图（官方） · AI drawing* (`drawing`)``."""
    if agent.custom and not agent.named:
        return t("agent.custom_label", lang, id=agent.assistant_id)
    return f"*{escape_mrkdwn(agent.display_name)}* (`{agent.short_name}`)"


def _echo(selector: str) -> str:
    """User text made safe to show inside inline code: escaped, no backticks, clipped."""
    flat = " ".join(selector.split()).replace("`", "'")
    return escape_mrkdwn(_clip(flat, _ECHO_MAX))


def _candidate(agent: Agent) -> str:
    """One "did you mean" entry: number, official name and short name."""
    return f"{agent.number}. {escape_mrkdwn(agent.official_name)} (`{agent.short_name}`)"


def catalogue_text(lang: Lang = "en", *, catalogue: Catalogue = OFFICIAL_CATALOGUE) -> str:
    """The assistants (twelve official, then the workspace's own), one mrkdwn line each:
    number, name, handle, what it does."""
    return "\n".join(
        f"*{agent.number}.* {escape_mrkdwn(agent.official_name)} · `{agent.short_name}` — "
        f"{escape_mrkdwn(agent.description_zh if lang == 'zh' else agent.description_en)}"
        for agent in catalogue.agents
    )


def _current_line(current: Agent, channel_id: str, default: Agent, lang: Lang = "en") -> str:
    """Which assistant answers new threads here, and whether that is just the default."""
    is_default = current.assistant_id == default.assistant_id
    return t(
        "agent.current",
        lang,
        scope=_scope(channel_id, lang),
        label=_label(current, lang),
        suffix=t("agent.default_suffix", lang) if is_default else "",
    )


def _usage_lines(
    default: Agent, lang: Lang = "en", catalogue: Catalogue = OFFICIAL_CATALOGUE
) -> list[str]:
    """The command forms, shared by help and error replies."""
    return t(
        "agent.usage",
        lang,
        cmd=AGENT_COMMAND,
        count=len(catalogue.agents),
        default=escape_mrkdwn(default.display_name),
    ).split("\n")


def picker_text(current: Agent, *, channel_id: str, default: Agent, lang: Lang = "en") -> str:
    """Notification fallback for the picker message (blocks carry the real content)."""
    current_line = _current_line(current, channel_id, default, lang)
    return t("agent.picker_fallback", lang, current=current_line, cmd=AGENT_COMMAND)


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
    current: Agent,
    *,
    channel_id: str,
    default: Agent,
    lang: Lang = "en",
    catalogue: Catalogue = OFFICIAL_CATALOGUE,
) -> list[JSON]:
    """The ephemeral picker: current assistant with a select menu, the catalogue, a usage hint.

    ``initial_option`` must equal one of the options exactly, so it is set only for agents in
    the catalogue; an unnamed custom current agent is described in the text instead.
    """
    select: JSON = {
        "type": "static_select",
        "action_id": SELECT_ACTION_ID,
        "placeholder": {
            "type": "plain_text",
            "text": t("agent.picker_placeholder", lang),
            "emoji": True,
        },
        "options": [_option(agent) for agent in catalogue.agents],
    }
    if current in catalogue.agents:
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
        *(
            {"type": "section", "text": {"type": "mrkdwn", "text": part}}
            for part in _parts(catalogue_text(lang, catalogue=catalogue))
        ),
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": t("agent.picker_hint", lang, cmd=AGENT_COMMAND),
                }
            ],
        },
    ]


def _parts(text: str, limit: int = _SECTION_TEXT_MAX) -> list[str]:
    """Whole lines of ``text`` grouped into pieces Slack takes as one section's text."""
    parts: list[str] = []
    for line in text.split("\n"):
        if parts and len(parts[-1]) + 1 + len(line) <= limit:
            parts[-1] += "\n" + line
        else:
            parts.append(line[:limit])
    return parts


def _keep_line(lang: Lang) -> str:
    return t("agent.keep", lang)


def help_text(
    current: Agent,
    *,
    channel_id: str,
    default: Agent,
    lang: Lang = "en",
    catalogue: Catalogue = OFFICIAL_CATALOGUE,
) -> str:
    """Usage, scope rules and the catalogue: everything ``/glm-agent help`` should answer."""
    return "\n".join(
        [
            t("agent.help_intro", lang, cmd=AGENT_COMMAND, scope=_scope(channel_id, lang)),
            _current_line(current, channel_id, default, lang),
            "",
            *_usage_lines(default, lang, catalogue),
            "",
            t("agent.catalogue_heading", lang),
            catalogue_text(lang, catalogue=catalogue),
        ]
    )


def list_text(
    current: Agent,
    *,
    channel_id: str,
    default: Agent,
    lang: Lang = "en",
    catalogue: Catalogue = OFFICIAL_CATALOGUE,
) -> str:
    """The catalogue with the current choice on top."""
    return "\n".join(
        [
            _current_line(current, channel_id, default, lang),
            "",
            catalogue_text(lang, catalogue=catalogue),
            "",
            t("agent.switch_hint", lang, cmd=AGENT_COMMAND),
        ]
    )


def confirmation_text(agent: Agent, *, channel_id: str, lang: Lang = "en") -> str:
    """After a switch: what new threads here will use, and that existing threads do not move."""
    lines = [
        t("agent.confirmed", lang, scope=_scope(channel_id, lang), label=_label(agent, lang)),
        _keep_line(lang),
    ]
    if agent.custom and not agent.named:
        lines.append(t("agent.custom_note", lang))
    return "\n".join(lines)


def reset_text(default: Agent, *, channel_id: str, lang: Lang = "en") -> str:
    """After ``default``: the channel follows the configured default again."""
    scope = _scope(channel_id, lang)
    head = t(
        "agent.reset", lang, scope_start=scope[:1].upper() + scope[1:], label=_label(default, lang)
    )
    return f"{head}\n{_keep_line(lang)}"


def no_match_text(
    selector: str,
    resolution: Resolution,
    lang: Lang = "en",
    *,
    catalogue: Catalogue = OFFICIAL_CATALOGUE,
) -> str:
    """Why a selector did not pick exactly one assistant, with the closest candidates."""
    shown = _echo(selector)
    tail = ""
    if resolution.reason == "ambiguous":
        head = t("agent.ambiguous", lang, selector=shown)
        tail = t("agent.ambiguous_tail", lang)
    elif resolution.candidates:
        head = t("agent.unknown_did_you_mean", lang, selector=shown)
    else:
        head = t("agent.unknown", lang, selector=shown)
    lines = [head, *(f"• {_candidate(agent)}" for agent in resolution.candidates)]
    if tail:
        lines.append(tail)
    lines.append(
        t("agent.nothing_changed_list", lang, cmd=AGENT_COMMAND, count=len(catalogue.agents))
    )
    return "\n".join(lines)


def database_error_text(lang: Lang = "en") -> str:
    """A failure the user can act on (try again) without seeing internals."""
    return t("agent.database_error", lang)


def not_permitted_text(lang: Lang = "en") -> str:
    """The workspace limited switching to a few people (AGENT_ADMIN_USER_IDS)."""
    return t("agent.not_permitted", lang)


def malformed_command_text(lang: Lang = "en") -> str:
    """A command payload that is not one (never from Slack itself): say so, change nothing."""
    return t("agent.malformed_command", lang)


def invalid_selection_text(lang: Lang = "en") -> str:
    """A picker value that is not an assistant id (a forged or stale payload)."""
    return t("agent.invalid_selection", lang)
