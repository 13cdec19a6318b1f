"""Memory soak: thousands of turns through the real bot process; its RSS must stay flat.

Not a test. It reuses ``stream_load``'s harness: the loopback fakes (``tests/fakes``), the real
bot as ``python -m bot`` configured only by environment variables (SQLite in a temp dir), and
signed ``app_mention`` events. Every turn is a new thread, the turns are spread over many
channels and users, and they are sent in waves of ``--concurrency`` (each wave waits, bounded,
until every reply is final), so everything that is kept per thread, per channel or per user
is exercised ``--turns`` times. The bot's resident set (``VmRSS``) is printed every
``--sample-every`` turns; after a warm-up (the first quarter: imports, caches, the SQLite page
cache, the allocator's arenas) it must not grow by more than ``--max-growth-mb``.

Slack's tiers are neither enforced by the fake nor kept by the bot (``SLACK_EDITS_PER_MINUTE``
is raised: 2,000 replies at 50 edits a minute would take 40 minutes); ``stream_load.py``
measures the budgets. The budget state is still kept, per workspace and per channel. The run
takes one to three minutes.

    /work/venv/bin/python bench/soak_memory.py [--turns 2000] [--concurrency 20]
        [--channels 1000] [--users 50] [--sample-every 200] [--mode edit|native|auto]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
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

from bench.stream_load import (  # noqa: E402
    BOT_TOKEN,
    GLM_KEY,
    SIGNING_SECRET,
    ThreadRun,
    drain,
    read_proc,
    thread_done,
)
from tests.bot_process import BotProcess  # noqa: E402
from tests.fakes import FakeGLM, FakeSlack, GLMRequest, Reply, SlackSender, mention_event  # noqa: E402

WAVE_TIMEOUT = 60.0  # seconds for one wave of replies to become final


def rss_mb(pid: int) -> float:
    """The process's resident set now (``VmRSS``), in MB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def answer(index: int) -> list[str]:
    return [f"soak-{index:05d} ", "answers ", "in three chunks."]


async def soak(args: argparse.Namespace) -> int:
    slack = await FakeSlack(token=BOT_TOKEN).start()
    glm = await FakeGLM(api_key=GLM_KEY).start()
    channels = [f"C{c + 1:05d}" for c in range(args.channels)]
    for ch in channels:
        slack.add_channel(ch, name=f"soak-{ch.lower()}")
    users = [f"U{9000 + u}" for u in range(args.users)]
    for u in users:
        slack.add_user(u, name=u.lower())

    def script(req: GLMRequest) -> Reply:
        words = req.user_text.split()
        index = int(words[-1]) if words and words[-1].isdigit() else 0
        return Reply(chunks=answer(index), chunk_delay=0.01)

    glm.default_reply = script
    samples: list[tuple[int, float, float, float]] = []  # turns, RSS MB, CPU s, elapsed s
    failed = 0
    with tempfile.TemporaryDirectory(prefix="glm-soak-") as tmp:
        bot = BotProcess(
            Path(tmp),
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_BASE_URL=slack.api_url,
            ZHIPUAI_API_KEY=GLM_KEY,
            ZHIPUAI_BASE_URL=glm.base_url,
            DATABASE_URL=f"sqlite:///{Path(tmp) / 'soak.db'}",
            LOG_LEVEL="INFO",
            STREAM_MODE=args.mode,
            STREAM_EDIT_INTERVAL="0.2",
            USER_TURNS_PER_WINDOW="0",  # the per-user limit is not what this measures
            # Nor are Slack's tiers (stream_load.py measures those): budgets the fake allows.
            SLACK_EDITS_PER_MINUTE="60000",
            SLACK_EDIT_BURST="1000",
        )
        drainer: asyncio.Task[None] | None = None
        try:
            await bot.start(timeout=60)
            assert bot.proc is not None and bot.proc.stderr is not None
            drainer = asyncio.create_task(drain(bot.proc.stderr, bot.stderr_lines))
            pid = bot.proc.pid
            t0 = time.monotonic()
            samples.append((0, rss_mb(pid), read_proc(pid)[0], 0.0))
            async with aiohttp.ClientSession(trust_env=False) as session:
                sender = SlackSender(f"{bot.url}/slack/events", SIGNING_SECRET, session)
                done = 0
                while done < args.turns:
                    wave = []
                    for i in range(done, min(done + args.concurrency, args.turns)):
                        channel = channels[i % len(channels)]
                        event = mention_event(
                            f"soak question {i}", channel=channel, user=users[i % len(users)]
                        )
                        wave.append(ThreadRun(i, channel, event, "".join(answer(i)), f"{i:05d}"))
                    statuses = await asyncio.wait_for(
                        asyncio.gather(*(sender.event(r.event) for r in wave)), WAVE_TIMEOUT
                    )
                    failed += sum(1 for s in statuses if s.status != 200)
                    try:
                        await slack.wait_for(
                            lambda f, wave=wave: all(thread_done(f, r) for r in wave),
                            timeout=WAVE_TIMEOUT,
                            what="the wave's replies to be final",
                        )
                    except AssertionError:
                        failed += sum(1 for r in wave if not thread_done(slack, r))
                    done += len(wave)
                    if done % args.sample_every == 0 or done == args.turns:
                        sample = (done, rss_mb(pid), read_proc(pid)[0], time.monotonic() - t0)
                        samples.append(sample)
                        print(
                            f"  {sample[0]:6d} turns  RSS {sample[1]:6.1f} MB  "
                            f"CPU {sample[2]:6.1f} s  {sample[3]:6.1f} s elapsed",
                            flush=True,
                        )
        finally:
            if bot.proc is not None and bot.proc.returncode is None:
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
    return report(args, samples, failed)


def report(
    args: argparse.Namespace, samples: list[tuple[int, float, float, float]], failed: int
) -> int:
    print(
        f"soak_memory: {time.strftime('%Y-%m-%d %H:%M:%S %Z')}, {platform.platform()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    print(
        f"  turns={args.turns} concurrency={args.concurrency} channels={args.channels} "
        f"users={args.users} STREAM_MODE={args.mode} (every turn a new thread)"
    )
    warm = next((s for s in samples if s[0] >= args.turns // 4), samples[0])
    last = samples[-1]
    growth = last[1] - warm[1]
    cpu_per_turn = (last[2] - samples[0][2]) / max(1, last[0]) * 1000
    print(
        f"  RSS at start {samples[0][1]:.1f} MB, after warm-up ({warm[0]} turns) "
        f"{warm[1]:.1f} MB, at the end {last[1]:.1f} MB: growth {growth:+.1f} MB"
    )
    print(f"  bot CPU {cpu_per_turn:.1f} ms per turn; wall {last[3]:.1f} s; failed {failed}")
    checks = [
        ("every turn answered", failed == 0),
        (f"RSS growth after warm-up <= {args.max_growth_mb:g} MB", growth <= args.max_growth_mb),
    ]
    for name, ok in checks:
        print(f"  [{'PASS' if ok else 'FAIL'}] {name}")
    return 0 if all(ok for _, ok in checks) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=20, help="turns per wave")
    parser.add_argument("--channels", type=int, default=1000)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--sample-every", type=int, default=200, help="turns between samples")
    parser.add_argument("--max-growth-mb", type=float, default=8.0)
    parser.add_argument("--mode", choices=("edit", "native", "auto"), default="edit")
    args = parser.parse_args(argv)
    if min(args.turns, args.concurrency, args.channels, args.users, args.sample_every) < 1:
        parser.error("every count must be >= 1")
    return asyncio.run(soak(args))


if __name__ == "__main__":
    sys.exit(main())
