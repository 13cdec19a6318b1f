"""Load benchmark: N concurrent streamed replies against Slack's real edit budget.

Not a test. It starts the loopback fakes (``tests/fakes``) with Slack's tiers enforced, runs the
real bot as ``python -m bot`` configured only by environment variables, fires N signed
``app_mention`` events at once and measures what a user and an operator would notice: ack
latency, time to first visible text, edits per reply, 429s, completeness, wall time against the
budget bound, and the bot's CPU and peak RSS. Everything is on 127.0.0.1 and every wait is
bounded, so it always stops by itself.

    /work/venv/bin/python bench/stream_load.py [--threads 50] [--channels 10]
        [--chunks 60] [--chunk-delay 0.05] [--mode edit|native|auto]
        [--instances 1] [--postgres URL]

``--mode`` is the bot's ``STREAM_MODE``; the fake then also enforces the native streaming
tiers (startStream and stopStream 20/min with a burst of 10 each, appendStream 100/min with a
burst of 20).

With ``--instances N`` (or ``--postgres``) N bot processes share one freshly created PostgreSQL
database (``TEST_POSTGRES_URL``, default ``postgresql://root@127.0.0.1:5432/test``, is the
server; the database is dropped afterwards) and the events are dealt round-robin to them, as a
load balancer would. Slack's budgets are per workspace whatever the number of instances, so the
bound and the targets do not change.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import re
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402

from bot.reply.render import render_reply  # noqa: E402
from tests.bot_process import BotProcess, process_env  # noqa: E402
from tests.fakes import FakeGLM, FakeSlack, GLMRequest, Reply, mention_event  # noqa: E402
from tests.fakes.slack import stream_text  # noqa: E402

BOT_TOKEN = "xoxb-test-bench-token"  # a fake: the bench talks only to loopback fakes
SIGNING_SECRET = "bench-signing-secret-0123456789"
GLM_KEY = "bench-glm-key.secret"

# Slack's tiers as enforced by the fake (and assumed by the bot's EditBudget defaults).
UPDATE_PER_MINUTE = 50.0
UPDATE_BURST = 20.0
POST_PER_SECOND_PER_CHANNEL = 1.0
STREAM_START_STOP_PER_MINUTE = 20.0  # Tier 2, each of startStream and stopStream
STREAM_START_STOP_BURST = 10.0
STREAM_APPEND_PER_MINUTE = 100.0  # Tier 4
STREAM_APPEND_BURST = 20.0
AUTO_WALL_TARGET = 30.0  # the target for the mixed strategy, 50 replies

# Targets this benchmark is judged against (see bench/README.md).
FIRST_TEXT_P99_TARGET = 1.0
WALL_FACTOR_TARGET = 1.15
ACK_P99_TARGET = 0.100
RSS_TARGET_MB = 200.0

CURSOR = " ▍"
DEFAULT_POSTGRES = os.environ.get("TEST_POSTGRES_URL", "postgresql://root@127.0.0.1:5432/test")
_BUDGET_TX = re.compile(
    r'^glm_bot_slack_budget_transactions_total\{op="(\w+)"\} ([0-9.e+]+)$', re.M
)
_QUESTION = re.compile(r"question (\d+)")


@dataclass
class ThreadRun:
    """One conversation: its event, what the upstream will say, and what was measured."""

    index: int
    channel: str
    event: dict
    answer: str
    token: str
    ack_s: float | None = None
    ack_status: int | None = None
    first_text_s: float | None = None
    updates: int = 0
    messages: list[str] = field(default_factory=list)
    native: bool = False

    @property
    def expected(self) -> str:
        return render_reply(self.answer)


def answer_chunks(index: int, chunks: int) -> list[str]:
    """A ~60-chunk answer with a unique first word (to find its first visible text) and two
    paragraphs (so rendering is not the identity)."""
    out = [f"reply-{index:03d} begins. "]
    for j in range(1, chunks):
        word = f"word{j:02d}"
        out.append(f"{word}.\n\n" if j == chunks // 2 else f"{word} ")
    return out


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (no interpolation: with 50 samples p99 is the maximum)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def read_proc(pid: int) -> tuple[float, float]:
    """(CPU seconds user+system, peak RSS in MB) of a live process, from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime (stat fields 14 and 15)
    hwm_kb = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                hwm_kb = int(line.split()[1])
    return cpu, hwm_kb / 1024


async def drain(stream: asyncio.StreamReader, sink: list[str]) -> None:
    """Keep reading the bot's stderr so a full pipe never blocks its logging."""
    while line := await stream.readline():
        sink.append(line.decode(errors="replace"))
        del sink[:-5000]


@contextlib.asynccontextmanager
async def fresh_database(admin_url: str) -> AsyncIterator[str]:
    """A new, empty PostgreSQL database for one run (dropped afterwards)."""
    import asyncpg

    admin = await asyncio.wait_for(asyncpg.connect(admin_url), 10)
    name = f"glm_bench_{uuid.uuid4().hex[:12]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{admin_url.rsplit('/', 1)[0]}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def database_transactions(url: str) -> int:
    """Committed + rolled-back transactions of the database so far (PostgreSQL statistics)."""
    import asyncpg

    name = url.rsplit("/", 1)[1]
    conn = await asyncio.wait_for(asyncpg.connect(url.rsplit("/", 1)[0] + "/postgres"), 10)
    try:
        await conn.execute("SELECT pg_stat_clear_snapshot()")
        row = await conn.fetchrow(
            "SELECT xact_commit + xact_rollback AS n FROM pg_stat_database WHERE datname = $1", name
        )
        return int(row["n"]) if row else 0
    finally:
        await conn.close()


async def budget_transactions(session: aiohttp.ClientSession, bot: BotProcess) -> int:
    """The shared-budget store transactions one instance made (its /metrics)."""
    async with session.get(f"{bot.url}/metrics") as resp:
        body = await resp.text()
    return int(sum(float(m.group(2)) for m in _BUDGET_TX.finditer(body)))


async def release(cwd: Path, settings: dict[str, str]) -> None:
    """``python -m bot migrate``, as the Procfile's ``release:`` runs it before a deploy serves
    (a serving process that finds its database current never loads Alembic)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "migrate",
        cwd=cwd,
        env=process_env(**settings),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    if proc.returncode != 0:
        raise RuntimeError(f"release step failed: {err.decode()[-2000:]}")


async def start_sender(requests: list[tuple[str, dict[str, object]]]) -> asyncio.subprocess.Process:
    """The burst's sender (``bench/event_sender.py``), connected and waiting for ``go``."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(Path(__file__).with_name("event_sender.py")),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stdout is not None
    job = {
        "signing_secret": SIGNING_SECRET,
        "requests": [{"url": url, "event": event} for url, event in requests],
    }
    proc.stdin.write(json.dumps(job).encode() + b"\n")
    await proc.stdin.drain()
    ready = await asyncio.wait_for(proc.stdout.readline(), timeout=30)
    if ready.strip() != b"ready":
        raise RuntimeError(f"event sender did not start: {ready!r}")
    return proc


async def fire(proc: asyncio.subprocess.Process) -> list[tuple[float, int]]:
    """Send the whole burst at once; each event's (ack seconds, HTTP status)."""
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(b"go\n")
    await proc.stdin.drain()
    line = await asyncio.wait_for(proc.stdout.readline(), timeout=90)
    await asyncio.wait_for(proc.wait(), timeout=10)
    return [(float(s), int(status)) for s, status in json.loads(line)]


def thread_done(slack: FakeSlack, run: ThreadRun) -> bool:
    """The last bot message of the thread carries final text (no cursor, no placeholder)."""
    replies = slack.thread_replies_by_bot(run.channel, run.event["ts"])
    if not replies:
        return False
    last = replies[-1].text
    status = slack.statuses.get((run.channel, run.event["ts"]))
    return (
        bool(last)
        and not replies[-1].streaming
        and not last.endswith(CURSOR)
        and last != "_…_"
        and status in ("", None)
    )


def content_lines(mrkdwn: str) -> list[str]:
    """Lines without fence or blank lines: the rejoin rule for answers split over messages."""
    return [line for line in mrkdwn.splitlines() if line.strip() and line.strip() != "```"]


def exact(run: ThreadRun) -> bool:
    if len(run.messages) == 1:  # an edited (mrkdwn) or a natively streamed (Markdown) reply
        return run.messages[0] in (run.expected, run.answer)
    got = [line for text in run.messages for line in content_lines(text)]
    return got == content_lines(run.expected)


def measure(slack: FakeSlack, glm: FakeGLM, runs: list[ThreadRun]) -> None:
    """Fill in first-visible-text latency, edits per reply and the final messages."""
    first_chunk: dict[int, float] = {}
    for stream in glm.streams:
        m = _QUESTION.search(stream.request.user_text)
        if m and stream.event_at:
            first_chunk[int(m.group(1))] = stream.event_at[0]
    owner: dict[str, ThreadRun] = {}  # bot message ts -> its thread
    by_root = {(r.channel, r.event["ts"]): r for r in runs}
    for call in slack.calls_to("chat.postMessage"):
        run = by_root.get((str(call.args.get("channel")), str(call.args.get("thread_ts"))))
        if run is not None and call.ok and call.response:
            owner[str(call.response.get("ts"))] = run
    for call in slack.calls_to("chat.update"):
        run = owner.get(str(call.args.get("ts")))
        if run is not None:
            run.updates += 1
    for run in runs:
        start = first_chunk.get(run.index)
        for call in slack.calls:
            if (
                start is not None
                and call.method in ("chat.postMessage", "chat.update", "chat.startStream")
                and call.ok
                and run.token in (call.args.get("text") or stream_text(call.args))
            ):
                run.first_text_s = call.at - start
                break
        run.messages = [m.text for m in slack.thread_replies_by_bot(run.channel, run.event["ts"])]
        run.native = any(
            c.ok
            and (c.args.get("channel"), c.args.get("thread_ts")) == (run.channel, run.event["ts"])
            for c in slack.calls_to("chat.startStream")
        )


@dataclass
class Figures:
    """What the instances cost, summed over all of them."""

    cpu_s: float = 0.0
    rss_mb: float = 0.0
    budget_tx: int = 0
    db_tx: int | None = None


async def bench(args: argparse.Namespace) -> int:
    postgres = args.postgres or (DEFAULT_POSTGRES if args.instances > 1 else None)
    with tempfile.TemporaryDirectory(prefix="glm-bench-") as tmp:
        if postgres is None:
            return await bench_on(args, Path(tmp), f"sqlite:///{Path(tmp) / 'bench.db'}")
        async with fresh_database(postgres) as url:
            return await bench_on(args, Path(tmp), url)


def print_profile(path: str, top: int = 25) -> None:
    """Where the bot's CPU went: own time (``tottime``) of its busiest functions."""
    import pstats

    stats = pstats.Stats(path)
    print(f"\nprofile of the first bot ({path}), top {top} by own time:")
    stats.sort_stats("tottime").print_stats(top)


async def bench_on(args: argparse.Namespace, tmp: Path, database_url: str) -> int:
    n, stream_s = args.threads, args.chunks * args.chunk_delay
    bound_s = mode_bound(args.mode, n)
    deadline = max(120.0, 4 * bound_s + 4 * stream_s)
    postgres = database_url.startswith("postgres")
    figures = Figures()
    slack = await FakeSlack(token=BOT_TOKEN).start()
    glm = await FakeGLM(api_key=GLM_KEY).start()
    bots: list[BotProcess] = []
    drainers: list[asyncio.Task[None]] = []
    try:
        channels = [f"C{c + 1:04d}" for c in range(args.channels)]
        for ch in channels:
            slack.add_channel(ch, name=f"bench-{ch.lower()}")
        runs = []
        for i in range(n):
            chunks = answer_chunks(i, args.chunks)
            channel = channels[i % len(channels)]
            user = f"U{1000 + i}"  # one asker per thread: the per-user limit stays out
            slack.add_user(user, name=f"user{i}")
            event = mention_event(f"question {i}", channel=channel, user=user)
            runs.append(ThreadRun(i, channel, event, "".join(chunks), f"reply-{i:03d}"))

        def script(req: GLMRequest) -> Reply:
            m = _QUESTION.search(req.user_text)
            i = int(m.group(1)) if m else 0
            return Reply(chunks=answer_chunks(i, args.chunks), chunk_delay=args.chunk_delay)

        glm.default_reply = script

        settings = {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_BASE_URL": slack.api_url,
            "ZHIPUAI_API_KEY": GLM_KEY,
            "ZHIPUAI_BASE_URL": glm.base_url,
            "DATABASE_URL": database_url,
            "LOG_LEVEL": args.log_level,
            "STREAM_MODE": args.mode,
            **({"SLACK_BUDGET_STORE": args.budget_store} if args.budget_store else {}),
        }
        if not args.self_migrate:  # the Procfile's release step, before any instance serves
            await release(tmp, settings)
        # One after the other: a simultaneous first start on an empty database is issue 11's
        # migration race, not what this benchmark measures.
        for _ in range(args.instances):
            bot = BotProcess(
                tmp, profile=Path(args.profile) if args.profile and not bots else None, **settings
            )
            bots.append(bot)
            await bot.start(timeout=60)
            assert bot.proc is not None and bot.proc.stderr is not None
            drainers.append(asyncio.create_task(drain(bot.proc.stderr, bot.stderr_lines)))
        cpu0 = [read_proc(b.proc.pid)[0] for b in bots if b.proc is not None]
        tx0 = await database_transactions(database_url) if postgres else None

        slack.enforce_rate_limits(
            update_per_minute=UPDATE_PER_MINUTE,
            update_burst=UPDATE_BURST,
            post_per_second_per_channel=POST_PER_SECOND_PER_CHANNEL,
        )
        slack.enforce_stream_limits(
            start_stop_per_minute=STREAM_START_STOP_PER_MINUTE,
            start_stop_burst=STREAM_START_STOP_BURST,
            append_per_minute=STREAM_APPEND_PER_MINUTE,
            append_burst=STREAM_APPEND_BURST,
        )
        sender = await start_sender(
            [(f"{bots[i % len(bots)].url}/slack/events", r.event) for i, r in enumerate(runs)]
        )
        async with aiohttp.ClientSession(trust_env=False) as session:
            t0 = time.monotonic()
            for run, (ack_s, status) in zip(runs, await fire(sender), strict=True):
                run.ack_s, run.ack_status = ack_s, status
            timed_out = False
            try:
                await slack.wait_for(
                    lambda f: all(thread_done(f, r) for r in runs),
                    timeout=deadline,
                    what="every reply to be final",
                )
            except AssertionError:
                timed_out = True
            wall_s = time.monotonic() - t0
            for bot, start in zip(bots, cpu0, strict=True):
                assert bot.proc is not None
                cpu, rss = read_proc(bot.proc.pid)  # before the process exits
                figures.cpu_s += cpu - start
                figures.rss_mb = max(figures.rss_mb, rss)
                figures.budget_tx += await budget_transactions(session, bot)
        measure(slack, glm, runs)
        if args.timeline:
            print_timeline(slack, t0)
    finally:
        for bot in bots:
            if bot.proc is not None and bot.proc.returncode is None:
                bot.signal(signal.SIGTERM)
        for bot in bots:
            if bot.proc is not None and bot.proc.returncode is None:
                try:
                    await bot.wait(timeout=30)
                except TimeoutError:
                    await bot.kill()
        for drainer in drainers:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(drainer, 5)
        if args.bot_logs:
            write_logs(Path(args.bot_logs), bots)
        await glm.stop()
        await slack.stop()
    if tx0 is not None:
        # Read after the instances exited: each flushes its statistics on the way out.
        figures.db_tx = await database_transactions(database_url) - tx0

    return report(args, runs, slack, wall_s, bound_s, stream_s, figures, timed_out)


def write_logs(directory: Path, bots: list[BotProcess]) -> None:
    for i, bot in enumerate(bots):
        (directory / f"instance-{i}.log").write_text("".join(bot.stderr_lines))


def mode_bound(mode: str, n: int) -> float:
    """Seconds the budgets need for N replies: edit pays one chat.update each (Tier 3);
    native one startStream and one stopStream (Tier 2 each); the mix uses both."""
    edit_rate, native_rate = UPDATE_PER_MINUTE / 60.0, STREAM_START_STOP_PER_MINUTE / 60.0
    if mode == "edit":
        return (n - UPDATE_BURST) / edit_rate
    if mode == "native":
        return (n - STREAM_START_STOP_BURST) / native_rate
    # Mixed: UPDATE_BURST + edit_rate*T edits and STREAM_BURST + native_rate*T streams.
    return (n - UPDATE_BURST - STREAM_START_STOP_BURST) / (edit_rate + native_rate)


def print_timeline(slack: FakeSlack, t0: float) -> None:
    """Every post and edit, relative to the first event: where the time went."""
    for call in slack.calls:
        if call.method in ("chat.postMessage", "chat.update"):
            text = str(call.args.get("text", ""))
            kind = "partial" if text.endswith(CURSOR) else "final"
            print(f"  {call.at - t0:7.3f}s {call.method:16} {call.status} {kind:7} {text[:12]!r}")


def report(
    args: argparse.Namespace,
    runs: list[ThreadRun],
    slack: FakeSlack,
    wall_s: float,
    bound_s: float,
    stream_s: float,
    figures: Figures,
    timed_out: bool,
) -> int:
    """Print the figures and the pass/fail of each target; exit status 1 if any target fails."""
    n = len(runs)
    acks = [r.ack_s for r in runs if r.ack_s is not None]
    firsts = [r.first_text_s for r in runs if r.first_text_s is not None]
    updates = [r.updates for r in runs]
    complete = sum(exact(r) for r in runs)
    limited = dict(slack.rate_limited)
    n429 = sum(limited.values())
    target_wall = WALL_FACTOR_TARGET * max(bound_s, stream_s)
    if args.mode == "auto":
        target_wall = max(AUTO_WALL_TARGET, WALL_FACTOR_TARGET * stream_s)
    bad_acks = sum(1 for r in runs if r.ack_status != 200)
    cpu_s, rss_mb = figures.cpu_s, figures.rss_mb

    print(
        f"stream_load: {time.strftime('%Y-%m-%d %H:%M:%S %Z')}, {platform.platform()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    print(
        f"  instances={args.instances} "
        f"database={'postgresql' if figures.db_tx is not None else 'sqlite'} "
        f"budget store={args.budget_store or 'auto'}\n"
        f"  threads={n} channels={args.channels} chunks={args.chunks} "
        f"chunk_delay={args.chunk_delay}s (upstream stream ~{stream_s:.1f}s); Slack tiers: "
        f"chat.update {UPDATE_PER_MINUTE:g}/min burst {UPDATE_BURST:g}, "
        f"chat.postMessage {POST_PER_SECOND_PER_CHANNEL:g}/s/channel, "
        f"start/stopStream {STREAM_START_STOP_PER_MINUTE:g}/min burst {STREAM_START_STOP_BURST:g}, "
        f"appendStream {STREAM_APPEND_PER_MINUTE:g}/min burst {STREAM_APPEND_BURST:g}"
    )
    print(
        f"  STREAM_MODE={args.mode}: {sum(r.native for r in runs)} native, "
        f"{n - sum(r.native for r in runs)} by edit; bounds: edit only "
        f"{mode_bound('edit', n):.1f} s, native only {mode_bound('native', n):.1f} s, "
        f"mixed {mode_bound('auto', n):.1f} s"
    )
    print(
        f"  ack latency           p50 {percentile(acks, 50) * 1000:7.1f} ms   "
        f"p99 {percentile(acks, 99) * 1000:7.1f} ms   (non-200: {bad_acks})"
    )
    print(
        f"  first visible text    p50 {percentile(firsts, 50):7.3f} s    "
        f"p99 {percentile(firsts, 99):7.3f} s    (measured for {len(firsts)}/{n})"
    )
    print(
        f"  chat.update per reply mean {statistics.fmean(updates) if updates else 0:5.2f}   "
        f"max {max(updates, default=0)}   total {sum(updates)}"
    )
    print(f"  429s received         {n429} {limited or ''}")
    print(f"  replies exact         {complete}/{n}{'  (TIMED OUT waiting)' if timed_out else ''}")
    print(
        f"  wall time             {wall_s:6.2f} s   budget bound for this mode = "
        f"{bound_s:6.2f} s   target <= {target_wall:6.2f} s"
    )
    print(f"  bot CPU               {cpu_s:6.2f} s total, {cpu_s / n * 1000:6.1f} ms per reply")
    print(f"  bot peak RSS          {rss_mb:6.1f} MB (largest instance)")
    print(
        f"  shared-budget store   {figures.budget_tx} transactions, "
        f"{figures.budget_tx / n:5.2f} per reply"
    )
    if figures.db_tx is not None:
        print(
            f"  database (all)        {figures.db_tx} transactions, "
            f"{figures.db_tx / n:5.2f} per reply"
        )

    checks = [
        ("every reply complete and exact", complete == n and not timed_out),
        ("zero 429s", n429 == 0),
        (
            f"first visible text p99 < {FIRST_TEXT_P99_TARGET:g} s",
            len(firsts) == n and percentile(firsts, 99) < FIRST_TEXT_P99_TARGET,
        ),
        (
            f"wall time <= {target_wall:.1f} s"
            + (" (auto target)" if args.mode == "auto" else " (1.15 x max(bound, stream))"),
            wall_s <= target_wall,
        ),
        (f"ack p99 < {ACK_P99_TARGET * 1000:g} ms", percentile(acks, 99) < ACK_P99_TARGET),
        (f"peak RSS < {RSS_TARGET_MB:g} MB", rss_mb < RSS_TARGET_MB),
    ]
    for name, ok in checks:
        print(f"  [{'PASS' if ok else 'FAIL'}] {name}")
    for r in runs:
        if not exact(r):
            print(
                f"  incomplete: thread {r.index} in {r.channel}: {len(r.messages)} messages, "
                f"last {r.messages[-1][-60:]!r}"
                if r.messages
                else f"  no reply: {r.index}"
            )
            break
    return 0 if all(ok for _, ok in checks) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=50, help="concurrent conversations")
    parser.add_argument("--channels", type=int, default=10, help="channels they are spread over")
    parser.add_argument("--chunks", type=int, default=60, help="upstream chunks per reply")
    parser.add_argument("--chunk-delay", type=float, default=0.05, help="seconds between chunks")
    parser.add_argument("--log-level", default="INFO", help="the bot's LOG_LEVEL (>= INFO)")
    parser.add_argument("--timeline", action="store_true", help="print every post and edit")
    parser.add_argument(
        "--mode", choices=("edit", "native", "auto"), default="edit", help="the bot's STREAM_MODE"
    )
    parser.add_argument("--bot-logs", metavar="DIR", help="write each instance's last log lines")
    parser.add_argument("--instances", type=int, default=1, help="bot processes (PostgreSQL)")
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help=f"server to create the run's database on (default with --instances > 1: "
        f"{DEFAULT_POSTGRES})",
    )
    parser.add_argument(
        "--budget-store",
        choices=("auto", "local", "database"),
        help="the bots' SLACK_BUDGET_STORE (default: not set)",
    )
    parser.add_argument(
        "--self-migrate",
        action="store_true",
        help="no release step: the (first) instance migrates the new database itself",
    )
    parser.add_argument(
        "--profile",
        metavar="FILE",
        help="run the (first) bot under cProfile, write its stats to FILE and print the top",
    )
    args = parser.parse_args(argv)
    if args.threads < 1 or args.channels < 1 or args.chunks < 2 or args.instances < 1:
        parser.error("--threads, --channels, --instances >= 1 and --chunks >= 2")
    status = asyncio.run(bench(args))
    if args.profile:
        print_profile(args.profile)
    return status


if __name__ == "__main__":
    sys.exit(main())
