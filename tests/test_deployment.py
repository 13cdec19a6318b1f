"""Dockerfile, .dockerignore and docker-compose.yml agree with each other and with the bot.

Docker is not needed: the files are parsed, and the image's HEALTHCHECK command is run as is
against a real bot on loopback.
"""

from __future__ import annotations

import asyncio
import json
import re
import shlex
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.engine import make_url

from bot.config import Settings
from tests.bot_process import free_port, process_env
from tests.conftest import RunningBot

ROOT = Path(__file__).resolve().parents[1]


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def instructions(name: str) -> list[str]:
    return [args for word, args in dockerfile() if word == name]


def image_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for args in instructions("ENV"):
        for pair in shlex.split(args):
            key, _, value = pair.partition("=")
            env[key] = value
    return env


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def bot_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: svc for name, svc in compose["services"].items() if "build" in svc}


def healthcheck_command() -> list[str]:
    (check,) = instructions("HEALTHCHECK")
    return json.loads(check[check.index("CMD") + 3 :])


def test_image_is_slim_non_root_and_runs_the_bot() -> None:
    (base,) = instructions("FROM")
    assert re.fullmatch(r"python:3\.11-slim(-\w+)?", base)
    words = [word for word, _ in dockerfile()]
    users = instructions("USER")
    assert users and users[-1] not in ("root", "0")
    assert words.index("USER") < words.index("CMD")
    assert json.loads(instructions("CMD")[-1]) == ["python", "-m", "bot"]
    env = image_env()
    assert instructions("EXPOSE") == [env["PORT"]]
    assert env["HOST"] == "0.0.0.0"
    Settings.model_validate(  # the image's DATABASE_URL is one the bot accepts
        {
            "database_url": env["DATABASE_URL"],
            "slack_bot_token": "xoxb-1",
            "slack_signing_secret": "s",
            "zhipuai_api_key": "k",
        }
    )


def test_everything_copied_exists_and_is_not_docker_ignored() -> None:
    ignored = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    sources = [src for args in instructions("COPY") for src in shlex.split(args)[:-1]]
    assert {"bot", "migrations", "pyproject.toml"} <= set(sources)
    for src in sources:
        assert (ROOT / src).exists(), src
        assert src not in ignored and not any(Path(src).match(p) for p in ignored), src
    assert (ROOT / "migrations" / "env.py").exists()
    assert {".git", ".venv", ".env", "tests"} <= set(ignored)


def test_compose_runs_two_bots_on_one_postgres(compose: dict[str, Any]) -> None:
    bots = bot_services(compose)
    assert len(bots) >= 2
    postgres = compose["services"]["postgres"]
    pg_env = postgres["environment"]
    grace = Settings.model_fields["shutdown_grace_seconds"].default
    for name, svc in bots.items():
        build = svc["build"]
        context = build if isinstance(build, str) else build["context"]
        dockerfile_name = "Dockerfile" if isinstance(build, str) else build.get("dockerfile")
        assert (ROOT / context / (dockerfile_name or "Dockerfile")).exists(), name
        url = make_url(svc["environment"]["DATABASE_URL"])
        assert url.get_backend_name() == "postgresql"
        assert (url.host, url.username, url.password, url.database) == (
            "postgres",
            pg_env["POSTGRES_USER"],
            pg_env["POSTGRES_PASSWORD"],
            pg_env["POSTGRES_DB"],
        ), name
        assert svc["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert svc["env_file"] == ".env"  # one set of Slack/BigModel secrets for all
        assert float(svc["stop_grace_period"].rstrip("s")) > grace
    assert "healthcheck" in postgres
    assert set(compose["services"]) == {"bot-1", "bot-2", "postgres", "proxy"}
    example = (ROOT / ".env.example").read_text()
    for required in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "ZHIPUAI_API_KEY"):
        assert f"{required}=" in example


def test_the_proxy_balances_over_every_bot_on_the_image_port(compose: dict[str, Any]) -> None:
    port = image_env()["PORT"]
    proxy = compose["services"]["proxy"]
    (config_ref,) = proxy["configs"]
    config = compose["configs"][config_ref["source"]]["content"]
    upstream = set(re.findall(r"server\s+([\w-]+):(\d+);", config))
    assert upstream == {(name, port) for name in bot_services(compose)}
    published = {str(p).split(":")[-1] for p in proxy["ports"]}
    assert re.search(r"listen\s+(\d+);", config).group(1) in published  # type: ignore[union-attr]
    for name in bot_services(compose):
        assert proxy["depends_on"][name]["condition"] == "service_healthy"
    assert "$host" not in config.replace("$$host", ""), "compose interpolates a single $"


async def _run(cmd: list[str], port: int) -> int:
    proc = await asyncio.create_subprocess_exec(
        *[sys.executable if c == "python" else c for c in cmd], env=process_env(PORT=str(port))
    )
    return await asyncio.wait_for(proc.wait(), 15)


async def test_the_image_healthcheck_passes_on_a_healthy_bot_and_fails_without_one(
    running_bot: RunningBot,
) -> None:
    cmd = healthcheck_command()
    assert any("/healthz" in part for part in cmd)
    port = int(running_bot.url.rsplit(":", 1)[1])
    assert await _run(cmd, port) == 0
    assert await _run(cmd, free_port()) != 0
