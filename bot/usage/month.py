"""Calendar months in UTC, the unit usage is counted and quotas reset in (pure)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


def month_key(moment: datetime) -> str:
    """``2026-12`` for any moment in December 2026, UTC (naive moments are taken as UTC)."""
    utc = moment.astimezone(UTC) if moment.tzinfo is not None else moment
    return f"{utc.year:04d}-{utc.month:02d}"


def next_month_start(moment: datetime) -> datetime:
    """Midnight UTC on the first day of the next month: when a monthly quota resets."""
    utc = moment.astimezone(UTC) if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    year, month = (utc.year + 1, 1) if utc.month == 12 else (utc.year, utc.month + 1)
    return datetime(year, month, 1, tzinfo=UTC)


def month_start(key: str) -> datetime:
    """The first moment of a ``YYYY-MM`` month, UTC."""
    year, month = key.split("-")
    return datetime(int(year), int(month), 1, tzinfo=UTC)
