"""Slack's agent surface: the Messages tab (suggested prompts, what the person is looking at,
thread titles) and feedback on answers. Pure logic in ``prompts``/``context``/``feedback``; the
Slack and database calls in ``messages_tab``/``feedback_actions``/``turn_hooks``."""
