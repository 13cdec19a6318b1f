"""The reply side: how an answer is shown in Slack. Today: the native-streaming strategy and the
choice between it and the edit strategy (``bot/slack/streamer.py``), behind ``ReplyView``."""
