"""The reply side: how one answer is shown in Slack while GLM writes it.

The turn drives a :class:`bot.reply.view.ReplyView` (start, append, tool, finish); the edit
strategy (``edit``: post, then coalesced ``chat.update``) and the native one (``native``:
``chat.startStream``/``appendStream``/``stopStream``) implement it, ``choose`` picks one per
reply within Slack's budgets (``ratelimit``, ``buckets``, ``stream_budgets``). Below them, pure:
the model-markup filter (``markup``), the tool ledger (``tools``), Markdown → mrkdwn
(``render``), fence-aware splitting (``split``) and Block Kit (``blocks``).
"""
