"""``python -m bot`` (serve), ``python -m bot migrate``, ``python -m bot check``,
``python -m bot keygen`` (a new SLACK_TOKEN_ENCRYPTION_KEY), ``python -m bot reencrypt`` (stored
tokens re-encrypted with the first key, after a key rotation).

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


def event_loop(choice: str) -> asyncio.AbstractEventLoop:
    """uvloop (libuv) where it is installed: the same asyncio API with a cheaper loop and
    sockets, which is about a tenth of the bot's CPU per streamed reply."""
    if choice != "asyncio":
        try:
            import uvloop
        except ImportError:
            if choice == "uvloop":
                print(
                    "glm-slack-bot: EVENT_LOOP=uvloop but uvloop is not installed", file=sys.stderr
                )
                raise SystemExit(EXIT_CONFIG) from None
        else:
            return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def serve(settings: Settings) -> int:
    from bot.app import StartupError, build_bot, build_web_app

    loop = event_loop(settings.event_loop)
    asyncio.set_event_loop(loop)
    bot = build_bot(settings)
    log.info("event loop: %s", type(loop).__module__.split(".")[0])
    try:
        web.run_app(
            build_web_app(bot),
            host=settings.host,
            port=settings.port,
            print=lambda _msg: log.info("listening on %s:%s", settings.host, settings.port),
            shutdown_timeout=settings.shutdown_grace_seconds + 5,
            access_log=None,
            loop=loop,
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


async def _reencrypt(settings: Settings) -> int:
    """Key rotation, step 2: every stored token encrypted again with the first key."""
    if not settings.oauth_mode:
        print("glm-slack-bot: reencrypt is for OAuth mode (no tokens are stored otherwise)")
        return EXIT_CONFIG
    from bot.oauth.crypto import TokenCipher, TokenDecryptError
    from bot.oauth.store import EncryptedInstallationStore
    from bot.store.db import make_engine

    engine = make_engine(settings.database_url)
    store = EncryptedInstallationStore(
        client_id=settings.slack_client_id,
        engine=engine,
        cipher=TokenCipher(settings.slack_token_encryption_key.get_secret_value()),
    )
    try:
        rows = await store.reencrypt()
    except TokenDecryptError as exc:
        log.error("cannot re-encrypt: %s; list the old key after the new one", exc)
        return EXIT_STARTUP
    finally:
        await engine.dispose()
    print(f"re-encrypted the tokens of {rows} rows with the first key; the others may go now")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    parser.add_argument(
        "command",
        nargs="?",
        default="serve",
        choices=["serve", "migrate", "check", "keygen", "reencrypt"],
    )
    args = parser.parse_args(argv)
    if args.command == "keygen":  # needs no configuration
        from bot.oauth.crypto import generate_key

        print(generate_key())
        return 0
    settings = _settings()
    configure_logging(level=settings.log_level, fmt=settings.log_format, secrets=settings.secrets())
    if args.command == "migrate":
        return migrate(settings)
    if args.command == "reencrypt":
        return asyncio.run(_reencrypt(settings))
    if args.command == "check":
        from bot.check import run_check

        return asyncio.run(run_check(settings))
    return serve(settings)


if __name__ == "__main__":
    sys.exit(main())
