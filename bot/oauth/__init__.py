"""Distribution by OAuth (issue 15): install into any number of workspaces and Grid orgs.

- ``workspace``: who a request or job acts for (the scope every Slack call is made in)
- ``crypto``:    tokens encrypted at rest (Fernet; several keys for rotation)
- ``tables`` / ``store``: slack_sdk's SQLAlchemy stores on our migrated tables, encrypting
- ``tokens``:    the current bot token of a workspace, refreshed before expiry, once
- ``client``:    an AsyncWebClient that sends the token of the workspace in scope, and no other
- ``authorize``: Bolt's per-request authorisation from our store (no auth.test per request)
- ``flow``:      the install routes (Bolt's AsyncOAuthFlow) with our pages and allow-list
- ``leaving``:   app_uninstalled / tokens_revoked: forget the workspace or its tokens
"""
