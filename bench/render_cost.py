"""How the streaming pipeline's CPU cost grows with the answer's length.

Feeds a Markdown answer (paragraphs, lists, code, a table) in small chunks through the real
reply engine's edit view (markup filter, segmenting, rendering, splitting, Block Kit) with an
in-memory Slack client and no edit interval, so it flushes as often as the event loop lets it:
the worst case. Prints CPU seconds per answer size; linear work means 100 KB costs about 10x 10 KB.

    python bench/render_cost.py [--chunk 20] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import time
from typing import Any

from bot.reply.choose import Replies, ReplyBudgets
from bot.reply.ratelimit import EditBudget
from bot.reply.state import ReplyTarget
from bot.reply.views.edit import StreamerConfig

BLOCK = (
    "## Section {i}\n\nSome **bold** text, a [link](https://example.com/{i}) and `code`, "
    "with <angle> & ampersands.\n\n- item one\n- item two\n\n```python\nfor i in range({i}):\n"
    "    print(i)\n```\n\n| a | b |\n|---|---|\n| {i} | 中文 |\n\n"
)


class MemorySlack:
    """Answers like Slack, instantly, so only the bot's own work is measured."""

    def __init__(self) -> None:
        self.ts = itertools.count(1)
        self.calls = 0

    async def chat_postMessage(self, **_: Any) -> dict[str, Any]:
        self.calls += 1
        return {"ok": True, "ts": f"1.{next(self.ts):06d}"}

    async def chat_update(self, **_: Any) -> dict[str, Any]:
        self.calls += 1
        return {"ok": True}

    async def assistant_threads_setStatus(self, **_: Any) -> dict[str, Any]:
        return {"ok": True}


def answer(size: int) -> str:
    parts: list[str] = []
    total = 0
    for i in itertools.count():
        block = BLOCK.format(i=i)
        parts.append(block)
        total += len(block)
        if total >= size:
            break
    return "".join(parts)[:size]


async def stream(text: str, chunk: int) -> tuple[float, int]:
    slack = MemorySlack()
    replies = Replies(
        mode="edit",
        budgets=ReplyBudgets(edits=EditBudget(per_minute=1e9, burst=1e9), posts=None, streams=None),
        config=StreamerConfig(edit_interval=0.0),
    )
    target = ReplyTarget(team_id="T", channel_id="C", thread_ts="1.0", user_id="U")
    streamer = await replies.open(target, client=slack)  # type: ignore[arg-type]
    started = time.process_time()
    await streamer.start()
    for i in range(0, len(text), chunk):
        streamer.append(text[i : i + chunk])
        await asyncio.sleep(0)
    await streamer.finish()
    return time.process_time() - started, slack.calls


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--chunk", type=int, default=20, help="characters per upstream chunk")
    parser.add_argument("--repeat", type=int, default=3, help="runs per size (best is kept)")
    args = parser.parse_args()
    results: dict[int, float] = {}
    for size in (10_000, 100_000):
        text = answer(size)
        runs = [await stream(text, args.chunk) for _ in range(args.repeat)]
        cpu, calls = min(runs)
        results[size] = cpu
        print(f"{size // 1000:>4} KB answer: {cpu * 1000:8.1f} ms CPU, {calls} Slack calls")
    print(f"ratio 100 KB / 10 KB: {results[100_000] / results[10_000]:.1f}x (linear = 10x)")


if __name__ == "__main__":
    asyncio.run(main())
