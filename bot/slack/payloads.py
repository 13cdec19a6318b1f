"""The shapes of the Slack payloads the bot accepts, checked before anything is done with them.

Slack signs what it sends, but a correctly signed request can still be malformed (a buggy
proxy, a replay with a stolen secret, a future Slack change). Two layers, both pure:

1. :class:`BoltReadable`: every field Bolt's own request parsing reads
   (``slack_bolt.request.internals.build_context``: ``team``, ``user``, ``channel``,
   ``authorizations``, ``enterprise``, ``view``, ``event``, ``message``…) has a type Bolt can
   handle. Any payload, including event types we do not handle, must pass this, or Bolt raises
   (HTTP 500) before a listener runs.
2. The few shapes we act on, with the *form* of every field a handler uses (Slack ids, ``ts``
   as digits.digits, text within Slack's own message limit): the event envelope, ``message`` /
   ``app_mention`` / ``app_home_opened`` events, the slash command and ``block_actions``.
   Fields are optional where Slack legitimately omits them (bot messages have no ``user``,
   edits have no ``text``); present, they must be well formed. Routing then decides what to do
   with what is present.

:func:`inbound_problem` says why a parsed payload is unacceptable, or ``None``. It is used for
HTTP and Socket Mode alike (:mod:`bot.slack.guard`). Register a model in ``EVENT_MODELS`` when
a listener for a new event type starts reading fields; unknown types only need layer 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

__all__ = [
    "EVENT_MODELS",
    "MAX_DEPTH",
    "MAX_NODES",
    "MAX_TEXT_CHARS",
    "AppHomeOpenedEvent",
    "BlockActions",
    "BoltReadable",
    "EventEnvelope",
    "MessageEvent",
    "SlashCommand",
    "inbound_problem",
    "nesting_problem",
]

# Slack truncates message text at 40,000 characters, so nothing longer is a real message.
# (MAX_INPUT_CHARS, usually far lower, is a polite refusal further on, not a shape error.)
MAX_TEXT_CHARS = 40_000
MAX_DEPTH = 64  # real payloads nest about 12 deep (a message's rich-text blocks in an action)
MAX_NODES = 100_000  # objects, arrays and values in one payload


def _pattern(regex: str) -> Any:
    return StringConstraints(pattern=regex)


UserId = Annotated[str, _pattern(r"^[UW][A-Z0-9]{2,31}$")]
BotId = Annotated[str, _pattern(r"^B[A-Z0-9]{2,31}$")]
ChannelId = Annotated[str, _pattern(r"^[CDG][A-Z0-9]{2,31}$")]
TeamId = Annotated[str, _pattern(r"^T[A-Z0-9]{2,31}$")]
EnterpriseId = Annotated[str, _pattern(r"^E[A-Z0-9]{2,31}$")]
TeamOrEnterpriseId = Annotated[str, _pattern(r"^[TE][A-Z0-9]{2,31}$")]
AppId = Annotated[str, _pattern(r"^A[A-Z0-9]{2,31}$")]
EventId = Annotated[str, _pattern(r"^Ev[A-Za-z0-9]{1,62}$")]
Ts = Annotated[str, _pattern(r"^[0-9]{1,12}\.[0-9]{1,9}$")]
Text = Annotated[str, StringConstraints(max_length=MAX_TEXT_CHARS)]
Word = Annotated[str, _pattern(r"^[a-z0-9_.\-]{1,64}$")]  # subtype, channel_type, tab…
Url = Annotated[str, _pattern(r"^https?://[^\s]{1,2040}$")]
Short = Annotated[str, StringConstraints(max_length=2_000)]  # Slack's limit for action values


class _Strict(BaseModel):
    """Unknown fields pass through; known ones must have exactly their type (no coercion)."""

    model_config = ConfigDict(extra="allow", strict=True, frozen=True)


class _NeverNull(BaseModel):
    """Slack leaves out a field it has no value for; in these shapes it never sends ``null``.
    A null is therefore malformed, not "absent" (a mention whose ``text`` was null used to
    read as an empty mention and get the help text posted). Mixed into the shapes we act on,
    not into :class:`BoltReadable`, which must accept whatever Bolt copes with."""

    @model_validator(mode="before")
    @classmethod
    def _no_nulls(cls, data: Any) -> Any:
        if isinstance(data, dict):
            nulls = sorted(k for k in cls.model_fields if k in data and data[k] is None)
            if nulls:
                raise ValueError(f"null where Slack leaves the field out: {', '.join(nulls)}")
        return data


class _Ref(_Strict):
    """``{"id": …}`` objects (team, user, channel, enterprise) as Bolt reads them."""

    id: str | None = None
    team_id: str | None = None
    enterprise_id: str | None = None


class _View(_Strict):
    app_installed_team_id: str | None = None
    team_id: str | None = None


class _ResponseUrl(_Strict):
    response_url: str | None = None


class BoltReadable(_Strict):
    """Layer 1: what ``slack_bolt.request.internals.build_context`` reads, at every level."""

    type: str | None = None
    enterprise: str | _Ref | None = None
    enterprise_id: str | None = None
    team: str | _Ref | None = None
    team_id: str | None = None
    user: str | _Ref | None = None
    user_id: str | None = None
    channel: str | _Ref | None = None
    channel_id: str | None = None
    thread_ts: str | None = None
    is_enterprise_install: bool | str | None = None
    is_ext_shared_channel: bool | None = None
    authorizations: Sequence[BoltReadable] | None = None
    view: _View | None = None
    event: BoltReadable | None = None
    message: BoltReadable | None = None
    previous_message: BoltReadable | None = None
    item: BoltReadable | None = None
    assistant_thread: BoltReadable | None = None
    function_data: dict[str, Any] | None = None
    function_execution_id: str | None = None
    bot_access_token: str | None = None
    response_url: str | None = None
    response_urls: list[_ResponseUrl] | None = None


# --- Events API ---------------------------------------------------------------------------


class Authorization(BoltReadable):
    """Bolt takes the team from ``authorizations[0]`` alone when there is one."""

    enterprise_id: EnterpriseId | None = None
    team_id: TeamOrEnterpriseId | None = None
    user_id: UserId
    is_bot: bool | None = None
    is_enterprise_install: bool | None = None

    @model_validator(mode="after")
    def _names_a_workspace(self) -> Authorization:
        if self.team_id is None and self.enterprise_id is None:
            raise ValueError("an authorization needs a team_id or an enterprise_id")
        return self


class _EmbeddedMessage(BoltReadable, _NeverNull):
    """``event.message`` / ``previous_message`` of edits and deletions."""

    user: UserId | None = None
    bot_id: BotId | None = None
    ts: Ts | None = None
    thread_ts: Ts | None = None
    text: Text | None = None


class MessageEvent(BoltReadable, _NeverNull):
    """``message`` (all subtypes) and ``app_mention``: every field routing reads."""

    type: Literal["message", "app_mention"]
    subtype: Word | None = None
    user: UserId | None = None
    bot_id: BotId | None = None
    bot_profile: dict[str, Any] | None = None
    channel: ChannelId | None = None
    channel_type: Word | None = None
    ts: Ts | None = None
    thread_ts: Ts | None = None
    event_ts: Ts | None = None
    text: Text | None = None
    team: TeamOrEnterpriseId | None = None
    user_team: TeamOrEnterpriseId | None = None
    source_team: TeamOrEnterpriseId | None = None
    hidden: bool | None = None
    files: list[dict[str, Any]] | None = None
    message: _EmbeddedMessage | None = None
    previous_message: _EmbeddedMessage | None = None


class AppHomeOpenedEvent(BoltReadable, _NeverNull):
    """``app_home_opened`` (the Messages tab of the agent surface opens here)."""

    type: Literal["app_home_opened"]
    user: UserId
    channel: ChannelId | None = None
    tab: Word | None = None
    event_ts: Ts | None = None


class EventEnvelope(BoltReadable):
    """The ``event_callback`` body around every event."""

    type: Literal["event_callback"]
    team_id: TeamOrEnterpriseId
    enterprise_id: EnterpriseId | None = None
    context_team_id: TeamOrEnterpriseId | None = None
    context_enterprise_id: EnterpriseId | None = None
    api_app_id: AppId | None = None
    event_id: EventId
    event_time: int | None = None
    authorizations: Sequence[Authorization] | None = Field(default=None, max_length=100)
    event: BoltReadable


EVENT_MODELS: dict[str, type[BoltReadable]] = {
    "message": MessageEvent,
    "app_mention": MessageEvent,
    "app_home_opened": AppHomeOpenedEvent,
}


# --- Slash commands -----------------------------------------------------------------------


class SlashCommand(BoltReadable):
    """A slash command (form fields over HTTP, the same keys over Socket Mode)."""

    command: Annotated[str, _pattern(r"^/[^\s/]{1,64}$")]
    text: Text = ""
    user_id: UserId
    team_id: TeamOrEnterpriseId
    channel_id: ChannelId
    enterprise_id: EnterpriseId | Literal[""] | None = None
    response_url: Url | Literal[""] | None = None


# --- Interactivity ------------------------------------------------------------------------


class _ActionUser(_Ref):
    id: UserId
    team_id: TeamOrEnterpriseId | None = None


class _Team(_Ref):
    id: TeamOrEnterpriseId


class _Enterprise(_Ref):
    id: EnterpriseId


class _Channel(_Ref):
    id: ChannelId


class _Container(_Strict, _NeverNull):
    channel_id: ChannelId | None = None
    message_ts: Ts | None = None
    thread_ts: Ts | None = None


class _Option(_Strict):
    value: Short | None = None


class Action(_Strict, _NeverNull):
    type: str | None = None
    action_id: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    block_id: Annotated[str, StringConstraints(max_length=255)] | None = None
    value: Short | None = None
    selected_option: _Option | None = None
    action_ts: Ts | None = None


class _ActionMessage(BoltReadable):
    """A copy of the clicked message, whatever its shape: only what we read is checked."""

    ts: Ts | None = None
    thread_ts: Ts | None = None
    text: Text | None = None
    blocks: list[dict[str, Any]] | None = None


class BlockActions(BoltReadable):
    """A ``block_actions`` payload: a button or select in a message (or a view)."""

    type: Literal["block_actions"]
    user: _ActionUser
    team: _Team | None = None
    enterprise: _Enterprise | None = None
    channel: _Channel | None = None
    container: _Container | None = None
    message: _ActionMessage | None = None
    actions: list[Action] = Field(min_length=1, max_length=100)
    response_url: Url | Literal[""] | None = None


# --- Entry point --------------------------------------------------------------------------


def nesting_problem(
    data: Any, *, max_depth: int = MAX_DEPTH, max_nodes: int = MAX_NODES
) -> str | None:
    """Too deep or too big to hand to code that recurses (Bolt's copies, pydantic)."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    nodes = 0
    while stack:
        value, depth = stack.pop()
        nodes += 1
        if nodes > max_nodes:
            return f"payload has more than {max_nodes} values"
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > max_depth:
            return f"payload nests deeper than {max_depth} levels"
        stack.extend((child, depth + 1) for child in children)
    return None


def inbound_problem(data: Any) -> str | None:
    """Why this parsed payload (event envelope, command or interaction) must not go on."""
    if not isinstance(data, dict):
        return "payload is not an object"
    problem = nesting_problem(data)
    if problem is not None:
        return problem
    kind = data.get("type")
    if kind is not None and not isinstance(kind, str):
        return "type is not a string"
    try:
        BoltReadable.model_validate(data)
        if "command" in data:  # Bolt treats any body with a "command" key as a command
            SlashCommand.model_validate(data)
        if kind == "event_callback":
            envelope = EventEnvelope.model_validate(data)
            if envelope.event.type is None:
                return "event.type: Field required"
            event_model = EVENT_MODELS.get(envelope.event.type)
            if event_model is not None:
                try:
                    event_model.model_validate(data["event"])
                except ValidationError as exc:
                    return _describe(exc, prefix="event.")
        elif kind == "block_actions":
            BlockActions.model_validate(data)
    except ValidationError as exc:
        return _describe(exc)
    return None


def _describe(exc: ValidationError, *, prefix: str = "") -> str:
    """A short, log-safe account of the first few problems (never the offending values)."""
    found: dict[str, list[str]] = {}
    for error in exc.errors(include_url=False, include_input=False, include_context=False):
        where = prefix + ".".join(str(p) for p in error["loc"] if not _is_union_tag(p))
        found.setdefault(where.rstrip(".") or "payload", []).append(error["msg"])
    parts = [
        f"{where}: {msgs[0] if len(msgs) == 1 else 'Input has the wrong type'}"
        for where, msgs in list(found.items())[:3]
    ]
    return "; ".join(parts)


def _is_union_tag(part: int | str) -> bool:
    """Pydantic names the union member tried (``str``, ``_Ref``…) in an error's location."""
    return isinstance(part, str) and (
        part in ("str", "int", "bool", "list", "dict")
        or part[:1] == "_"
        or part[:1].isupper()
        or "-" in part
        or "[" in part
    )
