"""Fires signed Slack events at the bot from a process of its own, and times each ack.

Slack's event delivery does not share an event loop with Slack's Web API, nor with GLM. When
the benchmark sent the burst from its own loop, that loop was also serving the fakes (the GLM
streams and Slack calls the first events start), so an ack's measured latency included the
fakes' work, not only the bot's. Run as a subprocess by ``stream_load.py``:

stdin, one JSON document: ``{"signing_secret": ..., "requests": [{"url": ..., "event": {...}}]}``;
it prints ``ready`` once connected state is set up, waits for a line ``go`` and then posts every
event at once (one connection each, as Slack delivers), and prints one JSON list of
``[seconds, status]`` in the order given.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402

from tests.fakes import SlackSender  # noqa: E402


async def fire(job: dict[str, Any]) -> list[tuple[float, int]]:
    requests = job["requests"]
    connector = aiohttp.TCPConnector(limit=len(requests) + 10)
    async with aiohttp.ClientSession(trust_env=False, connector=connector) as session:
        senders = {
            url: SlackSender(url, job["signing_secret"], session)
            for url in {r["url"] for r in requests}
        }

        async def one(request: dict[str, Any]) -> tuple[float, int]:
            started = time.perf_counter()
            resp = await senders[request["url"]].event(request["event"])
            return time.perf_counter() - started, resp.status

        print("ready", flush=True)
        line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        if line.strip() != "go":
            raise SystemExit("expected 'go'")
        return await asyncio.wait_for(asyncio.gather(*(one(r) for r in requests)), timeout=60)


def main() -> None:
    job = json.loads(sys.stdin.readline())
    print(json.dumps(asyncio.run(fire(job))), flush=True)


if __name__ == "__main__":
    main()
