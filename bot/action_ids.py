"""The ``action_id`` of every button and menu the bot puts in Slack, shared by the side that
draws them (``bot.reply.blocks``, ``bot.slack.agent_messages``) and the side that handles the
clicks (``bot.slack.actions``, ``bot.slack.commands``, ``bot.surface.feedback_actions``)."""

from __future__ import annotations

STOP_ACTION_ID = "glm_stop"
RETRY_ACTION_ID = "glm_retry"
FEEDBACK_ACTION_ID = "glm_feedback"
SELECT_ACTION_ID = "glm_agent_select"
