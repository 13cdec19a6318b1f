"""``/glm-agent``: see and switch the assistant that new threads use, per channel and per DM.

The choice lives in the database (``channel_settings``), keyed by ``(team_id, channel_id)``;
a DM's channel id is that user's DM with the bot, so the DM case is naturally per user. Only
*new* threads read it: a thread keeps the assistant it started with, because its GLM
``conversation_id`` belongs to that assistant (see :mod:`bot.conversations`).

Everything the user sees is built in :mod:`bot.slack.agent_messages` (pure, unit-tested);
the Bolt listeners here only ack, read keys from the payload, call the small async "answer"
functions and ``respond()`` through ``response_url`` (which works in channels the bot has not
joined and in DMs, unlike ``chat.postEphemeral``).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import ValidationError
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.action_ids import SELECT_ACTION_ID
from bot.agents import OFFICIAL_CATALOGUE, Agent, Catalogue, is_assistant_id
from bot.slack.agent_messages import (
    AGENT_COMMAND,
    Answer,
    confirmation_text,
    database_error_text,
    help_text,
    invalid_selection_text,
    list_text,
    malformed_command_text,
    no_match_text,
    not_permitted_text,
    picker_blocks,
    picker_text,
    reset_text,
)
from bot.slack.payloads import BlockActions, SlashCommand
from bot.store.repository import Repository
from bot.texts import Lang

__all__ = [
    "AgentSettings",
    "answer_command",
    "answer_selection",
    "on_agent_command",
    "on_agent_selection",
    "register_agent_command",
]

log = logging.getLogger(__name__)

JSON = dict[str, Any]

_HELP_WORDS = frozenset({"help", "?", "-h", "--help", "usage"})
_LIST_WORDS = frozenset({"list", "ls", "catalogue", "catalog", "all"})
_DEFAULT_WORDS = frozenset({"default", "reset"})


# ---------------------------------------------------------------------------------------------
# Behaviour (database access, no Slack)


class AgentSettings:
    """The per-channel assistant choice on top of the repository, with the configured default."""

    def __init__(
        self,
        repo: Repository,
        default_assistant_id: str,
        admins: frozenset[str] = frozenset(),
        catalogue: Catalogue = OFFICIAL_CATALOGUE,
    ) -> None:
        self._repo = repo
        self.catalogue = catalogue  # the official assistants and the workspace's named ones
        self.default = catalogue.by_id(default_assistant_id)
        self._admins = admins

    def may_change(self, user_id: str) -> bool:
        """With AGENT_ADMIN_USER_IDS set, only those users switch assistants; others can look."""
        return not self._admins or user_id in self._admins

    async def current(self, team_id: str, channel_id: str) -> Agent:
        """The agent new threads here start with (same rule as :mod:`bot.conversations`)."""
        stored = await self._repo.get_channel_assistant(team_id=team_id, channel_id=channel_id)
        if stored is None:
            return self.default
        try:
            return self.catalogue.by_id(stored)
        except ValueError:  # a row written by hand; threads would still use it verbatim
            log.warning("channel %s/%s has a malformed assistant id", team_id, channel_id)
            return self.default

    async def choose(
        self, team_id: str, channel_id: str, agent: Agent | None, user_id: str
    ) -> None:
        """Store the choice (``None`` clears it back to the default), recording who did it."""
        assistant_id = agent.assistant_id if agent is not None else None
        await self._repo.set_channel_assistant(
            team_id=team_id, channel_id=channel_id, assistant_id=assistant_id, updated_by=user_id
        )
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
        if not settings.may_change(user_id):
            return Answer(not_permitted_text(lang))
        await settings.choose(team_id, channel_id, None, user_id)
        return Answer(reset_text(default, channel_id=channel_id, lang=lang))
    catalogue = settings.catalogue
    if word in _HELP_WORDS:
        current = await settings.current(team_id, channel_id)
        return Answer(
            help_text(
                current, channel_id=channel_id, default=default, lang=lang, catalogue=catalogue
            )
        )
    if word in _LIST_WORDS:
        current = await settings.current(team_id, channel_id)
        return Answer(
            list_text(
                current, channel_id=channel_id, default=default, lang=lang, catalogue=catalogue
            )
        )

    resolution = catalogue.resolve(selector) if selector else None
    if resolution is None or resolution.reason == "empty":
        current = await settings.current(team_id, channel_id)
        return Answer(
            picker_text(current, channel_id=channel_id, default=default, lang=lang),
            blocks=picker_blocks(
                current, channel_id=channel_id, default=default, lang=lang, catalogue=catalogue
            ),
        )
    if resolution.agent is None:
        return Answer(no_match_text(selector, resolution, lang, catalogue=catalogue))
    if not settings.may_change(user_id):
        return Answer(not_permitted_text(lang))
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
        return Answer(invalid_selection_text(lang))
    if not settings.may_change(user_id):
        return Answer(not_permitted_text(lang))
    agent = settings.catalogue.by_id(value)
    await settings.choose(team_id, channel_id, agent, user_id)
    return Answer(confirmation_text(agent, channel_id=channel_id, lang=lang), replace_original=True)


# ---------------------------------------------------------------------------------------------
# Bolt listeners


Language = Callable[[str], Awaitable[Lang]]


def _typed_command(command: JSON) -> SlashCommand | None:
    """The payload as a typed value where it enters; ``None`` (logged) if it is not one.

    The guard refuses malformed commands before Bolt sees them; this only matters if the
    guard and the model ever disagree, and then the person gets an answer, not silence."""
    try:
        return SlashCommand.model_validate(command)
    except ValidationError as exc:
        log.warning("ignored a slash command of unexpected shape (%d problems)", exc.error_count())
        return None


def _typed_click(body: JSON) -> BlockActions | None:
    try:
        return BlockActions.model_validate(body)
    except ValidationError as exc:
        log.warning("ignored a picker click of unexpected shape (%d problems)", exc.error_count())
        return None


def _action_keys(click: BlockActions) -> tuple[str, str, str] | None:
    """``(team, channel, user)`` of a picker click, or ``None`` if incomplete."""
    team = (click.team.id if click.team else None) or click.user.team_id
    channel = (click.channel.id if click.channel else None) or (
        click.container.channel_id if click.container else None
    )
    if not (team and channel):
        return None
    return team, channel, click.user.id


async def on_agent_command(
    settings: AgentSettings, command: JSON, respond: AsyncRespond | None, language: Language
) -> None:
    """``/glm-agent [text]`` after the ack: answer through ``response_url``, never raise."""
    cmd = _typed_command(command)
    if cmd is None:
        await _send(respond, Answer(malformed_command_text()))
        return
    lang = await language(cmd.user_id)
    try:
        answer = await answer_command(
            settings,
            cmd.text,
            team_id=cmd.team_id,
            channel_id=cmd.channel_id,
            user_id=cmd.user_id,
            lang=lang,
        )
    except Exception:
        log.exception("/glm-agent failed")
        answer = Answer(database_error_text(lang))
    await _send(respond, answer)


async def on_agent_selection(
    settings: AgentSettings, body: JSON, respond: AsyncRespond | None, language: Language
) -> None:
    """A choice from the picker after the ack: store it and say so, never raise."""
    click = _typed_click(body)
    keys = _action_keys(click) if click is not None else None
    if click is None or keys is None:
        log.warning("agent picker payload without team/channel/user; ignored")
        return
    option = click.actions[0].selected_option
    value = (option.value if option else None) or ""
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


async def _send(respond: AsyncRespond | None, answer: Answer) -> None:
    """Post the answer through ``response_url``; a dead URL is logged, not raised."""
    if respond is None:  # Bolt gives no respond() to a payload without a response_url
        log.info("no response_url to answer /glm-agent through")
        return
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
    language: Language = _english,
    admins: frozenset[str] = frozenset(),
    catalogue: Catalogue = OFFICIAL_CATALOGUE,
) -> None:
    """Register ``/glm-agent`` and its picker action on ``app``.

    Both listeners ack before touching the database, so Slack gets its 200 within the 3 s
    window whatever the database does, then answer through ``response_url``.
    """
    settings = AgentSettings(repo, default_assistant_id, admins, catalogue)

    @app.command(AGENT_COMMAND)
    async def agent_command(ack: AsyncAck, command: JSON, respond: AsyncRespond) -> None:
        await ack()
        await on_agent_command(settings, command, respond, language)

    @app.action(SELECT_ACTION_ID)
    async def agent_selected(ack: AsyncAck, body: JSON, respond: AsyncRespond) -> None:
        await ack()
        await on_agent_selection(settings, body, respond, language)
