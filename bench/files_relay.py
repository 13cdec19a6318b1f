"""Files benchmark: relay three 20 MB files at once, in and out, and watch the bot's memory.

Not a test. It starts the loopback fakes (``tests/fakes``), runs the real bot as
``python -m bot`` (environment only, SQLite in a temp dir), and sends three signed mentions at
once, each sharing a 20 MB CSV. Each file goes Slack → bot → GLM ``/files`` (in); each answer
carries a ``function`` output with a 20 MB file on GLM's file host, which goes GLM → bot →
Slack's external upload into the thread (out). It checks every byte arrived intact and prints
the bot's peak RSS (``VmHWM``) and the wall time, with PASS/FAIL against bench/README.md.

    .venv/bin/python bench/files_relay.py [--files 3] [--mb 20]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import platform
import signal
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402

from tests.bot_process import BotProcess  # noqa: E402
from tests.fakes import FakeGLM, FakeSlack, GLMRequest, Reply, SlackSender, mention_event  # noqa: E402

BOT_TOKEN = "xoxb-test-bench-files"  # a fake: only loopback fakes are talked to
SIGNING_SECRET = "bench-signing-secret-0123456789"
GLM_KEY = "bench-glm-key.secret"
RSS_TARGET_MB = 150.0
MB = 1024 * 1024


def proc_status(pid: int, field: str) -> float:
    """A ``/proc/<pid>/status`` figure in MB (VmHWM: peak RSS; VmRSS: current)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def drain(stream: asyncio.StreamReader, sink: list[str]) -> None:
    """Keep reading the bot's log so its pipe never fills (and keep it for failures)."""
    while line := await stream.readline():
        sink.append(line.decode(errors="replace"))


def csv_bytes(size: int, seed: int) -> bytes:
    row = f"{seed},2026-12-01,relay,{'x' * 40}\n".encode()
    head = b"id,date,kind,payload\n"
    body = row * ((size - len(head)) // len(row) + 1)
    return (head + body)[:size]


def pptx_bytes(size: int) -> bytes:
    return b"PK\x03\x04" + os.urandom(size - 4)


async def bench(args: argparse.Namespace) -> int:
    size = int(args.mb * MB)
    with tempfile.TemporaryDirectory(prefix="glm-files-bench-") as tmp:
        slack = await FakeSlack(token=BOT_TOKEN).start()
        glm = await FakeGLM(api_key=GLM_KEY).start()
        bot: BotProcess | None = None
        drainer: asyncio.Task[None] | None = None
        try:
            inputs = [csv_bytes(size, i) for i in range(args.files)]
            outputs = [pptx_bytes(size) for _ in range(args.files)]
            urls = [
                glm.host_file(f"ppt/deck{i}.pptx", out, "application/octet-stream")
                for i, out in enumerate(outputs)
            ]
            events = []
            for i, data in enumerate(inputs):
                user = f"U{2000 + i}"
                slack.add_user(user, name=f"user{i}")
                shared = slack.add_file(f"data{i}.csv", data, mimetype="text/csv", user=user)
                events.append(mention_event(f"deck {i} from this", user=user, files=[shared]))

            def script(req: GLMRequest) -> Reply:
                i = int(req.user_text.split()[1])
                content = json.dumps({"url": urls[i]})
                return Reply(
                    chunks=[f"Deck {i} is ready."],
                    tool_calls=[(0, Reply.tool("function", outputs=[{"content": content}]))],
                )

            glm.default_reply = script
            bot = BotProcess(
                Path(tmp),
                SLACK_BOT_TOKEN=BOT_TOKEN,
                SLACK_SIGNING_SECRET=SIGNING_SECRET,
                SLACK_API_BASE_URL=slack.api_url,
                ZHIPUAI_API_KEY=GLM_KEY,
                ZHIPUAI_BASE_URL=glm.base_url,
                DATABASE_URL=f"sqlite:///{Path(tmp) / 'bench.db'}",
                LOG_LEVEL="INFO",
                MAX_FILE_MB=str(max(20.0, args.mb)),
            )
            await bot.start(timeout=60)
            assert bot.proc is not None and bot.proc.stderr is not None
            drainer = asyncio.create_task(drain(bot.proc.stderr, bot.stderr_lines))
            pid = bot.proc.pid
            idle_mb = proc_status(pid, "VmRSS")
            async with aiohttp.ClientSession(trust_env=False) as session:
                sender = SlackSender(f"{bot.url}/slack/events", SIGNING_SECRET, session)
                t0 = time.monotonic()
                await asyncio.gather(*(sender.event(e) for e in events))

                def done(f: FakeSlack) -> bool:
                    return all(
                        f.shared_files(e["channel"], e["ts"])
                        and any(
                            m.text.startswith("Deck")
                            for m in f.thread_replies_by_bot(e["channel"], e["ts"])
                        )
                        for e in events
                    )

                try:
                    await slack.wait_for(done, timeout=300, what="every file relayed")
                except AssertionError:
                    print("".join(bot.stderr_lines[-40:]), file=sys.stderr)
                    raise
                wall = time.monotonic() - t0
            peak_mb = proc_status(pid, "VmHWM")
            digest = {hashlib.sha256(f.content).hexdigest() for f in glm.files.values()}
            in_ok = digest == {hashlib.sha256(d).hexdigest() for d in inputs}
            out_ok = all(
                slack.shared_files(e["channel"], e["ts"])[0].content == outputs[i]
                for i, e in enumerate(events)
            )
        finally:
            if bot is not None and bot.proc is not None and bot.proc.returncode is None:
                bot.signal(signal.SIGTERM)
                try:
                    await bot.wait(timeout=30)
                except TimeoutError:
                    await bot.kill()
            if drainer is not None:
                with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                    await asyncio.wait_for(drainer, 5)
            await glm.stop()
            await slack.stop()

    stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    print(
        f"files_relay: {stamp}, {platform.platform()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}"
    )
    print(
        f"  {args.files} files x {args.mb:g} MB in (Slack -> GLM /files) and "
        f"{args.files} x {args.mb:g} MB out (GLM file host -> Slack upload), all at once"
    )
    print(f"  in:  {len(glm.files)}/{args.files} uploaded to GLM, bytes exact: {in_ok}")
    print(f"  out: {args.files} shared into their threads, bytes exact: {out_ok}")
    print(f"  wall time            {wall:6.2f} s")
    print(f"  bot RSS idle         {idle_mb:6.1f} MB")
    print(
        f"  bot peak RSS         {peak_mb:6.1f} MB  (+{peak_mb - idle_mb:.1f} MB while relaying "
        f"{2 * args.files * args.mb:g} MB)"
    )
    checks = [
        ("every byte relayed exactly, both ways", in_ok and out_ok),
        (f"peak RSS < {RSS_TARGET_MB:g} MB", peak_mb < RSS_TARGET_MB),
    ]
    for name, ok in checks:
        print(f"  [{'PASS' if ok else 'FAIL'}] {name}")
    return 0 if all(ok for _, ok in checks) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=3)
    parser.add_argument("--mb", type=float, default=20.0)
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(bench(args))
    return 130


if __name__ == "__main__":
    raise SystemExit(main())
