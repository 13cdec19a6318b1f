"""What the turn reads from the Slack workspace: people, thread history, message text.

Small ports below the turn (``bot.conversations``): they call the Slack Web API but know nothing
of events or listeners, so the inbound adapter (``bot.slack``) can depend on the core and never
the other way round.
"""
