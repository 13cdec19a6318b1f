"""CPU of the reply path alone: one 60-chunk answer through the real reply engine.

Not a test. ``stream_load.py`` measures the whole bot from outside (HTTP, Bolt, the database,
the GLM client and the reply); this isolates what issue 17 asks of the reply side: per-chunk
work O(chunk) and rendering only at flush time. Each reply gets the same 60 chunks
``stream_load.py`` sends (about 3.3 KB of Markdown with a code block), through the markup
filter, the engine's pacing (``--interval``, 0 = flush as often as the loop allows, the worst
case), rendering, splitting and Block Kit, to an in-memory Slack that answers at once. Prints
CPU per reply for the edit and the native view and the share of the top functions.

    python bench/reply_cpu.py [--replies 200] [--interval 0.05]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.reply.choose import Replies, ReplyBudgets  # noqa: E402
from bot.reply.ratelimit import Budgets, LocalStore, Tier  # noqa: E402
from bot.reply.state import ReplyTarget  # noqa: E402
from bot.reply.stream_budgets import StreamBudgets  # noqa: E402
from bot.reply.views.edit import StreamerConfig  # noqa: E402

CHUNKS = 60


def answer_chunks(i: int) -> list[str]:
    """The shape of stream_load's answers: prose, a list, a code block."""
    text = (
        f"Answer {i}: here is **what** you asked, with `inline code` and a [link](https://e.x/{i}).\n\n"
        + "".join(f"- point {n} about the question, explained briefly\n" for n in range(12))
        + "\n```python\n"
        + "".join(f"value_{n} = compute({n}, factor={i})\n" for n in range(20))
        + "```\n\nAnd a closing paragraph that sums it all up in a sentence or two.\n"
    ) * 3
    size = -(-len(text) // CHUNKS)
    return [text[k : k + size] for k in range(0, len(text), size)]


class Slack:
    """Answers every call at once, like a Slack with no latency."""

    def __init__(self) -> None:
        self.calls = 0
        self._ts = 0

    def _ok(self) -> dict[str, Any]:
        self.calls += 1
        self._ts += 1
        return {"ok": True, "ts": f"2.{self._ts:06d}"}

    async def chat_postMessage(self, **_: Any) -> dict[str, Any]:
        return self._ok()

    async def chat_update(self, **_: Any) -> dict[str, Any]:
        return self._ok()

    async def chat_startStream(self, **_: Any) -> dict[str, Any]:
        return self._ok()

    async def chat_appendStream(self, **_: Any) -> dict[str, Any]:
        return self._ok()

    async def chat_stopStream(self, **_: Any) -> dict[str, Any]:
        return self._ok()

    async def chat_delete(self, **_: Any) -> dict[str, Any]:
        return self._ok()

    async def assistant_threads_setStatus(self, **_: Any) -> dict[str, Any]:
        return self._ok()


def replies(mode: str, interval: float) -> Replies:
    shared = Budgets(LocalStore())
    roomy = Tier(1e9, 1e9)
    return Replies(
        mode=mode,  # type: ignore[arg-type]
        budgets=ReplyBudgets(
            edits=shared.edits(per_minute=1e9, burst=1e9),
            posts=None,
            streams=StreamBudgets(
                start=shared.budget("chat.startStream", roomy),
                stop=shared.budget("chat.stopStream", roomy),
                append=shared.budget("chat.appendStream", roomy),
            ),
        ),
        config=StreamerConfig(edit_interval=interval),
    )


async def one(factory: Replies, slack: Slack, i: int, chunk_delay: float) -> None:
    target = ReplyTarget(team_id="T", channel_id="C", thread_ts=f"1.{i:06d}", user_id="U")
    reply = await factory.open(target, client=slack)  # type: ignore[arg-type]
    await reply.start()
    for chunk in answer_chunks(i):
        reply.append(chunk)
        await asyncio.sleep(chunk_delay)
    await reply.finish()


async def run(mode: str, n: int, interval: float, chunk_delay: float) -> tuple[float, float]:
    factory, slack = replies(mode, interval), Slack()
    await one(factory, slack, -1, 0)  # warm-up: imports, caches
    slack.calls = 0
    started = time.process_time()
    await asyncio.gather(*(one(factory, slack, i, chunk_delay) for i in range(n)))
    return (time.process_time() - started) / n, slack.calls / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replies", type=int, default=200)
    parser.add_argument("--interval", type=float, default=0.05, help="the engine's edit interval")
    parser.add_argument("--chunk-delay", type=float, default=0.001, help="seconds between chunks")
    parser.add_argument("--profile", action="store_true", help="print where the time went")
    args = parser.parse_args()
    for mode in ("edit", "native"):
        cpu, calls = asyncio.run(run(mode, args.replies, args.interval, args.chunk_delay))
        print(f"{mode:>6}: {cpu * 1000:6.2f} ms CPU per 60-chunk reply, {calls:.1f} Slack calls")
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        asyncio.run(run("edit", args.replies, args.interval, args.chunk_delay))
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(12)
        print(out.getvalue())


if __name__ == "__main__":
    main()
