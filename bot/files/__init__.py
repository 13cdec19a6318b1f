"""Files in a turn, both ways.

In: files people share with the bot (``model`` → typed values, ``policy`` → pure decisions,
``download`` → Slack download with the bot token, ``intake`` → the turn's file input).
Out: files the assistants make (``hosts`` → the allow-list, ``outbound`` → fetch and Slack
upload into the reply's thread).
"""
