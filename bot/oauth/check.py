"""``python -m bot check`` in OAuth mode: client credentials, installations, each one's token."""

from __future__ import annotations

import time
from collections.abc import Callable

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from bot.oauth.crypto import TokenCipher, TokenDecryptError
from bot.oauth.store import EncryptedInstallationStore

Report = Callable[[str, bool, str], None]
PROBE_CODE = "glm-bot-check-not-a-code"


async def check_oauth(settings: Settings, report: Report) -> None:
    from bot.store.db import make_engine

    api = AsyncWebClient(token=None, base_url=settings.slack_api_base_url)
    try:
        await _credentials(settings, api, report)
        engine = make_engine(settings.database_url)
        try:
            store = EncryptedInstallationStore(
                client_id=settings.slack_client_id,
                engine=engine,
                cipher=TokenCipher(settings.slack_token_encryption_key.get_secret_value()),
            )
            await _installations(settings, store, api, report)
        finally:
            await engine.dispose()
    finally:
        if api.session is not None:
            await api.session.close()


async def _credentials(settings: Settings, api: AsyncWebClient, report: Report) -> None:
    """Slack checks the client before the code: a made-up code answers ``invalid_code`` only
    when SLACK_CLIENT_ID and SLACK_CLIENT_SECRET are right."""
    try:
        await api.oauth_v2_access(
            client_id=settings.slack_client_id,
            client_secret=settings.slack_client_secret.get_secret_value(),
            code=PROBE_CODE,
        )
        report("Slack client credentials", True, "accepted")
    except SlackApiError as exc:
        error = exc.response.get("error")
        good = error == "invalid_code"
        report("Slack client credentials", good, "accepted" if good else f"rejected ({error})")
    except Exception as exc:
        report("Slack client credentials", False, f"Slack unreachable ({type(exc).__name__})")


async def _installations(
    settings: Settings, store: EncryptedInstallationStore, api: AsyncWebClient, report: Report
) -> None:
    try:
        workspaces = await store.workspaces()
    except Exception as exc:
        report("Installations", False, f"not readable ({type(exc).__name__}; run migrate?)")
        return
    report("Installations", True, f"{len(workspaces)} workspace(s)/org(s)")
    margin = settings.slack_token_refresh_minutes * 60
    for ws in workspaces:
        name = ws.key
        try:
            inst = await store.find(ws)
        except TokenDecryptError as exc:
            report(f"  {name}", False, str(exc))
            continue
        if inst is None or not inst.bot_token:
            report(f"  {name}", False, "no bot token stored")
            continue
        expires = inst.bot_token_expires_at
        if expires is not None and expires <= time.time():
            report(f"  {name}", False, "token expired (refreshed at the next request)")
            continue
        try:
            auth = await api.auth_test(token=inst.bot_token)
        except SlackApiError as exc:
            error = exc.response.get("error")
            state = "revoked" if error in {"token_revoked", "invalid_auth"} else error
            report(f"  {name}", False, f"token {state}")
            continue
        except Exception as exc:
            report(f"  {name}", False, f"Slack unreachable ({type(exc).__name__})")
            continue
        detail = (
            f"token valid: bot {auth.get('user_id')} in {inst.team_name or inst.enterprise_name}"
        )
        if expires is not None:
            hours = (expires - time.time()) / 3600
            soon = " (refreshed before then)" if expires - time.time() <= margin else ""
            detail += f", expiring in {hours:.1f} h{soon}"
        report(f"  {name}", True, detail)
