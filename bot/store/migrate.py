"""Run Alembic migrations from inside the bot (``python -m bot migrate`` and at start).

Several instances may start at the same moment on an empty database (a deploy with two
replicas), or ``python -m bot migrate`` may run beside serving instances. Unserialised, two
upgrades race on ``CREATE TABLE alembic_version`` and one dies. So every upgrade runs under a
lock that all processes share:

- PostgreSQL: a session advisory lock (``pg_advisory_lock``) held on a dedicated connection for
  the whole upgrade; it is released on unlock or when that connection ends, so a crashed
  migrator never leaves it behind. Waiting is bounded by ``lock_timeout``.
- SQLite: an exclusive ``flock`` on a file next to the database (``<db>.migrate-lock``); the
  kernel drops it when the holder exits.

Alembic keeps its migration context in module globals, so upgrades inside one process are also
serialised (an asyncio lock per event loop). The loser of the race finds the schema at head and
does nothing.

A database already at head (the usual start, and always after the Procfile's ``release:
python -m bot migrate``) is recognised by reading ``alembic_version`` against the head named in
``migrations/versions`` without importing Alembic: it, Mako and Pygments are 12 MB a serving
process then never holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import weakref
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"

# pg_advisory_lock key: the ASCII of "glm_migr" as a signed 64-bit integer, so it is unlikely
# to collide with another application's advisory locks in a shared database.
PG_LOCK_KEY = int.from_bytes(b"glm_migr", "big", signed=True)
LOCK_TIMEOUT_SECONDS = 300.0

_process_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)


class MigrationLockTimeout(RuntimeError):
    """Another process held the migration lock for longer than we were willing to wait."""


_REVISION = re.compile(r"^revision\s*(?::[^=]*)?=\s*['\"]([^'\"]+)['\"]", re.M)
_DOWN_REVISION = re.compile(r"^down_revision\s*(?::[^=]*)?=(.*)$", re.M)
_QUOTED = re.compile(r"['\"]([^'\"]+)['\"]")


def head_revision(versions: Path = MIGRATIONS_DIR / "versions") -> str | None:
    """The one head of the migration files, read as text (Alembic not imported); None when
    there is not exactly one (then Alembic decides)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in versions.glob("*.py"):
        source = path.read_text(encoding="utf-8")
        if (revision := _REVISION.search(source)) is None:
            return None
        revisions.add(revision.group(1))
        if (down := _DOWN_REVISION.search(source)) is not None:
            parents.update(_QUOTED.findall(down.group(1)))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


async def current_revision(engine: AsyncEngine) -> str | None:
    """The database's revision; None when it has none (or several) or cannot say."""
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()
    except SQLAlchemyError:  # no alembic_version yet: a new database
        return None
    return str(rows[0][0]) if len(rows) == 1 else None


def alembic_config() -> Config:
    from alembic.config import Config

    if not (MIGRATIONS_DIR / "env.py").exists():
        raise RuntimeError(
            f"migrations not found at {MIGRATIONS_DIR}; install the bot from its source tree "
            "(pip install -e .)"
        )
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def _upgrade(connection: Connection, cfg: Config) -> None:
    from alembic import command

    cfg.attributes["connection"] = connection
    command.upgrade(cfg, "head")


async def upgrade_to_head(
    engine: AsyncEngine, *, lock_timeout: float = LOCK_TIMEOUT_SECONDS
) -> None:
    """Idempotent and safe to run from many processes at once.

    Shares the engine's connection so env.py needs no event loop of its own.
    """
    head = head_revision()
    if head is not None and await current_revision(engine) == head:
        return  # nothing to do, and no need to load Alembic to know it
    cfg = alembic_config()
    async with (
        _in_process_lock(),
        migration_lock(engine, timeout=lock_timeout),
        engine.begin() as conn,
    ):
        await conn.run_sync(_upgrade, cfg)


@contextlib.asynccontextmanager
async def _in_process_lock() -> AsyncIterator[None]:
    loop = asyncio.get_running_loop()
    lock = _process_locks.setdefault(loop, asyncio.Lock())
    async with lock:
        yield


@contextlib.asynccontextmanager
async def migration_lock(engine: AsyncEngine, *, timeout: float) -> AsyncIterator[None]:
    """Hold the cross-process migration lock of this database for the duration of the block."""
    if engine.dialect.name == "postgresql":
        async with _pg_advisory_lock(engine, timeout=timeout):
            yield
    elif engine.dialect.name == "sqlite" and (path := _sqlite_file(engine)) is not None:
        async with _file_lock(Path(f"{path}.migrate-lock"), timeout=timeout):
            yield
    else:  # in-memory SQLite: one connection, nobody to race with
        yield


@contextlib.asynccontextmanager
async def _pg_advisory_lock(engine: AsyncEngine, *, timeout: float) -> AsyncIterator[None]:
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(f"SET lock_timeout = '{int(timeout * 1000)}ms'"))
        try:
            await conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": PG_LOCK_KEY})
        except Exception as exc:
            if "lock timeout" in str(exc):
                raise MigrationLockTimeout(
                    f"another process held the migration lock for over {timeout:.0f} s"
                ) from None
            raise
        try:
            yield
        finally:
            with contextlib.suppress(Exception):  # a dead connection releases it anyway
                await conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": PG_LOCK_KEY})


def _sqlite_file(engine: AsyncEngine) -> str | None:
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return os.path.abspath(database)


@contextlib.asynccontextmanager
async def _file_lock(path: Path, *, timeout: float) -> AsyncIterator[None]:
    try:
        import fcntl
    except ImportError:  # not POSIX: rely on SQLite's own locking
        yield
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        # flock applies per open file description, so it also separates two engines of one
        # process; poll without blocking so the event loop keeps running while we wait.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if loop.time() >= deadline:
                    raise MigrationLockTimeout(
                        f"another process held {path} for over {timeout:.0f} s"
                    ) from None
                await asyncio.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
