"""The real process: `python -m bot` configuration errors, serving, and SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import aiohttp
import pytest

from tests.bot_process import BotProcess, free_port, process_env
from tests.conftest import BOT_TOKEN, GLM_KEY, SIGNING_SECRET
from tests.fakes import FakeGLM, FakeSlack, mention_event
from tests.fakes.slack_requests import SlackSender


async def test_missing_settings_exit_2_with_one_clear_line(tmp_path: Path) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        cwd=tmp_path,
        env=process_env(ZHIPUAI_API_KEY="sk-secret-value-123"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2
    lines = err.decode().strip().splitlines()
    assert len(lines) == 1, err.decode()
    assert "SLACK_BOT_TOKEN" in lines[0] and "SLACK_SIGNING_SECRET" in lines[0]
    assert "ZHIPUAI_API_KEY" not in lines[0]
    assert "Traceback" not in err.decode()
    assert "sk-secret-value-123" not in (out + err).decode()


@pytest.mark.parametrize(("setting", "loop"), [("auto", "uvloop"), ("asyncio", "asyncio")])
async def test_serves_answers_and_stops_cleanly_on_sigterm(
    tmp_path: Path, fake_slack: FakeSlack, fake_glm: FakeGLM, setting: str, loop: str
) -> None:
    """On uvloop (installed with the bot, EVENT_LOOP=auto) and on asyncio's own loop."""
    settings = _configured(
        tmp_path, fake_slack, fake_glm, STREAM_EDIT_INTERVAL="0.1", EVENT_LOOP=setting
    )
    bot = await BotProcess(tmp_path, **settings).start()
    try:
        assert f"event loop: {loop}" in "".join(bot.stderr_lines)
        async with aiohttp.ClientSession(trust_env=False) as session:
            async with session.get(f"{bot.url}/healthz") as resp:
                assert resp.status == 200
            sender = SlackSender(f"{bot.url}/slack/events", SIGNING_SECRET, session)
            event = mention_event("hello process")
            assert (await sender.event(event)).status == 200
            await fake_slack.wait_for(
                lambda f: any(
                    m.text.startswith("Echo") for m in f.thread_replies_by_bot("C0001", event["ts"])
                ),
                timeout=10,
                what="the echo answer",
            )
        bot.signal(signal.SIGTERM)
        assert await bot.wait(30) == 0
        rest = await bot.rest_of_stderr()
        assert BOT_TOKEN not in rest and SIGNING_SECRET not in rest and GLM_KEY not in rest
    finally:
        await bot.kill()


async def _run_bot(tmp_path: Path, *args: str, **settings: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=tmp_path,
        env=process_env(**settings),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return int(proc.returncode or 0), out.decode(), err.decode()


def _configured(tmp_path: Path, fake_slack: FakeSlack, fake_glm: FakeGLM, **extra: str) -> dict:
    return {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_BASE_URL": fake_slack.api_url,
        "ZHIPUAI_API_KEY": GLM_KEY,
        "ZHIPUAI_BASE_URL": fake_glm.base_url,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
        **extra,
    }


async def test_check_reports_what_works_and_what_does_not(
    tmp_path: Path, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    code, out, err = await _run_bot(
        tmp_path, "check", **_configured(tmp_path, fake_slack, fake_glm)
    )
    assert code == 0, out + err
    assert "✔ Slack bot token" in out and "✔ BigModel API key" in out and "✔ Database" in out

    code, out, err = await _run_bot(
        tmp_path,
        "check",
        **_configured(
            tmp_path,
            fake_slack,
            fake_glm,
            ZHIPUAI_API_KEY="wrong.key-123456",
            SLACK_BOT_TOKEN="xoxb-wrong-token-123",
        ),
    )
    assert code == 1
    assert "✘ Slack bot token: rejected (invalid_auth)" in out
    assert "✘ BigModel API key: GLM error 1002" in out
    assert "wrong.key-123456" not in out + err and "xoxb-wrong-token-123" not in out + err


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        (
            {"SLACK_BOT_TOKEN": "xoxb-revoked-000000"},
            "Slack rejected SLACK_BOT_TOKEN (invalid_auth)",
        ),
        ({"DATABASE_URL": "postgresql://nobody@127.0.0.1:1/nowhere"}, "database unreachable"),
    ],
    ids=["revoked-slack-token", "unreachable-database"],
)
async def test_start_up_failures_exit_3_with_a_clear_message(
    tmp_path: Path,
    fake_slack: FakeSlack,
    fake_glm: FakeGLM,
    setting: dict[str, str],
    expected: str,
) -> None:
    settings = _configured(tmp_path, fake_slack, fake_glm, PORT=str(free_port()), HOST="127.0.0.1")
    code, _out, err = await _run_bot(tmp_path, **{**settings, **setting})
    assert code == 3
    assert expected in err
    assert "Traceback" not in err
    assert "xoxb-revoked-000000" not in err


async def test_migrate_command(tmp_path: Path, fake_slack: FakeSlack, fake_glm: FakeGLM) -> None:
    code, out, err = await _run_bot(
        tmp_path, "migrate", **_configured(tmp_path, fake_slack, fake_glm)
    )
    assert code == 0, err
    assert "latest schema" in out
    assert (tmp_path / "bot.db").exists()


async def test_json_logs_tie_event_request_and_reply_together(
    tmp_path: Path, fake_slack: FakeSlack, fake_glm: FakeGLM
) -> None:
    import json

    bot = await BotProcess(
        tmp_path, **_configured(tmp_path, fake_slack, fake_glm, LOG_FORMAT="json")
    ).start()
    try:
        async with aiohttp.ClientSession(trust_env=False) as session:
            sender = SlackSender(f"{bot.url}/slack/events", SIGNING_SECRET, session)
            event = mention_event("log me")
            await sender.event(event, event_id="EvLogged1")
        await fake_slack.wait_for(
            lambda f: any(
                m.text.startswith("Echo") for m in f.thread_replies_by_bot("C0001", event["ts"])
            ),
            timeout=10,
            what="the answer",
        )
        bot.signal(signal.SIGTERM)
        assert await bot.wait(30) == 0
        log = await bot.rest_of_stderr()
    finally:
        await bot.kill()
    records = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert records and all({"ts", "level", "logger", "message"} <= set(r) for r in records)
    (turn_line,) = [r for r in records if r["message"].startswith("turn ")]
    turn_id = turn_line["turn_id"]
    assert fake_glm.requests[0].body["request_id"] == turn_id
    assert any("EvLogged1" in r["message"] for r in records)
    assert GLM_KEY not in log and BOT_TOKEN not in log and SIGNING_SECRET not in log


async def test_oauth_mode_without_an_encryption_key_exits_2_naming_it(tmp_path: Path) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        cwd=tmp_path,
        env=process_env(
            SLACK_CLIENT_ID="1111.2222",
            SLACK_CLIENT_SECRET="client-secret-value-1",
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            ZHIPUAI_API_KEY="sk-secret-value-123",
        ),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2
    (line,) = err.decode().strip().splitlines()
    assert line.endswith("missing required settings: SLACK_TOKEN_ENCRYPTION_KEY")
    assert "client-secret-value-1" not in (out + err).decode()


async def test_keygen_prints_a_key_the_bot_accepts(tmp_path: Path) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "keygen",
        cwd=tmp_path,
        env=process_env(),
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0
    from bot.oauth.crypto import TokenCipher

    cipher = TokenCipher(out.decode().strip())
    assert cipher.decrypt(cipher.encrypt("xoxb-1")) == "xoxb-1"
