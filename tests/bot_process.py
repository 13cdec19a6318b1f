"""Run the bot as a real process (``python -m bot``) for lifecycle, crash and benchmark runs."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def process_env(**settings: str) -> dict[str, str]:
    """The current environment without proxies or stray bot settings, plus ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    for key in list(env):
        if key.startswith(("SLACK_", "ZHIPUAI_", "GLM_", "DATABASE_URL", "STREAM_", "LOG_")):
            del env[key]
    env["PYTHONPATH"] = str(ROOT)
    env.update(settings)
    return env


class BotProcess:
    def __init__(self, cwd: Path, *, profile: Path | None = None, **settings: str) -> None:
        self.profile = profile  # cProfile output, written when the bot exits cleanly
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.cwd = cwd
        self.env = process_env(PORT=str(self.port), HOST="127.0.0.1", **settings)
        self.proc: asyncio.subprocess.Process | None = None
        self.stderr_lines: list[str] = []

    async def start(self, *, ready: str = "listening on", timeout: float = 30) -> BotProcess:
        profiler = ["-m", "cProfile", "-o", str(self.profile)] if self.profile else []
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            *profiler,
            "-m",
            "bot",
            cwd=self.cwd,
            env=self.env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        await self.read_until(ready, timeout)
        return self

    async def read_until(self, needle: str, timeout: float) -> str:
        assert self.proc is not None and self.proc.stderr is not None
        stream = self.proc.stderr

        async def scan() -> str:
            while True:
                line = (await stream.readline()).decode(errors="replace")
                if not line:
                    raise AssertionError(
                        f"bot exited before {needle!r}:\n" + "".join(self.stderr_lines[-30:])
                    )
                self.stderr_lines.append(line)
                if needle in line:
                    return line

        return await asyncio.wait_for(scan(), timeout)

    async def rest_of_stderr(self) -> str:
        assert self.proc is not None and self.proc.stderr is not None
        rest = (await self.proc.stderr.read()).decode(errors="replace")
        self.stderr_lines.append(rest)
        return "".join(self.stderr_lines)

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    async def wait(self, timeout: float = 30) -> int:
        assert self.proc is not None
        return await asyncio.wait_for(self.proc.wait(), timeout)

    async def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGKILL)
            await self.proc.wait()
