"""slack_sdk's async SQLAlchemy stores on our tables, with tokens encrypted at rest.

The SDK stores keep tokens in plain text; here every token is encrypted on the way in
(``async_save``/``async_save_bot``) and decrypted on the way out (``async_find_*``), so the
rows, a dump or a backup reveal no token. The state store's ``consume`` is made atomic (one
``DELETE`` whose row count decides), since the SDK's select-then-delete lets two instances
both accept one state.
"""

from __future__ import annotations

import copy
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from sqlalchemy import and_, delete, distinct, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.oauth import tables
from bot.oauth.crypto import PREFIX, TokenCipher
from bot.oauth.workspace import Workspace

log = logging.getLogger(__name__)

_TOKEN_FIELDS = ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token")


class EncryptedInstallationStore(AsyncSQLAlchemyInstallationStore):
    """Installations and bots, tokens Fernet-encrypted; the async API Bolt's flow calls."""

    def __init__(self, *, client_id: str, engine: AsyncEngine, cipher: TokenCipher) -> None:
        super().__init__(client_id=client_id, engine=engine, logger=log)
        self.installations = tables.installations
        self.bots = tables.bots
        self._cipher = cipher

    def _sealed(self, entity: Any) -> Any:
        sealed = copy.copy(entity)
        for name in _TOKEN_FIELDS:
            value = getattr(sealed, name, None)
            if value is not None and not value.startswith(PREFIX):
                setattr(sealed, name, self._cipher.encrypt(value))
        return sealed

    def _opened(self, entity: Any) -> Any:
        if entity is None:
            return None
        for name in _TOKEN_FIELDS:
            if hasattr(entity, name):
                setattr(entity, name, self._cipher.decrypt(getattr(entity, name)))
        return entity

    async def async_save(self, installation: Installation) -> None:
        await super().async_save(self._sealed(installation))

    async def async_save_bot(self, bot: Bot) -> None:
        await super().async_save_bot(self._sealed(bot))

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        found = await super().async_find_bot(
            enterprise_id=enterprise_id,
            team_id=team_id,
            is_enterprise_install=is_enterprise_install,
        )
        return self._opened(found)  # type: ignore[no-any-return]

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        found = await super().async_find_installation(
            enterprise_id=enterprise_id,
            team_id=team_id,
            user_id=user_id,
            is_enterprise_install=is_enterprise_install,
        )
        return self._opened(found)  # type: ignore[no-any-return]

    async def find(self, ws: Workspace) -> Installation | None:
        """The newest installation serving ``ws`` (its org's, for an org-wide install)."""
        return await self.async_find_installation(
            enterprise_id=ws.enterprise_id,
            team_id=ws.install_team_id,
            is_enterprise_install=ws.is_enterprise_install,
        )

    async def delete_workspace(self, ws: Workspace) -> None:
        """Every installation and bot row (so every token) of ``ws``."""
        team = ws.install_team_id
        async with self.engine.begin() as conn:
            for table in (self.installations, self.bots):
                c = table.c
                await conn.execute(
                    delete(table).where(
                        and_(
                            c.client_id == self.client_id,
                            c.enterprise_id == ws.enterprise_id,
                            c.team_id == team,
                        )
                    )
                )

    async def count(self) -> int:
        """Workspaces and orgs installed (not installation rows: a refresh adds a row)."""
        c = self.installations.c
        query = select(func.count(distinct(tuple_(c.enterprise_id, c.team_id)))).where(
            c.client_id == self.client_id
        )
        async with self.engine.connect() as conn:
            if conn.dialect.name == "sqlite":  # no row-value COUNT(DISTINCT) in SQLite
                sub = select(c.enterprise_id, c.team_id).where(c.client_id == self.client_id)
                query = select(func.count()).select_from(sub.distinct().subquery())
            return int((await conn.execute(query)).scalar_one())

    async def workspaces(self) -> list[Workspace]:
        """Every installed workspace and org, once each (for ``check`` and key rotation)."""
        c = self.installations.c
        query = (
            select(c.enterprise_id, c.team_id, c.is_enterprise_install)
            .where(c.client_id == self.client_id)
            .distinct()
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [
            Workspace(team_id=t, enterprise_id=e, is_enterprise_install=bool(i)) for e, t, i in rows
        ]

    async def reencrypt(self) -> int:
        """Re-encrypt every stored token with the first key (after a key rotation)."""
        changed = 0
        async with self.engine.begin() as conn:
            for table in (self.installations, self.bots):
                rows = (await conn.execute(select(table))).mappings().all()
                for row in rows:
                    values = {
                        name: self._cipher.rotate(row[name])
                        for name in _TOKEN_FIELDS
                        if name in row and row[name] is not None
                    }
                    if values:
                        await conn.execute(
                            table.update().where(table.c.id == row["id"]).values(**values)
                        )
                        changed += 1
        return changed


class SharedStateStore(AsyncSQLAlchemyOAuthStateStore):
    """OAuth states in the database (any instance may serve the redirect), used once."""

    def __init__(self, *, engine: AsyncEngine, expiration_seconds: int = 600) -> None:
        super().__init__(expiration_seconds=expiration_seconds, engine=engine, logger=log)
        self.oauth_states = tables.oauth_states

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        state = await super().async_issue(*args, **kwargs)
        # Abandoned install pages leave states behind: drop those long expired.
        cutoff = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=1)
        async with self.engine.begin() as conn:
            await conn.execute(
                delete(self.oauth_states).where(self.oauth_states.c.expire_at < cutoff)
            )
        return state

    async def async_consume(self, state: str) -> bool:
        if not state:
            return False
        now = datetime.now(UTC).replace(tzinfo=None)  # the SDK stores naive UTC
        c = self.oauth_states.c
        async with self.engine.begin() as conn:
            result = await conn.execute(
                delete(self.oauth_states).where(and_(c.state == state, c.expire_at > now))
            )
        return bool(result.rowcount)
