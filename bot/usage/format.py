"""Numbers and dates as people read them, in English and 中文 (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.texts import Lang

_MONTHS_EN = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


def tokens(count: int, lang: Lang = "en") -> str:
    """``1234567`` → ``1,234,567`` (both languages group by thousands in Slack's UI)."""
    return f"{count:,}"


def day(moment: datetime, lang: Lang = "en") -> str:
    """A calendar day in UTC: ``1 January 2027 (UTC)`` / ``2027年1月1日（UTC）``."""
    utc = moment.astimezone(UTC)
    if lang == "zh":
        return f"{utc.year}年{utc.month}月{utc.day}日（UTC）"
    return f"{utc.day} {_MONTHS_EN[utc.month - 1]} {utc.year} (UTC)"


def month(key: str, lang: Lang = "en") -> str:
    """``2026-12`` → ``December 2026`` / ``2026年12月``."""
    year, number = key.split("-")
    if lang == "zh":
        return f"{int(year)}年{int(number)}月"
    return f"{_MONTHS_EN[int(number) - 1]} {int(year)}"
