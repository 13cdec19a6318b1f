"""``python -m bot`` (serve), ``python -m bot migrate``, ``python -m bot check``.

Configuration problems end the process with status 2 and one line naming them; nothing secret
is ever printed.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from aiohttp import web

from bot.config import ConfigError, Settings, load_settings
from bot.logs import configure_logging

log = logging.getLogger("bot")

EXIT_CONFIG = 2
EXIT_STARTUP = 3


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        print(f"glm-slack-bot: {exc}", file=sys.stderr)
        raise SystemExit(EXIT_CONFIG) from None


def serve(settings: Settings) -> int:
    from bot.app import StartupError, build_bot, build_web_app

    bot = build_bot(settings)
    try:
        web.run_app(
            build_web_app(bot),
            host=settings.host,
            port=settings.port,
            print=lambda _msg: log.info("listening on %s:%s", settings.host, settings.port),
            shutdown_timeout=settings.shutdown_grace_seconds + 5,
            access_log=None,
        )
    except StartupError as exc:
        log.error("cannot start: %s", exc)
        return EXIT_STARTUP
    return 0


async def _migrate(settings: Settings) -> None:
    from bot.store.db import make_engine
    from bot.store.migrate import upgrade_to_head

    engine = make_engine(settings.database_url)
    try:
        await upgrade_to_head(engine)
    finally:
        await engine.dispose()


def migrate(settings: Settings) -> int:
    try:
        asyncio.run(_migrate(settings))
    except Exception as exc:
        log.error("migration failed: %s: %s", type(exc).__name__, exc)
        return EXIT_STARTUP
    print("database is at the latest schema")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    parser.add_argument(
        "command", nargs="?", default="serve", choices=["serve", "migrate", "check"]
    )
    args = parser.parse_args(argv)
    settings = _settings()
    configure_logging(level=settings.log_level, fmt=settings.log_format, secrets=settings.secrets())
    if args.command == "migrate":
        return migrate(settings)
    if args.command == "check":
        from bot.check import run_check

        return asyncio.run(run_check(settings))
    return serve(settings)


if __name__ == "__main__":
    sys.exit(main())
