"""A process-wide clock of Slack-style message timestamps.

Slack `ts` values are strings ``"<seconds>.<6 digits>"`` that are unique and strictly increasing
per channel. The fakes and the payload builders share one clock so that a seeded human message,
an event built by a test and a message posted by the bot always sort in creation order.
"""

from __future__ import annotations

import threading

__all__ = ["TsClock", "default_clock", "next_ts", "ts_to_micros"]


def ts_to_micros(ts: str) -> int:
    """Parse ``"1700000000.000100"`` into integer microseconds (exact, no float rounding)."""
    seconds, _, frac = ts.partition(".")
    return int(seconds) * 1_000_000 + int((frac + "000000")[:6])


class TsClock:
    """Mints strictly increasing ts strings, starting at ``1700000000.000100``, step 100 µs."""

    def __init__(self, start: str = "1700000000.000000", step_micros: int = 100) -> None:
        self._last = ts_to_micros(start)
        self._step = step_micros
        self._lock = threading.Lock()

    def next(self) -> str:
        """Return a ts greater than every ts minted or observed so far."""
        with self._lock:
            self._last += self._step
            return self._format(self._last)

    def observe(self, ts: str) -> None:
        """Make sure later ts values sort after an externally chosen ``ts``."""
        with self._lock:
            self._last = max(self._last, ts_to_micros(ts))

    @staticmethod
    def _format(micros: int) -> str:
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


default_clock = TsClock()


def next_ts() -> str:
    """Next ts from the shared clock (used by payload builders and FakeSlack)."""
    return default_clock.next()
