"""The OAuth tables on our own metadata, so Alembic (not ``create_all``) creates them.

slack_sdk's stores define ``slack_installations``, ``slack_bots`` and ``slack_oauth_states``;
we register the same definitions on :data:`bot.store.models.Base.metadata` (migration
0011_oauth) and hand these Table objects to the stores. One change: the token columns are
``Text``, since an encrypted token is longer than the SDK's ``String(200)`` (a rotating
``xoxe.xoxb-…`` token of ~150 characters is ~300 once encrypted and base64-encoded).
``slack_org_teams`` remembers which workspaces of a Grid org the bot has served, so an org's
uninstall can forget their data too (our tables are keyed by team).
"""

from __future__ import annotations

from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import Column, String, Table, Text

from bot.store.models import Base

TOKEN_COLUMNS = ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token")


def _widen(table: Table) -> Table:
    for name in TOKEN_COLUMNS:
        if name in table.c:
            table.c[name].type = Text()
    return table


installations: Table = _widen(
    SQLAlchemyInstallationStore.build_installations_table(Base.metadata, "slack_installations")
)
bots: Table = _widen(SQLAlchemyInstallationStore.build_bots_table(Base.metadata, "slack_bots"))
oauth_states: Table = SQLAlchemyOAuthStateStore.build_oauth_states_table(
    Base.metadata, "slack_oauth_states"
)
org_teams: Table = Table(
    "slack_org_teams",
    Base.metadata,
    Column("enterprise_id", String(32), primary_key=True),
    Column("team_id", String(32), primary_key=True),
)
