"""Loopback fakes of Slack and Zhipu GLM for end-to-end tests (see each module's docstring)."""

from .glm import (
    ERROR_MESSAGES,
    OFFICIAL_ASSISTANTS,
    FakeGLM,
    GLMRequest,
    GLMStream,
    Reply,
    error_body,
)
from .slack import Call, Ephemeral, FakeSlack, Message, ResponseUrlPost
from .slack_requests import (
    BotResponse,
    SlackSender,
    block_actions_payload,
    button_action,
    event_envelope,
    mention_event,
    message_event,
    next_event_id,
    sign,
)
from .ts import TsClock, next_ts

__all__ = [
    "ERROR_MESSAGES",
    "OFFICIAL_ASSISTANTS",
    "BotResponse",
    "Call",
    "Ephemeral",
    "FakeGLM",
    "FakeSlack",
    "GLMRequest",
    "GLMStream",
    "Message",
    "Reply",
    "ResponseUrlPost",
    "SlackSender",
    "TsClock",
    "block_actions_payload",
    "button_action",
    "error_body",
    "event_envelope",
    "mention_event",
    "message_event",
    "next_event_id",
    "next_ts",
    "sign",
]
