"""``python -m bot check``: verify the configuration against the real services, say what works."""

from __future__ import annotations

from typing import Any

from bot.agents import parse_custom_agents
from bot.config import Settings
from bot.glm.client import GLMClient, Timeouts
from bot.glm.errors import GLMError


async def run_check(settings: Settings) -> int:
    from slack_sdk.errors import SlackApiError
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.store.db import make_engine, ping

    ok = True

    def report(name: str, good: bool, detail: str) -> None:
        nonlocal ok
        ok = ok and good
        print(f"{'✔' if good else '✘'} {name}: {detail}")

    if settings.oauth_mode:
        from bot.oauth.check import check_oauth

        await check_oauth(settings, report)
    else:
        slack = AsyncWebClient(
            token=settings.slack_bot_token.get_secret_value(),
            base_url=settings.slack_api_base_url,
        )
        try:
            auth = await slack.auth_test()
            report("Slack bot token", True, f"bot {auth.get('user')} in team {auth.get('team')}")
        except SlackApiError as exc:
            report("Slack bot token", False, f"rejected ({exc.response.get('error')})")
        except Exception as exc:
            report("Slack bot token", False, f"Slack unreachable ({type(exc).__name__})")

    glm = GLMClient(
        api_key=settings.zhipuai_api_key.get_secret_value(),
        base_url=settings.zhipuai_base_url,
        timeouts=Timeouts(connect=settings.glm_connect_timeout),
    )
    custom = parse_custom_agents(settings.glm_assistants)
    try:
        listing = await glm.list_assistants()
        count = len(listing.get("data") or [])
        report("BigModel API key", True, f"accepted; {count} assistants listed")
        if custom:
            named = await glm.list_assistants([a.assistant_id for a in custom])
            known = {str(item.get("assistant_id")).lower() for item in _items(named)}
            for agent in custom:
                good = agent.assistant_id in known
                detail = "known to GLM" if good else "GLM does not know this id"
                report(f"GLM_ASSISTANTS {agent.official_name} ({agent.assistant_id})", good, detail)
    except GLMError as exc:
        report("BigModel API key", False, exc.user_message)
    finally:
        await glm.close()

    engine = make_engine(settings.database_url)
    try:
        await ping(engine)
        report("Database", True, engine.url.render_as_string(hide_password=True))
    except Exception as exc:
        report("Database", False, f"{type(exc).__name__}")
    finally:
        await engine.dispose()
    return 0 if ok else 1


def _items(listing: dict[str, Any]) -> list[dict[str, Any]]:
    data = listing.get("data")
    return [item for item in data if isinstance(item, dict)] if isinstance(data, list) else []
